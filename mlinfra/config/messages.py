"""Config problems in the words of the stack file: the key path as the file spells it (`mlinfra:a.b`,
`azure-native:location`), the value received and what is allowed, from the models' own fields."""

import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from mlinfra.config import config_guards as guards
from mlinfra.config.stage_config import AZURE_KEYS, StageConfig, StageSettings


def config_key(namespace: str, loc: tuple) -> str:
    head, *rest = [str(part) for part in loc] or ["<root>"]
    if head in ("stage", "stack"):
        return "stack name"
    prefix = "azure-native" if head in AZURE_KEYS else namespace
    return f"{prefix}:{'.'.join([head, *rest])}"


def _unwrap(annotation: Any) -> Any:
    """The model or map inside `X | None` / `Annotated[X, ...]`; else the annotation itself."""
    while typing.get_origin(annotation) in (typing.Union, types.UnionType, typing.Annotated):
        if typing.get_origin(annotation) is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        inner = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        annotation = inner[0] if len(inner) == 1 else annotation
        if len(inner) != 1:
            break
    return annotation


def _field(loc: tuple):
    """The model field at `loc` (by alias, through map entries such as a persona's name), or None."""
    model: Any = StageConfig
    found = None
    for part in loc:
        model = _unwrap(model)
        if typing.get_origin(model) is dict:  # `part` is a map key, e.g. a persona's name
            model = typing.get_args(model)[1]
            continue
        if typing.get_origin(model) is list:  # `part` is a list index, e.g. a catalog entry
            model = typing.get_args(model)[0]
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        fields = {field.alias or name: field for name, field in model.model_fields.items()}
        found = fields.get(str(part))
        if found is None:
            return None
        model = found.annotation
    return found


def allowed_keys(model: type[BaseModel]) -> str:
    return "allowed keys: " + ", ".join(field.alias or name for name, field in model.model_fields.items())


def what_is_allowed(field) -> str:
    """The first sentence of a field's docstring, which states what it accepts."""
    return " ".join((field.description or "").split()).split(". ")[0].rstrip(".")  # one line


def describe(namespace: str, detail: ErrorDetails) -> str:
    loc = detail["loc"]
    key = guards.short(config_key(namespace, loc), 120)
    kind = detail["type"]
    field = _field(loc)
    if kind == "extra_forbidden":
        parent = _field(loc[:-1]) if len(loc) > 1 else None
        model = _unwrap(parent.annotation) if parent else StageSettings
        if typing.get_origin(model) is dict:  # an unknown key right inside a map entry
            model = _unwrap(typing.get_args(model)[1])
        key = guards.short(key)  # the allowed keys follow: keep a hostile key short
        if not isinstance(model, type):
            return f"{key}: unknown key"
        names = [field.alias or name for name, field in model.model_fields.items()]
        hint = guards.did_you_mean(str(detail["loc"][-1]), names)  # loc, narrowed above, is not empty
        return f"{key}: unknown key; {allowed_keys(model)}{hint}"
    if kind == "missing":
        return (
            f"{key}: required but not set; expected {what_is_allowed(field)}" if field else f"{key}: required"
        )
    if kind in ("greater_than_equal", "less_than_equal") and field:
        bounds = {
            name: getattr(item, name)
            for item in field.metadata
            for name in ("ge", "le")
            if hasattr(item, name)
        }
        message = f"expected a whole number from {bounds.get('ge')} to {bounds.get('le')}"
    elif kind == "string_pattern_mismatch" and field:
        message = f"expected {what_is_allowed(field)}"
    else:
        message = detail["msg"].removeprefix("Value error, ").replace("Input should be", "expected")
    if kind == "enum" and isinstance(detail["input"], str):  # a misspelt choice: name the closest
        choices = str((detail.get("ctx") or {}).get("expected", "")).replace(" or ", ", ").split(", ")
        message += guards.did_you_mean(detail["input"], [c.strip("'") for c in choices if c])
    if kind == "model_type":  # a section given as a scalar or a list
        return f"{key}: got {guards.shown(detail['input'])}; expected a mapping of the section's keys"
    section = _unwrap(field.annotation) if field else (StageConfig if not loc else None)
    if isinstance(section, type) and issubclass(section, BaseModel):  # a rule over a whole section
        return f"{key}: {message}"
    return f"{key}: got {guards.shown(detail['input'])}; {message}"
