"""Config errors name every problem at once, each with its full key path, and a misspelt key gets
the closest allowed one (issue 30, "Messages")."""

import dataclasses
import json

import pytest
import yaml

from mlinfra.config.cli_yaml import parse
from mlinfra.config.config_error import ConfigError, ConfigSources, stack_sources
from mlinfra.planner.recorder import main_program, record
from mlinfra.planner.stackfile import load_stack_config
from tests.conftest import (
    NON_PRODUCTION_STACK,
    OWNERS,
    PRODUCTION_STACK,
    PROJECT_DIR,
    STACKS,
    plan,
    planner_cli,
    problem_lines,
    setting,
    stack_config,
)


def _error(**overrides) -> str:
    with pytest.raises(ConfigError) as error:
        plan(STACKS[0], **overrides)
    return str(error.value)


def test_a_misspelt_section_names_the_closest():
    message = _error(**{"mlinfra:tagz": {"a": "b"}})
    assert "mlinfra:tagz: unknown key; allowed keys: " in message
    assert message.endswith("did you mean tags?") or "did you mean tags?;" in message


def test_a_misspelt_nested_key_names_the_closest_with_its_full_path():
    network = dict(setting(STACKS[0], "network", {}))
    network["publicNetworkAccesEnabled"] = network.pop("publicNetworkAccessEnabled", False)
    message = _error(**{"mlinfra:network": network})
    assert (
        "mlinfra:network.publicNetworkAccesEnabled: unknown key; allowed keys: publicNetworkAccessEnabled"
        in message
    )
    assert "did you mean publicNetworkAccessEnabled?" in message


def test_every_problem_comes_at_once():
    """Not in rounds: a misspelt section, a misspelt key and a bad value, in one error."""
    network = dict(setting(STACKS[0], "network", {}))
    network["publicNetworkAccesEnabled"] = network.pop("publicNetworkAccessEnabled", False)
    message = _error(
        **{"mlinfra:tagz": {"a": "b"}, "mlinfra:network": network, "mlinfra:workload": "Bad_Name"}
    )
    for part in (
        "mlinfra:tagz: unknown key",
        "mlinfra:network.publicNetworkAccesEnabled: unknown key",
        "mlinfra:workload: got",
    ):
        assert part in message, part


def test_a_key_far_from_every_allowed_one_gets_no_guess():
    message = _error(**{"mlinfra:zzzzqqq": 1})
    assert (
        "mlinfra:zzzzqqq: unknown key" in message
        and "did you mean" not in message.split("mlinfra:zzzzqqq")[1].split(";")[1]
    )


# --- one line per problem, each naming its file ---------------------------------------------


def _refusal(config) -> ConfigError:
    with pytest.raises(ConfigError) as error:
        record(main_program(PROJECT_DIR), config)
    return error.value


def test_problems_of_two_files_come_at_once_in_file_order_each_naming_its_file(monkeypatch):
    """A catalog problem of Pulumi.yaml and two unknown keys of the stack file: three lines, the
    project file's first (the CLI reads it first) although the program finds it last."""
    from mlinfra.config import loading as config_module

    real = stack_config(STACKS[0])
    catalog = json.loads(real.values["mlinfra:stages"])
    both = [{**catalog[0], "production": True, "dataScience": True}, *catalog[1:]]
    monkeypatch.setattr(config_module, "declared_catalog", lambda: both)
    values = {**real.values, "mlinfra:stages": json.dumps(both), "mlinfra:tagz": "{}", "mlinfra:netwrk": "{}"}
    lines = str(_refusal(dataclasses.replace(real, values=values))).splitlines()
    stack_file = f"Pulumi.{STACKS[0]}.yaml"
    assert [line.split(": ", 2)[:2] for line in lines] == [
        ["Pulumi.yaml", "mlinfra:stages"],
        [stack_file, "mlinfra:tagz"],
        [stack_file, "mlinfra:netwrk"],
    ]
    assert problem_lines("\n".join(lines))


def test_a_config_file_is_named_as_given(tmp_path):
    """`--config-file` names the file the values came from, not Pulumi.<stack>.yaml."""
    path = tmp_path / "other.yaml"
    path.write_text((PROJECT_DIR / f"Pulumi.{STACKS[0]}.yaml").read_text() + "  mlinfra:tagz: {}\n")
    message = str(_refusal(load_stack_config(PROJECT_DIR, STACKS[0], path)))
    assert message.startswith("other.yaml: mlinfra:tagz: unknown key; allowed keys: ")


def test_a_message_with_semicolons_stays_one_problem():
    """Messages contain `;` ("got X; expected Y"), so problems are a list, never split on it."""
    error = ConfigError(
        ["mlinfra:a: got 1; expected 2; see README", "mlinfra:b: unknown key; allowed keys: c"]
    )
    assert len(error.problems) == 2
    assert error.lines(ConfigSources("Pulumi.scratch.yaml")) == [
        "Pulumi.scratch.yaml: mlinfra:a: got 1; expected 2; see README",
        "Pulumi.scratch.yaml: mlinfra:b: unknown key; allowed keys: c",
    ]


def test_a_rule_over_a_section_gives_each_of_its_problems_a_line():
    """A section's validator raises one error; each of its lines is a problem of that key."""
    error = ConfigError(["mlinfra:ci.github.oidc: claimKeys must include repo\njobWorkflowRef is required"])
    assert error.problems == (
        "mlinfra:ci.github.oidc: claimKeys must include repo",
        "mlinfra:ci.github.oidc: jobWorkflowRef is required",
    )


@pytest.mark.parametrize("command", [["check"], [], ["permissions"]], ids=["check", "plan", "permissions"])
def test_every_command_prints_every_problem_on_its_own_line_naming_the_file(tmp_path, command):
    path = tmp_path / "bad.yaml"
    path.write_text(
        (PROJECT_DIR / f"Pulumi.{STACKS[0]}.yaml").read_text()
        + "  mlinfra:bogusKey: 1\n  mlinfra:otherBogus: x\n"
    )
    result = planner_cli(*command, "--stack", STACKS[0], "--config-file", str(path))
    lines = result.stderr.splitlines()
    assert result.returncode == 2 and result.stdout == ""
    assert [line.split(": ", 3)[:3] for line in lines] == [
        ["error", "bad.yaml", "mlinfra:bogusKey"],
        ["error", "bad.yaml", "mlinfra:otherBogus"],
    ]
    assert all("unknown key; allowed keys: " in line for line in lines)


def test_fails_when_both_files_are_malformed_with_every_problem_of_each(tmp_path):
    """File-level problems (what the CLI itself refuses) of both files at once, in file order."""
    project = (PROJECT_DIR / "Pulumi.yaml").read_text()
    (tmp_path / "Pulumi.yaml").write_text(
        project.replace(
            "config:\n", "config:\n  mlinfra:a:\n    typo: 1\n  azure-native:b:\n    default: 2\n", 1
        )
    )
    (tmp_path / "Pulumi.scratch.yaml").write_text("confg: {}\nconfig:\n  nonamespace: 1\n")
    result = planner_cli("--project-dir", str(tmp_path), "--stack", "scratch")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: Pulumi.yaml: config 'mlinfra:a': unknown attribute 'typo'",
        "error: Pulumi.yaml: Configuration key 'azure-native:b' is not namespaced by the project and should "
        "not define a default value. Did you mean to use the 'value' attribute instead of 'default'?",
        "error: Pulumi.scratch.yaml: top-level key 'confg' is not a stack-file key; expected config, secretsprovider, "
        "encryptedkey, encryptionsalt, environment; did you mean config?",
        "error: Pulumi.scratch.yaml: config key 'nonamespace' must look like '<namespace>:<key>'",
    ]


def test_the_program_names_pulumi_yaml_for_a_value_the_stack_file_leaves_to_it(tmp_path):
    """Under `pulumi up` the program finds the files itself: a key the stack file does not set and
    whose value is the project's is Pulumi.yaml's; anything else is the stack file's."""
    (tmp_path / "Pulumi.scratch.yaml").write_text("config:\n  mlinfra:workload: churn\n")
    project = {"name": "mlinfra", "config": {"mlinfra:stages": {"default": [1]}, "mlinfra:tags": {"a": "b"}}}
    values = {"mlinfra:workload": "churn", "mlinfra:stages": "[1]", "mlinfra:tags": '{"c": "d"}'}
    sources = stack_sources("scratch", values, project, tmp_path)
    assert sources.stack_file == "Pulumi.scratch.yaml" and sources.from_project == {"mlinfra:stages"}
    assert sources.file_of("mlinfra:stages.0.code") == "Pulumi.yaml"
    assert sources.file_of("mlinfra:tags") == sources.file_of("mlinfra:workload") == "Pulumi.scratch.yaml"


# --- security-rules.md's bad-input cases through the command line -----------------------------


def _set(path: str, value):
    """An edit of a stack file's config: `path` is `<namespace>:<key>[.<nested>...]`, None deletes."""

    def edit(config: dict) -> None:
        key, *nested = path.split(".")
        if not nested:
            config.pop(key, None) if value is None else config.__setitem__(key, value)
            return
        section = config.setdefault(key, {})
        for part in nested[:-1]:
            section = section.setdefault(part, {})
        section[nested[-1]] = value

    return edit


BAD_INPUTS = [
    ("T-01", NON_PRODUCTION_STACK, _set("mlinfra:stage", "Prod "), "mlinfra:stage", 'got "Prod "'),
    (
        "T-03",
        NON_PRODUCTION_STACK,
        _set("azure-native:subscriptionId", None),
        "azure-native:subscriptionId",
        "required",
    ),
    (
        "T-05",
        NON_PRODUCTION_STACK,
        _set("azure-native:location", "westeurpe"),
        "azure-native:location",
        'got "westeurpe"',
    ),
    (
        "T-06",
        NON_PRODUCTION_STACK,
        _set("mlinfra:workload", "Churn-Team"),
        "mlinfra:workload",
        'got "Churn-Team"',
    ),
    (
        "T-11",
        PRODUCTION_STACK,
        _set("mlinfra:ci.github.reviewers", {}),
        "mlinfra:ci.github.reviewers",
        "GH-2",
    ),
    (
        "T-20",
        PRODUCTION_STACK,
        _set(
            "mlinfra:personas.dataScientists",
            {"groupObjectId": OWNERS[0], "roles": {"workspace": ["AzureML Data Scientist"]}},
        ),
        "mlinfra:personas.dataScientists",
        "RB-7",
    ),
    (
        "purge-protection-off",
        PRODUCTION_STACK,
        _set("mlinfra:keyVault.purgeProtectionEnabled", False),
        "mlinfra:keyVault.purgeProtectionEnabled",
        "got false",
    ),
    (
        "plaintext-secret",
        NON_PRODUCTION_STACK,
        _set("azure-native:clientSecret", "abc"),
        "azure-native:clientSecret",
        "in plain text",
    ),
]


@pytest.mark.parametrize(
    ("case", "stack", "edit", "key", "needle"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS]
)
def test_fails_on_each_bad_input_with_a_line_naming_file_key_and_value(
    tmp_path, case, stack, edit, key, needle
):
    """security-rules.md (b): every config-level case exits 2, each problem one line that names
    the file, the key and (where one was given) the value received."""
    document = parse((PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text())
    edit(document["config"])
    path = tmp_path / "bad-input.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    result = planner_cli("check", "--stack", stack, "--config-file", str(path))
    lines = result.stderr.splitlines()
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert all(line.startswith("error: bad-input.yaml: ") for line in lines), result.stderr
    problem_lines("\n".join(line.removeprefix("error: ") for line in lines))
    assert [line for line in lines if f": {key}" in line and needle in line], (case, result.stderr)
    assert case != "plaintext-secret" or "abc" not in result.stderr  # a secret's value is never shown
