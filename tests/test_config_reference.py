"""docs/configuration.md's config reference is the generated one, and it documents every key."""

from components.config import StageSettings
from components.shared_config import RegistrySettings
from planner.config_reference import (
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
    assert readme[start:end] == reference_table(), "run `venv/bin/python -m planner.config_reference --write`"
    start, end = readme.index(SHARED_BEGIN), readme.index(SHARED_END) + len(SHARED_END)
    assert readme[start:end] == shared_reference_table(), (
        "run `venv/bin/python -m planner.config_reference --write`"
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
