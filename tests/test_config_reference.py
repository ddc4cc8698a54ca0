"""docs/configuration.md's config reference is the generated one, and it documents every key."""

from mlinfra.config.shared_config import RegistrySettings
from mlinfra.config.stage_config import StageSettings
from mlinfra.repository.config_reference import (
    BEGIN,
    END,
    PAGE,
    SHARED_BEGIN,
    SHARED_END,
    reference_table,
    shared_reference_table,
)


def test_the_configuration_guide_holds_the_current_generated_table():
    readme = PAGE.read_text()
    start, end = readme.index(BEGIN), readme.index(END) + len(END)
    assert readme[start:end] == reference_table(), (
        "run `venv/bin/python -m mlinfra.repository.config_reference --write`"
    )
    start, end = readme.index(SHARED_BEGIN), readme.index(SHARED_END) + len(SHARED_END)
    assert readme[start:end] == shared_reference_table(), (
        "run `venv/bin/python -m mlinfra.repository.config_reference --write`"
    )


def test_every_top_level_key_is_documented_with_a_meaning():
    table = reference_table()
    for name, field in StageSettings.model_fields.items():
        assert f"| `mlinfra:{field.alias}` |" in table
        assert field.description, f"{name} has no docstring"


def test_every_shared_registry_key_is_documented_with_a_meaning():
    """The shared stack's registry keys, `personas` included (RB-11), in their own table."""
    table = shared_reference_table()
    for name, field in RegistrySettings.model_fields.items():
        assert f"| `mlinfra:registry.{field.alias}` |" in table
        assert field.description, f"{name} has no docstring"
    assert "| `mlinfra:registry.personas.<name>.groupObjectId` | GUID | required |" in table
    assert "| `mlinfra:registry.personas` |" not in reference_table(), (
        "a stage grants no group on the registry"
    )


def test_keys_of_optional_sections_are_documented():
    """A section that may be left out (`privateLinkScope`, `privateEndpoints`) still lists its keys:
    the monitoring scope's mode and hub scope (issue 28) are keys like any other."""
    table = reference_table()
    for key in ("mode", "ingestionAccessMode", "queryAccessMode", "hubScopeId"):
        assert f"| `mlinfra:monitoring.privateLinkScope.{key}` |" in table
    assert "| `mlinfra:network.privateEndpoints.subnetId` |" in table


def _models(annotation, seen: set) -> None:
    """Every pydantic model reachable from `annotation` (through Optional, unions, lists, dicts)."""
    import typing

    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation in seen:
            return
        seen.add(annotation)
        for field in annotation.model_fields.values():
            _models(field.annotation, seen)
        return
    for argument in typing.get_args(annotation):
        _models(argument, seen)


def test_every_key_of_every_model_is_in_the_reference():
    """Issue 31: the configuration reference covers every key of every model, nested ones and those
    inside lists, maps and optional sections included (a key the generator skipped fails here)."""
    import re

    for root, table in ((StageSettings, reference_table()), (RegistrySettings, shared_reference_table())):
        keys = re.findall(r"^\| `([^`]+)` \|", table, re.MULTILINE)
        segments = {segment for key in keys for segment in re.split(r"[.\[\]<>]+", key.split(":", 1)[1])}
        models: set = set()
        _models(root, models)
        missing = [
            f"{model.__name__}.{field.alias or name}"
            for model in models
            for name, field in model.model_fields.items()
            if (field.alias or name) not in segments
        ]
        assert missing == [], (
            "run `venv/bin/python -m mlinfra.repository.config_reference --write`, or document these"
        )
