"""Reading one stage's config from the engine (or the planner): decode every value, run the
whole-config guards, validate the models, then the catalog and the cross-section rules, and raise
one `ConfigError` with every problem, each set against the file its key came from."""

import json
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from mlinfra.config import config_guards as guards
from mlinfra.config.config_error import ConfigError, ConfigSources, stack_sources
from mlinfra.config.messages import allowed_keys, describe
from mlinfra.config.rules.consistency import consistency_problems
from mlinfra.config.stage_catalog import (
    CATALOG_KEY,
    NAMESPACE,
    PROJECT_FILE,
    StageDefinition,
    catalog_problems,
    declared_catalog,
    project_document,
)
from mlinfra.config.stage_config import AZURE_KEYS, StageConfig, StageSettings
from mlinfra.facts.stack_names import split_stack_name

_STRING_KEYS = {"workload", "uniqueSuffix"}
"""Top-level keys whose value is a plain string (a workload named `1234` stays a string)."""


def load_stage_config() -> StageConfig:
    """Read and validate the current stack's configuration; raise ConfigError on any bad value.

    Every problem is reported in one pass: the whole-config guards, each field, and the rules that
    span sections (run over the sections that are valid when others are not)."""
    namespace = NAMESPACE  # not the project's name, so a renamed project keeps its settings
    project = pulumi.get_project()
    _check_project_namespace(project)
    everything = guards.all_config()
    stack = pulumi.get_stack()
    stage = split_stack_name(stack)[1]
    problems = (
        guards.namespace_problems(everything, project)
        + guards.secret_problems(guards.secret_keys())
        + guards.plaintext_secret_problems(everything, guards.secret_keys())
        + guards.stage_problems(everything, stage, stack)
        + guards.placeholder_problems(everything)
    )
    values = namespace_values(namespace)
    values.pop(guards.STAGE_KEY, None)  # checked above against the stack name
    raw: dict[str, Any] = {key: decode(key, value) for key, value in values.items()}
    raw["stack"] = stack
    raw["stage"] = stage
    azure = pulumi.Config("azure-native")
    for key in AZURE_KEYS:
        if (value := azure.get(key)) is not None:
            raw[key] = value
    unknown = sorted(set(values) & (set(AZURE_KEYS) | {"stack"}))
    top = [field.alias or name for name, field in StageSettings.model_fields.items()]
    problems += [
        f"{namespace}:{key}: unknown key; {allowed_keys(StageSettings)}{guards.did_you_mean(key, top)}"
        for key in unknown
    ]
    try:
        config = StageConfig.model_validate(raw, by_name=False)  # only the documented camelCase keys
    except ValidationError as error:
        details = error.errors(include_url=False)
        problems += [describe(namespace, detail) for detail in details]
        problems += _partial_problems(namespace, raw, details)
        raise config_error(problems) from None
    problems += _catalog_problems(namespace, config) or consistency_problems(namespace, config)
    if problems:
        raise config_error(problems)
    return config


def current_sources(project_file: Path = PROJECT_FILE) -> ConfigSources:
    """The files the current stack's config came from, as the CLI reads them without
    `--config-file` (the planner, which read the files itself, names them exactly)."""
    values = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    document = project_document(project_file) if project_file.is_file() else {}
    return stack_sources(pulumi.get_stack(), values, document, project_file.parent)


def config_error(problems: str | list[str], project_file: Path = PROJECT_FILE) -> ConfigError:
    """The ConfigError of `problems` (keys and values in them already shortened), each problem
    set against the file its key's value came from (`project_file` or the stack file beside it)."""
    return ConfigError(problems, current_sources(project_file))


def _partial_problems(namespace: str, raw: dict[str, Any], details: list[ErrorDetails]) -> list[str]:
    """The cross-section rules over the sections that are valid on their own: the broken sections
    are dropped (back to their defaults) and any problem that names one of them is left out, since
    it would be about the default, not about the file."""
    broken = {str(detail["loc"][0]) for detail in details if detail["loc"]}
    partial = {key: value for key, value in raw.items() if key not in broken}
    try:
        config = StageConfig.model_validate(partial, by_name=False)
    except ValidationError:
        return []  # a required section is broken: nothing to check it against
    problems = _catalog_problems(namespace, config) or consistency_problems(namespace, config)
    # Whether a stage needs a network of its own depends on workspace.sharedFrom (ML-16).
    unknown = broken | ({"network"} if "workspace" in broken and "network" not in raw else set())
    return [
        problem
        for problem in problems
        if problem.removeprefix(f"{namespace}:").split(":", 1)[0].split(".", 1)[0] not in unknown
    ]


def _check_project_namespace(project: str) -> None:
    """Settings under a renamed project's own namespace would be silently ignored: refuse them."""
    if project == NAMESPACE:
        return
    stray = sorted(key for key in namespace_values(project) if key)
    if stray:
        raise config_error(
            [
                f"{project}:{key}: the config namespace is {NAMESPACE!r} whatever the project's name; "
                f"rename every '{project}:' key to '{NAMESPACE}:' (docs/stages.md, 'Renaming the project')"
                for key in stray
            ]
        )


def _catalog_problems(namespace: str, config: StageConfig) -> list[str]:
    """The catalog is the project's (Pulumi.yaml), and the stack name must pick one of its stages."""
    key = f"{namespace}:{CATALOG_KEY}"
    problems = catalog_problems(config.stages)
    if PROJECT_FILE.is_file():
        declared = [StageDefinition.model_validate(entry, by_name=False) for entry in declared_catalog()]
        if declared and declared != config.stages:
            problems.append(
                "set by the stack; the stage catalog belongs to the project: remove it from the stack file "
                "and change Pulumi.yaml instead"
            )
    if problems:
        return [f"{key}: {problem}" for problem in problems]
    names = [stage.name for stage in config.stages]
    workload, stage = split_stack_name(config.stack)
    if stage not in names:
        return [
            f"stack name: got {json.dumps(config.stack)}; expected <stage> or <workload>-<stage> "
            f"with a stage of {key}: {', '.join(names)}"
        ]
    if workload is not None and workload != config.workload:
        return [
            f"stack name: got {json.dumps(config.stack)}; its workload {json.dumps(workload)} must equal "
            f"{namespace}:workload {json.dumps(config.workload)}"
        ]
    return []


def namespace_values(namespace: str) -> dict[str, str]:
    """Every config value under `<namespace>:` (set by the engine or by the planner/tests)."""
    prefix = f"{namespace}:"
    everything = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    return {key[len(prefix) :]: value for key, value in everything.items() if key.startswith(prefix)}


def decode(key: str, value: Any) -> Any:
    """The engine hands every value over as a string; objects, lists, booleans and numbers as JSON."""
    if key in _STRING_KEYS or not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except (json.JSONDecodeError, RecursionError):  # nested past the interpreter's limit: a string
        return value  # left as a string, so validation reports it with the type it expected
