"""The error a refused configuration raises: one line per problem, each naming its file.

A problem is `<full key path>: <what is wrong>` (a message may itself contain `;`, so problems are
kept as a list, never joined). Which file a key's value came from, the stack file or the
project's `Pulumi.yaml` (a default the stack file does not override), is known exactly only by
whoever read the files: the planner passes it (`ConfigSources`); a program run by the Pulumi CLI
falls back on `Pulumi.<stack>.yaml`, which is what `pulumi up` reads without `--config-file`.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml

from mlinfra.config.cli_yaml import parse as parse_yaml

PROJECT_FILE_NAME = "Pulumi.yaml"


@dataclass(frozen=True)
class ConfigSources:
    """The files a stack's config came from, in the order they are read (project, then stack)."""

    stack_file: str
    """The stack file's name as the user knows it (`Pulumi.dev.yaml`, or a `--config-file`'s)."""
    from_project: frozenset[str] = field(default_factory=frozenset)
    """Full keys (`mlinfra:stages`) whose value is the project file's: the stack file leaves them out."""
    project_file: str = PROJECT_FILE_NAME

    @property
    def files(self) -> tuple[str, ...]:
        return (self.project_file, self.stack_file)

    def file_of(self, key: str) -> str:
        """The file that holds `key`'s value; `key` may be a nested path (`mlinfra:network.x`)."""
        top = key.split(".", 1)[0].split("[", 1)[0]
        return self.project_file if top in self.from_project else self.stack_file


def stack_sources(
    stack: str, values: Mapping[str, Any], project: Mapping[str, Any], directory: Path
) -> ConfigSources:
    """What the CLI reads for `stack` without `--config-file`: `Pulumi.<stack>.yaml` in
    `directory`, and the `project` document's value for each key whose value (`values`, the
    engine's strings) is the project's and that the stack file leaves out. Only on the error path;
    a stack file that cannot be read leaves the comparison of values to decide."""
    stack_file = directory / f"Pulumi.{stack}.yaml"
    try:
        document = parse_yaml(stack_file.read_text(encoding="utf-8"))
        stack_keys = set(document.get("config") or {})
    except (OSError, ValueError, yaml.YAMLError, AttributeError, TypeError):
        stack_keys = set()
    name = str(project.get("name") or "")
    declared = project.get("config")
    from_project = set()
    for key, declaration in (declared if isinstance(declared, dict) else {}).items():
        full = key if ":" in key else f"{name}:{key}"
        if isinstance(declaration, dict) and not {"default", "value"} & set(declaration):
            continue
        default = (
            declaration.get("value", declaration.get("default"))
            if isinstance(declaration, dict)
            else declaration
        )
        if full not in stack_keys and full in values and _decoded(values[full]) == default:
            from_project.add(full)
    return ConfigSources(stack_file.name, frozenset(from_project))


def _decoded(value: Any) -> Any:
    """An engine string as the YAML value it came from (objects, lists and scalars as JSON)."""
    try:
        return json.loads(value) if isinstance(value, str) else value
    except json.JSONDecodeError:
        return value


def _names_a_file(problem: str) -> bool:
    """Whether `problem` starts with a file name already (`Pulumi.yaml: ...`, `Pulumi.dev.yaml: ...`)."""
    head = problem.split(": ", 1)[0]
    return head.endswith((".yaml", ".yml")) and " " not in head


def _one_per_line(problems: Iterable[str]) -> list[str]:
    """A rule over a section may find several problems and report them as the lines of one message
    (a pydantic validator raises one error): each line is a problem of that key of its own."""
    lines = []
    for problem in problems:
        first, *more = [line for line in problem.splitlines() if line.strip()] or [problem]
        lines.append(first)
        key = first.split(": ", 1)[0]
        lines += [f"{key}: {line.strip()}" for line in more]
    return lines


class ConfigError(pulumi.RunError):
    """Invalid stack configuration: every problem found, one per line, each naming its file.

    A RunError, so `pulumi up` prints the message without a traceback."""

    def __init__(self, problems: str | Iterable[str], sources: ConfigSources | None = None):
        self.problems: tuple[str, ...] = tuple(
            dict.fromkeys(_one_per_line([problems] if isinstance(problems, str) else problems))
        )
        self.sources = sources
        super().__init__("\n".join(self.lines()))

    def lines(self, sources: ConfigSources | None = None) -> list[str]:
        """`<file>: <key path>: <problem>` per problem (`sources` over the ones raised with), the
        files in the order they are read, each file's problems in the order found."""
        sources = sources or self.sources
        if sources is None:
            return list(self.problems)
        named = [
            problem if _names_a_file(problem) else f"{sources.file_of(problem.split(': ', 1)[0])}: {problem}"
            for problem in self.problems
        ]
        order = {name: index for index, name in enumerate(sources.files)}
        return sorted(named, key=lambda line: order.get(line.split(": ", 1)[0], len(order)))

    def __str__(self) -> str:
        return "\n".join(self.lines())
