"""Project-level config (`config:` of `Pulumi.yaml`) applied the way the Pulumi CLI applies it.

Mirrors pulumi/pulumi `sdk/go/common/workspace/project.go` (`RewriteShorthandConfigValues`,
`Project.Validate`, `ValidateConfigValue`) and `pkg/workspace/config.go` (`mergeConfig`):
- a bare scalar or list is shorthand: a `default` for a key of the project's namespace, a
  `value` for a key of another namespace (`azure-native:location`);
- keys of another namespace may carry only `value`, never `type` or `default`;
- a key the stack file does not set gets the project's `value` or `default`; a key it sets keeps
  the stack's value whole (no deep merge);
- a stack value of an explicitly typed key must match that type.
"""

import math
from collections.abc import Callable

from mlinfra.config.stage_catalog import CATALOG_KEY, NAMESPACE

_TYPES = ("string", "integer", "boolean", "array", "object")


class ProjectConfigError(Exception):
    """`Pulumi.yaml`'s `config:` is invalid, or a stack value breaks its declared type."""


def _namespaced_by_project(project: str, key: str) -> bool:
    return ":" not in key or key.startswith(f"{project}:")


def _full_key(project: str, key: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def declarations(project: str, config: object) -> dict[str, dict]:
    """The `config:` section as the CLI reads it: shorthand rewritten, then validated. Every key's
    problem at once (the first of each key), one per line of the ProjectConfigError."""
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise ProjectConfigError("Pulumi.yaml: 'config' must be a mapping of config keys")
    result = {}
    problems = []
    for key, declaration in config.items():
        by_project = _namespaced_by_project(project, key)
        if not isinstance(declaration, dict):  # shorthand (RewriteShorthandConfigValues)
            declaration = {"default": declaration} if by_project else {"value": declaration}
        if problem := _declaration_problem(project, key, declaration, by_project):
            problems.append(problem)
        else:
            result[_full_key(project, key)] = declaration
    if problems:
        raise ProjectConfigError("\n".join(problems))
    return result


def _declaration_problem(project: str, key: str, declaration: dict, by_project: bool) -> str | None:
    """What the CLI refuses in one key's declaration (`Project.Validate`), if anything."""
    unknown = sorted(set(declaration) - {"type", "items", "description", "secret", "default", "value"})
    if unknown:
        return f"Pulumi.yaml: config '{key}': unknown attribute '{unknown[0]}'"
    if "default" in declaration and "value" in declaration:
        return f"project config '{key}' cannot have both a 'default' and 'value' attribute"
    if by_project:
        kind = declaration.get("type")
        if kind is not None and kind not in _TYPES:
            return f"Pulumi.yaml: config '{key}': type must be one of {', '.join(_TYPES)}"
        if kind == "array" and not declaration.get("items"):
            return (
                f"The configuration key '{key}' declares an array but does not specify the "
                "underlying type via the 'items' attribute"
            )
        if (
            kind is not None
            and "default" in declaration
            and not valid(kind, declaration.get("items"), declaration["default"])
        ):
            return f"The default value specified for configuration key '{key}' is not of the expected type '{kind}'"
        return None
    hint = _rename_hint(project, key)
    if "type" in declaration:
        return (
            f"Configuration key '{key}' is not namespaced by the project and should not define a type{hint}"
        )
    if "default" in declaration:
        return (
            f"Configuration key '{key}' is not namespaced by the project and should not define a "
            f"default value. Did you mean to use the 'value' attribute instead of 'default'?{hint}"
        )
    if "value" not in declaration:
        return f"Configuration key '{key}' is namespaced and must provide an attribute 'value'"
    return None


def _rename_hint(project: str, key: str) -> str:
    if not key.startswith(f"{NAMESPACE}:"):
        return ""
    return (
        f" (the project was renamed from {NAMESPACE!r} to {project!r}; the config namespace stays "
        f"{NAMESPACE!r}: in Pulumi.yaml replace 'type'/'items'/'default' of every '{NAMESPACE}:' key "
        "by 'value' with the same content, see docs/stages.md, 'Renaming the project')"
    )


def valid(kind: str, items: dict | None, value: object) -> bool:
    """`ValidateConfigValue`: is `value` (parsed YAML) of the declared type?"""
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        if isinstance(value, bool):
            return False
        if isinstance(value, int) or (isinstance(value, float) and value == math.trunc(value)):
            return True
        return isinstance(value, str) and value.lstrip("+-").isdigit()
    if kind == "boolean":
        return isinstance(value, bool) or value in ("true", "false")
    if kind == "object":
        return isinstance(value, dict)
    if not isinstance(value, list) or not items:
        return False
    return all(valid(str(items.get("type")), items.get("items"), item) for item in value)


def apply(
    project: str,
    config: object,
    stack_values: dict[str, object],
    stack_file: str,
    encode: Callable[[object], str],
) -> dict[str, str]:
    """The config the program receives: the stack file's values (`stack_values`, parsed YAML), plus
    every project key the stack does not set. Returns engine strings (via `encode`)."""
    declared = declarations(project, config)
    catalog_key = f"{NAMESPACE}:{CATALOG_KEY}"
    problems = []
    if catalog_key in stack_values:
        problems.append(
            f"{stack_file}: {catalog_key}: set by the stack file; the stage catalog belongs to the project, "
            "declare stages in Pulumi.yaml only"
        )
    for key, declaration in declared.items():
        kind = declaration.get("type")
        if (
            key in stack_values
            and kind is not None
            and not valid(kind, declaration.get("items"), stack_values[key])
        ):
            problems.append(f"Stack '{stack_file}' with configuration key '{key}' must be of type '{kind}'")
    merged = {key: encode(value) for key, value in stack_values.items()}
    for key, declaration in sorted(declared.items()):
        if key in merged:
            continue
        if "value" in declaration or "default" in declaration:
            merged[key] = encode(declaration.get("value", declaration.get("default")))
        elif key.startswith(f"{project}:"):
            problems.append(f"Stack '{stack_file}' is missing configuration value '{key}'")
    if problems:
        raise ProjectConfigError("\n".join(problems))
    return merged
