"""Reads `Pulumi.yaml` and `Pulumi.<stack>.yaml` the way the Pulumi CLI hands them to a program."""

import copy
import difflib
import functools
import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from mlinfra.config.cli_yaml import MAX_FILE_BYTES, YamlRefused
from mlinfra.config.cli_yaml import parse as parse_yaml
from mlinfra.config.config_error import ConfigSources
from mlinfra.planner.project_config import ProjectConfigError
from mlinfra.planner.project_config import apply as apply_project_config
from mlinfra.planner.project_config import declarations as project_declarations

SECRET_PLACEHOLDER = "[secret]"
"""What a `secure:` value becomes offline: the planner has no key to decrypt it, and never prints it."""


STACK_FILE_KEYS = ("config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment")
"""The top-level keys the Pulumi CLI reads from a stack file: the yaml tags of `ProjectStack`
(pulumi/pulumi sdk/go/common/workspace/project.go). Any other key is silently dropped by the CLI,
so a value meant for `config:` (written one level too far out) would never reach the program."""


def _unknown_top_level(key) -> str:
    suggestion = difflib.get_close_matches(str(key), STACK_FILE_KEYS, n=1)
    hint = f"; did you mean {suggestion[0]}?" if suggestion else ""
    nested = " (config keys go under config:)" if isinstance(key, str) and ":" in key else ""
    return (
        f"top-level key {_short(str(key))!r} is not a stack-file key; expected {', '.join(STACK_FILE_KEYS)}"
        f"{nested}{hint}"
    )


class StackFileError(Exception):
    """The project or stack file is missing or malformed."""


@dataclass(frozen=True)
class StackConfig:
    project: str
    stack: str
    values: dict[str, str]
    """`<namespace>:<key>` -> the string the engine would pass (objects and lists as JSON)."""
    secret_keys: tuple[str, ...]
    source: Path | None = None
    """The stack file the values came from; stack references look for their stack files next to it
    first (an example's stacks refer to each other), then in the project (`mlinfra.planner.stack_references`)."""
    from_project: frozenset[str] = frozenset()
    """The keys whose value is `Pulumi.yaml`'s: the stack file leaves them out."""

    @property
    def sources(self) -> ConfigSources:
        """The files the values came from, for messages that name the file of each key."""
        stack_file = self.source.name if self.source is not None else f"Pulumi.{self.stack}.yaml"
        return ConfigSources(stack_file, self.from_project)


def project_name(project_dir: Path) -> str:
    document = _read_yaml(project_dir / "Pulumi.yaml")
    name = document.get("name") if isinstance(document, dict) else None
    if not isinstance(name, str) or not name:
        raise StackFileError(f"{project_dir / 'Pulumi.yaml'}: no project 'name'")
    return name


def available_stacks(project_dir: Path) -> list[str]:
    return sorted(
        path.name[len("Pulumi.") : -len(".yaml")]
        for path in project_dir.glob("Pulumi.*.yaml")
        if path.is_file()
    )


def load_stack_config(project_dir: Path, stack: str, config_file: Path | None = None) -> StackConfig:
    """The config the CLI would hand the program for `stack`: from `Pulumi.<stack>.yaml`, or from
    `config_file` (what `pulumi up --stack <stack> --config-file <path>` reads).

    Every problem of both files at once, one per line of the StackFileError, the project file's
    first (the CLI reads it first), each line naming its file."""
    path = config_file or project_dir / f"Pulumi.{stack}.yaml"
    if path.is_dir():
        raise StackFileError(f"{path}: a directory where the stack file belongs; expected a YAML file")
    if config_file is not None and not path.is_file():
        raise StackFileError(f"no config file {path}")
    if not path.is_file():
        raise StackFileError(
            f"no stack file {path.name} for stack {stack!r}; stacks: {', '.join(available_stacks(project_dir)) or 'none'}"
        )
    project_problems: list[str] = []
    try:
        project = _read_yaml(project_dir / "Pulumi.yaml")
        name = project_name(project_dir)
    except StackFileError as error:
        project, name = {}, None
        project_problems.append(str(error))
    values, secret_keys, stack_problems = _stack_values(path)
    merged: dict[str, str] = {}
    if name is not None:
        try:  # project defaults first, the stack's own values over them, as the CLI does
            if stack_problems:  # the project's own declarations still have their say
                project_declarations(name, project.get("config"))
            else:
                merged = apply_project_config(name, project.get("config"), values, path.name, _engine_string)
        except ProjectConfigError as error:
            for line in str(error).splitlines():
                if line.startswith(f"Stack '{path.name}'"):
                    stack_problems.append(f"{path.name}: {line}")
                elif line.startswith(f"{path.name}: "):
                    stack_problems.append(line)
                else:
                    project_problems.append(
                        line if line.startswith("Pulumi.yaml: ") else f"Pulumi.yaml: {line}"
                    )
    if project_problems or stack_problems:
        raise StackFileError("\n".join(project_problems + stack_problems))
    assert name is not None
    return StackConfig(name, stack, merged, tuple(secret_keys), path, frozenset(set(merged) - set(values)))


def _stack_values(path: Path) -> tuple[dict[str, object], list[str], list[str]]:
    """The stack file's config values (secure values redacted), its secret keys, and its problems."""
    try:
        document = _read_yaml(path) or {}
    except StackFileError as error:
        return {}, [], [str(error)]
    problems = []
    if isinstance(document, dict):
        problems += [
            f"{path.name}: {_unknown_top_level(key)}" for key in document if key not in STACK_FILE_KEYS
        ]
    config = document.get("config", {}) if isinstance(document, dict) else None
    if not isinstance(config, dict):
        return (
            {},
            [],
            [*problems, f"{path.name}: 'config' must be a mapping of '<namespace>:<key>' to values"],
        )
    values: dict[str, object] = {}
    secret_keys: list[str] = []
    for key, value in config.items():
        if not isinstance(key, str) or ":" not in key:
            problems.append(f"{path.name}: config key {_short(repr(key))} must look like '<namespace>:<key>'")
            continue
        value, secret = _redact_secure(value)
        values[key] = value
        if secret:
            secret_keys.append(key)
    return values, secret_keys, problems


def _short(text: str, limit: int = 60) -> str:
    """`text` cut to `limit` characters with an ellipsis, so a hostile value cannot flood a message."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


@functools.lru_cache(maxsize=256)
def _parse(text: str):
    """The YAML document in `text`, parsed once per text: the pure-Python loader this project's
    checks need costs milliseconds per file, and the same files are read again and again (every
    plan reads Pulumi.yaml; the tests read each stack file for each trait they select on)."""
    return parse_yaml(text)


def _read_yaml(path: Path):
    """The document of the file at `path`, read as the CLI reads it (`mlinfra.config.cli_yaml`); a
    StackFileError of one line naming the file for anything else."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:  # refused before a byte is read
            raise StackFileError(f"{size} bytes; a stack file may have at most {MAX_FILE_BYTES}")
        with path.open("rb") as handle:  # at most one byte past the limit: a pipe or device never ends
            data = handle.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise StackFileError(
                f"more than {MAX_FILE_BYTES} bytes; a stack file may have at most {MAX_FILE_BYTES}"
            )
        return copy.deepcopy(_parse(data.decode("utf-8")))  # a copy: callers may change what they get
    except FileNotFoundError:
        raise StackFileError(f"{path} not found") from None
    except IsADirectoryError:
        raise StackFileError(f"{path}: a directory where the file belongs; expected a YAML file") from None
    except OSError as error:
        raise StackFileError(f"{path}: cannot be read ({error.strerror or type(error).__name__})") from None
    except UnicodeDecodeError as error:
        raise StackFileError(
            f"{path.name}: not UTF-8 (byte {error.object[error.start]:#04x} at offset {error.start}); save it as UTF-8"
        ) from None
    except (StackFileError, YamlRefused) as error:
        raise StackFileError(f"{path.name}: {error}") from None
    except yaml.YAMLError as error:
        raise StackFileError(
            f"{path.name}: not valid YAML: {_short(' '.join(str(error).split()), 200)}"
        ) from None


def read_document(path: Path):
    """The YAML document of a stack or project file, as this module reads it (a copy)."""
    return _read_yaml(path)


def _redact_secure(value) -> tuple[object, bool]:
    """Replace every `{secure: <ciphertext>}` (top level or nested) by the placeholder."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return SECRET_PLACEHOLDER, True
        pairs = {key: _redact_secure(item) for key, item in value.items()}
        return {key: item for key, (item, _) in pairs.items()}, any(secret for _, secret in pairs.values())
    if isinstance(value, list):
        pairs = [_redact_secure(item) for item in value]
        return [item for item, _ in pairs], any(secret for _, secret in pairs)
    return value, False


def _engine_string(value) -> str:
    """The CLI passes scalars as their YAML text and objects/lists as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)) or value is None:
        return "" if value is None else str(value)
    return json.dumps(value)
