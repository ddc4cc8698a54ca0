"""mlinfra/planner/stackfile.py: stack files read as the Pulumi CLI reads them."""

import shutil
from pathlib import Path

import pytest

from mlinfra.planner.stackfile import STACK_FILE_KEYS, StackFileError, load_stack_config

ROOT = Path(__file__).resolve().parent.parent


def project(tmp_path: Path, stack_file: str) -> Path:
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "Pulumi.scratch.yaml").write_text(stack_file)
    return tmp_path


def test_no_on_yes_reach_the_program_as_strings(tmp_path):
    """yaml.v3 (the CLI's YAML library, mlinfra/config/pulumi_yaml.py) keeps `no`, `on`, `yes` strings
    in an untyped value, so the planner hands the program the same text as `pulumi up`."""
    config = load_stack_config(
        project(tmp_path, "config:\n  mlinfra:a: no\n  mlinfra:b: on\n  mlinfra:c: yes\n  mlinfra:d: true\n"),
        "scratch",
    )
    assert {key: config.values[key] for key in ("mlinfra:a", "mlinfra:b", "mlinfra:c", "mlinfra:d")} == {
        "mlinfra:a": "no",
        "mlinfra:b": "on",
        "mlinfra:c": "yes",
        "mlinfra:d": "true",
    }


def test_nested_no_stays_a_string(tmp_path):
    """Objects reach the program as JSON; a nested `no` is the JSON string "no", not false."""
    config = load_stack_config(project(tmp_path, "config:\n  mlinfra:x:\n    team: no\n"), "scratch")
    assert config.values["mlinfra:x"] == '{"team": "no"}'


@pytest.mark.parametrize("key", STACK_FILE_KEYS)
def test_stack_file_keys_of_the_cli_are_accepted(tmp_path, key):
    """pulumi/pulumi sdk/go/common/workspace/project.go, `type ProjectStack struct`: the yaml tags
    secretsprovider, encryptedkey, encryptionsalt, config and environment."""
    value = "{}" if key in ("config", "environment") else "x"
    load_stack_config(project(tmp_path, f"{key}: {value}\n"), "scratch")


def test_fails_when_a_config_key_sits_outside_config(tmp_path):
    """project.go's ProjectStack has no field for other keys: the CLI drops them silently, so a
    key written one level too far out never reaches the program."""
    with pytest.raises(StackFileError) as error:
        load_stack_config(project(tmp_path, "config: {}\nmlinfra:region: westeurope\n"), "scratch")
    assert str(error.value) == (
        "Pulumi.scratch.yaml: top-level key 'mlinfra:region' is not a stack-file key; expected config, "
        "secretsprovider, encryptedkey, encryptionsalt, environment (config keys go under config:)"
    )


def test_fails_when_a_stack_file_key_is_misspelt(tmp_path):
    """Each unknown top-level key is its own line, with a "did you mean" for a near miss."""
    with pytest.raises(StackFileError) as error:
        load_stack_config(project(tmp_path, "confg: {}\nsecretprovider: x\n"), "scratch")
    lines = str(error.value).splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("did you mean config?")
    assert lines[1].endswith("did you mean secretsprovider?")
