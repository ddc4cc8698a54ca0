"""mlinfra.planner.project_config applies Pulumi.yaml's `config:` exactly as the Pulumi CLI does.

Source of every rule here: pulumi/pulumi `sdk/go/common/workspace/project.go`
(`RewriteShorthandConfigValues`, `Project.Validate`, `ValidateConfigValue`), `project.json`
(`simpleConfigType`: string, integer, boolean, array, object) and `pkg/workspace/config.go`
(`mergeConfig`: a key the stack does not set gets the project's value or default; a key it sets
keeps the stack's value).
"""

import json
import shutil
from pathlib import Path

import pytest
import yaml

from mlinfra.planner.project_config import ProjectConfigError, apply, declarations
from mlinfra.planner.stackfile import StackFileError, load_stack_config

PROJECT_DIR = Path(__file__).resolve().parent.parent


def merged(project: str, config: dict, stack: dict) -> dict:
    return apply(project, config, stack, "Pulumi.dev.yaml", json.dumps)


def test_project_default_applies_when_the_stack_does_not_set_the_key():
    values = merged("mlinfra", {"mlinfra:workload": "churn"}, {})
    assert values == {"mlinfra:workload": '"churn"'}


def test_stack_value_wins_over_the_project_default_whole():
    # No deep merge: the stack's object replaces the project's (mergeConfig sets only missing keys).
    config = {"mlinfra:tags": {"default": {"a": "1", "b": "2"}}}
    assert merged("mlinfra", config, {"mlinfra:tags": {"a": "9"}}) == {"mlinfra:tags": '{"a": "9"}'}


def test_other_namespace_shorthand_is_a_value():
    assert declarations("mlinfra", {"azure-native:location": "westeurope"}) == {
        "azure-native:location": {"value": "westeurope"}
    }


def test_unqualified_key_takes_the_project_namespace():
    assert merged("mlinfra", {"workload": "churn"}, {}) == {"mlinfra:workload": '"churn"'}


def test_fails_when_another_namespace_declares_a_type():
    with pytest.raises(
        ProjectConfigError, match="not namespaced by the project and should not define a type"
    ):
        declarations("mlinfra", {"azure-native:location": {"type": "string", "value": "westeurope"}})


def test_fails_when_an_array_has_no_items():
    with pytest.raises(ProjectConfigError, match="does not specify the underlying type via the 'items'"):
        declarations("mlinfra", {"mlinfra:stages": {"type": "array", "default": []}})


def test_fails_when_the_default_is_not_of_the_declared_type():
    config = {"mlinfra:stages": {"type": "array", "items": {"type": "object"}, "default": ["dev"]}}
    with pytest.raises(ProjectConfigError, match="not of the expected type 'array'"):
        declarations("mlinfra", config)


def test_fails_when_both_default_and_value_are_given():
    with pytest.raises(ProjectConfigError, match="cannot have both a 'default' and 'value'"):
        declarations("mlinfra", {"mlinfra:workload": {"default": "a", "value": "b"}})


def test_fails_when_a_required_project_key_is_missing():
    with pytest.raises(ProjectConfigError, match="missing configuration value 'mlinfra:workload'"):
        merged("mlinfra", {"mlinfra:workload": {"type": "string"}}, {})


def test_fails_when_a_stack_value_breaks_the_declared_type():
    config = {"mlinfra:retries": {"type": "integer", "default": 1}}
    with pytest.raises(ProjectConfigError, match="must be of type 'integer'"):
        merged("mlinfra", config, {"mlinfra:retries": "many"})


def test_fails_when_a_stack_file_sets_the_stage_catalog(tmp_path):
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml"):
        shutil.copy(PROJECT_DIR / name, tmp_path / name)
    stack = yaml.safe_load((tmp_path / "Pulumi.dev.yaml").read_text())
    stack["config"]["mlinfra:stages"] = [
        {"name": "dev", "code": "dev", "production": False, "dataScience": True}
    ]
    (tmp_path / "Pulumi.dev.yaml").write_text(yaml.safe_dump(stack))
    with pytest.raises(
        StackFileError, match="mlinfra:stages: set by the stack file; the stage catalog belongs"
    ):
        load_stack_config(tmp_path, "dev")


def test_fails_with_what_to_do_when_the_project_is_renamed(tmp_path):
    # The CLI refuses a typed or defaulted key of another namespace; the planner adds the fix.
    project = (PROJECT_DIR / "Pulumi.yaml").read_text().replace("name: mlinfra\n", "name: churnml\n", 1)
    (tmp_path / "Pulumi.yaml").write_text(project)
    shutil.copy(PROJECT_DIR / "Pulumi.dev.yaml", tmp_path / "Pulumi.dev.yaml")
    with pytest.raises(
        StackFileError, match=r"the config namespace stays 'mlinfra'.*replace 'type'/'items'/'default'"
    ):
        load_stack_config(tmp_path, "dev")


def test_the_shipped_project_declares_the_catalog_as_a_typed_array_of_objects():
    config = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())["config"]
    declaration = config["mlinfra:stages"]
    assert declaration["type"] == "array" and declaration["items"] == {"type": "object"}
    assert [stage["name"] for stage in declaration["default"]]  # the catalog is its default


def test_the_project_file_is_parsed_once_per_content_and_each_reader_gets_a_copy(tmp_path):
    """Every run of the program reads Pulumi.yaml (the catalog, the stage guard): parsed once per
    text, a reader's change does not leak to the next, and a rewritten file is read again."""
    from mlinfra.config.stage_catalog import declared_catalog, project_document

    project = tmp_path / "Pulumi.yaml"
    shutil.copy(PROJECT_DIR / "Pulumi.yaml", project)
    first = project_document(project)
    first["config"].clear()
    assert project_document(project)["config"], "a reader's change reached the next reader"
    stages = declared_catalog(project)
    project.write_text(project.read_text().replace(f"name: {stages[0]['name']}", "name: renamed", 1))
    assert declared_catalog(project)[0]["name"] == "renamed"
