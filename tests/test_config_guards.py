"""Bad input the field rules alone would let through (issue 14): secure values where no secret
belongs, stray namespaces, keys set twice, padded or case-duplicated names, near-miss persona
names, stack files copied from another stage, hostile files, placeholders reaching a real run,
and every problem of a file reported in one pass.

Each case runs the real `__main__.py` under the recording mock engine (or the planner's stack
file reader, for what only it can see) and checks the one-line message names the key.
"""

import dataclasses
import json
import re
import subprocess
import time
import tracemalloc
from pathlib import Path

import pytest

from mlinfra.config import config_guards
from mlinfra.config.config_error import ConfigError
from mlinfra.facts.ci_names import ADO_PROJECT
from mlinfra.planner import recorder
from mlinfra.planner.stackfile import StackFileError, load_stack_config
from tests.conftest import (
    CATALOG,
    NON_PRODUCTION_STACK,
    PROJECT_DIR,
    STACKS,
    first,
    network_mode,
    planner_cli,
    setting,
    stack_config,
    stacks_where,
    stage_of,
)
from tests.test_config import PRIVATE_NETWORK, Rejection

MAX_MESSAGE = 300
ADO_CI = {
    "platform": "azure-devops",
    "azureDevOps": {
        "organizationUrl": "https://dev.azure.com/example",
        "project": "churn-mlops",
        "approvers": ["ML Engineers"],
    },
}


BASE = NON_PRODUCTION_STACK
"""The stack file the guards are tried on: they apply to every stage alike."""
OUTSIDE_DATA_SCIENCE = stacks_where(lambda stack: not stage_of(stack).data_science)
GITHUB_REVIEWER_STACKS = stacks_where(
    lambda stack: bool(setting(stack, "ci", {}).get("github", {}).get("reviewers", {}).get("users"))
)
PRIVATE_CI_STACKS = stacks_where(
    lambda stack: network_mode(stack) != "public" and "runnerGroup" in setting(stack, "ci", {})
)


@pytest.fixture
def rejection(monkeypatch) -> Rejection:
    return Rejection(monkeypatch)


def rejected(rejection: Rejection, stack: str = BASE, **overrides) -> str:
    return rejection.message(stack_config(stack, **overrides))


def file_config(tmp_path: Path, text: str | bytes, stack: str = BASE):
    """The project's real Pulumi.yaml with `text` as the stack file (`--config-file`)."""
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return load_stack_config(PROJECT_DIR, stack, path)


def base_file_with(extra: str) -> str:
    """BASE's stack file with `extra` lines appended under `config:`."""
    return (PROJECT_DIR / f"Pulumi.{BASE}.yaml").read_text().rstrip("\n") + "\n" + extra


# --- secure values -------------------------------------------------------------------


def test_fails_when_a_secure_value_is_under_a_key_that_is_not_a_secret(rejection):
    config = dataclasses.replace(stack_config(BASE), secret_keys=("mlinfra:workspace",))
    message = rejection.message(config)
    assert "mlinfra:workspace: got a secure value" in message
    assert "plaintext" in message


def test_fails_when_the_engine_marks_a_non_secret_key_secure(rejection, monkeypatch):
    """Under `pulumi up` the language host passes the secure keys in PULUMI_CONFIG_SECRET_KEYS
    (pulumi/pulumi sdk/python/lib/pulumi/runtime/config.py, get_config_secret_keys_env)."""
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps(["mlinfra:tags"]))
    assert "mlinfra:tags: got a secure value" in rejected(rejection)


def test_fails_when_a_stack_file_has_a_secure_tag(rejection, tmp_path):
    text = base_file_with("  mlinfra:unused:\n    secure: v1:AAAAciphertext\n")
    message = rejection.message(file_config(tmp_path, text))
    assert "mlinfra:unused: got a secure value" in message


def test_a_provider_credential_may_be_secure():
    config = dataclasses.replace(
        stack_config(BASE, **{"github:token": "[secret]"}), secret_keys=("github:token",)
    )
    planned = recorder.record(recorder.main_program(PROJECT_DIR), config)  # a ConfigError would raise
    assert planned.resources


@pytest.mark.parametrize("key", sorted(config_guards.SECRET_KEYS))
def test_fails_when_a_provider_credential_is_in_plain_text(rejection, key):
    """Every key the providers' schemas mark secret (mlinfra/facts/data/provider_config_secrets.json,
    extracted from each schema's `config.variables` with `secret: true`, checked against the
    installed SDKs' config/vars.py in tests/test_provider_secrets.py): in plain text in a committed
    stack file it would be published with the repository (PU-13)."""
    message = rejected(rejection, **{key: "plain-credential"})
    assert f"{key}: a provider credential in plain text" in message
    assert f"pulumi config set --secret {key}" in message
    assert "plain-credential" not in message  # the credential itself is never echoed


def test_fails_when_a_stack_file_holds_a_client_secret_in_plain_text(rejection, tmp_path):
    """The stack file as the planner reads it: `azure-native:clientSecret` without `secure:`."""
    text = base_file_with("  azure-native:clientSecret: s3cr3t-value\n")
    message = rejection.message(file_config(tmp_path, text))
    assert "azure-native:clientSecret: a provider credential in plain text" in message


def test_a_provider_credential_that_is_secure_in_the_stack_file_is_accepted(tmp_path):
    text = base_file_with("  github:token:\n    secure: v1:AAAAciphertext\n")
    planned = recorder.record(recorder.main_program(PROJECT_DIR), file_config(tmp_path, text))
    assert planned.resources


# --- namespaces ----------------------------------------------------------------------


@pytest.mark.parametrize("key", ["mlinfa:tags", "azure:location", "azurenative:location"])
def test_fails_when_a_config_namespace_is_unknown(rejection, key):
    message = rejected(rejection, **{key: "x"})
    assert f"{key}: unknown config namespace" in message
    assert "mlinfra" in message and "azure-native" in message


def test_a_misspelt_namespace_gets_a_did_you_mean(rejection):
    assert "did you mean mlinfra:tags?" in rejected(rejection, **{"mlinfa:tags": "x"})


# --- keys set twice (only the planner sees them: the CLI keeps the last) -------------


def test_fails_when_a_top_level_key_appears_twice(tmp_path):
    text = base_file_with("  mlinfra:tags:\n    owner: someone\n")
    with pytest.raises(StackFileError, match=r"key mlinfra:tags appears twice.*keep the last"):
        file_config(tmp_path, text)


def test_fails_when_a_key_inside_a_section_appears_twice(tmp_path):
    text = base_file_with("  mlinfra:monitoring:\n    logRetentionDays: 30\n    logRetentionDays: 90\n")
    with pytest.raises(StackFileError) as caught:
        file_config(tmp_path, text)
    assert "logRetentionDays appears twice" in str(caught.value) or "mlinfra:monitoring appears twice" in str(
        caught.value
    )


def test_the_planner_exits_2_on_a_duplicate_key(tmp_path):
    path = tmp_path / f"Pulumi.{BASE}.yaml"
    path.write_text(base_file_with("  mlinfra:tags:\n    owner: someone\n"))
    run = planner_cli("--stack", BASE, "--config-file", str(path))
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and "mlinfra:tags appears twice" in run.stderr


# --- names: empty, blank, padded ----------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("mlinfra:ci", {**ADO_CI, "azureDevOps": {**ADO_CI["azureDevOps"], "project": " churn"}}, "project"),
        ("mlinfra:ci", {**ADO_CI, "azureDevOps": {**ADO_CI["azureDevOps"], "project": "   "}}, "project"),
        (
            "mlinfra:ci",
            {**ADO_CI, "azureDevOps": {**ADO_CI["azureDevOps"], "serviceConnectionName": "sc-dev "}},
            "serviceConnectionName",
        ),
        (
            "mlinfra:ci",
            {**ADO_CI, "azureDevOps": {**ADO_CI["azureDevOps"], "variableGroupName": " "}},
            "variableGroupName",
        ),
        (
            "mlinfra:ci",
            {**ADO_CI, "azureDevOps": {**ADO_CI["azureDevOps"], "approvers": [""]}},
            "approvers.0",
        ),
        ("mlinfra:ci", {**ADO_CI, "runnerGroup": " pool"}, "runnerGroup"),
        ("mlinfra:tags", {" owner": "x"}, "tags"),
        ("mlinfra:workload", " churn", "workload"),
        ("mlinfra:workspace", {"imageBuildCompute": "builder "}, "imageBuildCompute"),
    ],
)
def test_fails_when_a_name_is_empty_blank_or_padded(rejection, key, value, expected):
    message = rejected(rejection, **{key: value})
    assert message.startswith(f"Pulumi.{BASE}.yaml: {key}"), message
    assert expected in message.split(": got ")[0] + message and ": got " in message, message


# --- duplicates that differ only in case --------------------------------------------


def test_fails_when_github_reviewers_differ_only_in_case(rejection):
    """GitHub logins are case-insensitive (docs.github.com, "Username considerations": a login
    cannot be registered twice in different case), so the same person would be listed twice."""
    stack = first(GITHUB_REVIEWER_STACKS)
    ci = setting(stack, "ci")
    ci["github"]["reviewers"]["users"] = ["alex-mle", "Alex-MLE"]
    message = rejected(rejection, stack, **{"mlinfra:ci": ci})
    assert "mlinfra:ci.github.reviewers.users" in message and "differ only in case" in message


def test_fails_when_azure_devops_approvers_differ_only_in_case(rejection):
    """Azure DevOps group names are unique case-insensitively within a project (Microsoft Learn,
    azure/devops/organizations/settings/naming-restrictions, "Groups")."""
    ci = {**ADO_CI, "azureDevOps": {**ADO_CI["azureDevOps"], "approvers": ["ML Engineers", "ml engineers"]}}
    message = rejected(rejection, **{"mlinfra:ci": ci})
    assert "mlinfra:ci.azureDevOps.approvers" in message and "differ only in case" in message


def test_fails_when_owner_object_ids_differ_only_in_case(rejection):
    owner = "00000000-0000-0000-0000-00000000abcd"
    identity = {"kind": "entra-application", "owners": [owner, owner.upper()]}
    message = rejected(rejection, **{"mlinfra:deploymentIdentity": identity})
    assert "mlinfra:deploymentIdentity.owners" in message and "case-insensitively" in message


# --- near-misses of names the rules key on -------------------------------------------


@pytest.mark.parametrize(
    ("name", "known"), [("dataScientist", "dataScientists"), ("mlEngineer", "mlEngineers")]
)
def test_fails_when_a_persona_name_is_a_near_miss(rejection, name, known):
    stack = first(OUTSIDE_DATA_SCIENCE)
    personas = setting(stack, "personas")
    personas[name] = {"groupObjectId": "00000000-0000-0000-0000-0000000000aa"}
    message = rejected(rejection, stack, **{"mlinfra:personas": personas})
    assert "mlinfra:personas" in message and f"'{name}' is a near-miss of '{known}'" in message


def test_a_data_scientist_persona_spelt_singular_cannot_reach_prod(rejection):
    """The point of the rule: RB-7 keys on `dataScientists`, so the singular must not pass."""
    stack = first(OUTSIDE_DATA_SCIENCE)
    personas = setting(stack, "personas")
    personas["dataScientist"] = {
        "groupObjectId": "00000000-0000-0000-0000-0000000000aa",
        "roles": {"workspace": ["AzureML Data Scientist"]},
    }
    assert "near-miss" in rejected(rejection, stack, **{"mlinfra:personas": personas})


# --- values that end up in a service's name ------------------------------------------


@pytest.mark.parametrize(
    "project",
    [
        "_churn",
        ".churn",
        "churn.",
        "churn{ml}",
        "churn[1]",
        "a=b",
        "a~b",
        "a@b",
        "it's",
        "COM1",
        "web.config",
    ],
)
def test_fails_when_an_azure_devops_project_name_breaks_its_rule(rejection, project):
    """MicrosoftDocs/azure-devops-docs docs/organizations/settings/naming-restrictions.md, "Project
    names": none of / : \\ ~ & % ; @ ' " ? < > | # $ * } { , + = [ ], not starting with `_` or `.`,
    not ending with `.`, not a reserved name (COM1, web.config, ...)."""
    ci = {**ADO_CI, "azureDevOps": {**ADO_CI["azureDevOps"], "project": project}}
    message = rejected(rejection, **{"mlinfra:ci": ci})
    assert f"mlinfra:ci.azureDevOps.project: got {json.dumps(project)}" in message


@pytest.mark.parametrize("project", ["churn-mlops", "ML Platform", "churn.ml"])
def test_azure_devops_project_names_that_follow_the_rule_pass(project):
    assert ADO_PROJECT.problem(project) is None


# --- private stage CI ----------------------------------------------------------------


def test_fails_when_a_private_stage_has_ci_but_no_runner_group(rejection):
    stack = first(PRIVATE_CI_STACKS)
    ci = setting(stack, "ci")
    del ci["runnerGroup"]
    message = rejected(rejection, stack, **{"mlinfra:ci": ci})
    assert (
        "mlinfra:ci.runnerGroup: required when ci is set and network.publicNetworkAccessEnabled is false"
        in message
    )


# --- the stage a stack file belongs to -----------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_file_states_its_stage(stack):
    from mlinfra.facts.stack_names import split_stack_name

    assert load_stack_config(PROJECT_DIR, stack).values["mlinfra:stage"] == split_stack_name(stack)[1]


def test_fails_when_a_stack_file_of_another_stage_is_used(rejection):
    """A stack planned with another stage's file would deploy its names into that stage's subscription."""
    if len(STACKS) < 2:
        pytest.skip("needs two stack files")
    stack, other = STACKS[-1], STACKS[-2]
    config = load_stack_config(PROJECT_DIR, stack, PROJECT_DIR / f"Pulumi.{other}.yaml")
    message = rejection.message(config)
    assert (
        f'mlinfra:stage: got "{stage_of(other).name}"; stack "{stack}" is stage "{stage_of(stack).name}"'
        in message
    )


def test_fails_when_a_stack_file_does_not_state_its_stage(rejection):
    message = rejected(rejection, **{"mlinfra:stage": None})
    assert f'mlinfra:stage: required but not set; expected "{stage_of(BASE).name}"' in message


def test_fails_when_the_project_file_sets_the_stage(rejection, monkeypatch, tmp_path):
    project = tmp_path / "Pulumi.yaml"
    project.write_text(
        (PROJECT_DIR / "Pulumi.yaml").read_text() + f"  mlinfra:stage: {stage_of(BASE).name}\n"
    )
    monkeypatch.setattr(config_guards, "PROJECT_FILE", project)
    assert "mlinfra:stage: set in Pulumi.yaml; each stack file states its own stage" in rejected(rejection)


# --- hostile files -------------------------------------------------------------------


@pytest.fixture(autouse=True, scope="module")
def _imported():
    """The program's modules (the provider SDKs take seconds to import) are loaded before any
    timing: the limits are on refusing the input, not on starting Python."""
    import mlinfra.stage.ml_stage  # noqa: F401


def bounded(action):
    """Run `action` (which raises StackFileError, or returns a ConfigError's message) within 5 s
    and 300 MB; return the message, checked to be one line of at most 300 characters."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        message = action()
    except StackFileError as error:
        message = str(error)
    seconds = time.monotonic() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    assert isinstance(message, str), "the hostile input was accepted"
    assert seconds < 5 and peak < 300, (seconds, peak)
    assert len(message) <= MAX_MESSAGE and "\n" not in message, message
    return message


def test_fails_fast_on_a_yaml_alias_bomb(tmp_path):
    lines = ['  a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"  a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    text = "config:\n  mlinfra:bomb:\n" + "\n".join("  " + line for line in lines) + "\n"
    message = bounded(lambda: file_config(tmp_path, text))
    assert "alias" in message and f"Pulumi.{BASE}.yaml" in message


def test_fails_fast_on_a_10000_character_value(tmp_path, rejection):
    text = base_file_with(f"  mlinfra:uniqueSuffix: {'a' * 10_000}\n")
    message = bounded(lambda: rejection.message(file_config(tmp_path, text)))
    assert "mlinfra:uniqueSuffix: got " in message and "…" in message


def test_fails_fast_on_a_10000_character_key(tmp_path, rejection):
    text = base_file_with(f"  mlinfra:{'k' * 10_000}: x\n")
    message = bounded(lambda: rejection.message(file_config(tmp_path, text)))
    assert "mlinfra:kkkk" in message and "…" in message


def test_fails_fast_on_a_file_that_is_not_utf8(tmp_path):
    text = base_file_with("  mlinfra:tags:\n    owner: ").encode() + b"caf\xe9\n"
    message = bounded(lambda: file_config(tmp_path, text))
    assert "not UTF-8" in message and f"Pulumi.{BASE}.yaml" in message


@pytest.mark.parametrize("key", ["mlinfra:network", "mlinfra:personas", "mlinfra:ci", "mlinfra:tags"])
@pytest.mark.parametrize("value", [[1, 2], "open", 7])
def test_fails_fast_on_a_section_of_the_wrong_type(tmp_path, rejection, key, value):
    text = re.sub(rf"^  {key}:\n(    .*\n|\s*#.*\n)*", "", base_file_with(""), flags=re.M)
    text += f"  {key}: {json.dumps(value)}\n"
    message = bounded(lambda: rejection.message(file_config(tmp_path, text)))
    assert f"{key}: got {json.dumps(value)}; expected a " in message


def test_fails_fast_on_a_huge_file(tmp_path):
    text = base_file_with("  mlinfra:filler: " + "x" * 2_000_000 + "\n")
    message = bounded(lambda: file_config(tmp_path, text))
    assert "at most" in message and f"Pulumi.{BASE}.yaml" in message


def test_fails_fast_on_a_50_mb_file(tmp_path):
    """The size is checked from the file's metadata before a byte is read (MAX_FILE_BYTES)."""
    path = tmp_path / f"Pulumi.{BASE}.yaml"
    with path.open("wb") as handle:
        handle.write(b"config:\n  mlinfra:filler: ")
        handle.truncate(50 * 2**20)
    message = bounded(lambda: load_stack_config(PROJECT_DIR, BASE, path))
    assert "at most" in message and f"Pulumi.{BASE}.yaml" in message


@pytest.mark.parametrize("opening,closing", [("[", "]"), ("{a: ", "}")])
def test_fails_fast_on_deep_nesting(tmp_path, opening, closing):
    """PyYAML's composer recurses once per level, so 5000 levels ended in a RecursionError (exit 1);
    the loader stops at MAX_DEPTH with one line naming the file and line."""
    text = base_file_with("  mlinfra:deep: " + opening * 5000 + closing * 5000 + "\n")
    message = bounded(lambda: file_config(tmp_path, text))
    assert "nested more than 32 levels deep" in message and f"Pulumi.{BASE}.yaml" in message


def test_nesting_up_to_the_limit_is_read(tmp_path):
    text = base_file_with("  mlinfra:unusedDeep: " + "[" * 30 + "]" * 30 + "\n")
    assert "mlinfra:unusedDeep" in file_config(tmp_path, text).values


def test_fails_fast_on_a_deeply_nested_json_string(tmp_path, rejection):
    """The engine hands objects over as JSON text; json.loads recurses per level, so a quoted
    50000-deep array raised RecursionError in the program (exit 1). It stays a string and the
    section's type rule refuses it in one line."""
    text = re.sub(r"^  mlinfra:tags:\n(    .*\n|\s*#.*\n)*", "", base_file_with(""), flags=re.M)
    text += '  mlinfra:tags: "' + "[" * 50_000 + "]" * 50_000 + '"\n'
    message = bounded(lambda: rejection.message(file_config(tmp_path, text)))
    assert "mlinfra:tags: got " in message and "expected a valid dictionary" in message


def test_fails_when_a_directory_stands_where_the_stack_file_belongs(tmp_path):
    (tmp_path / f"Pulumi.{BASE}.yaml").mkdir()
    with pytest.raises(StackFileError, match="a directory where the stack file belongs"):
        load_stack_config(PROJECT_DIR, BASE, tmp_path / f"Pulumi.{BASE}.yaml")


def test_fails_when_a_directory_stands_where_the_project_file_belongs(tmp_path):
    (tmp_path / "Pulumi.yaml").mkdir()
    (tmp_path / f"Pulumi.{BASE}.yaml").write_text("config: {}\n")
    with pytest.raises(StackFileError, match=r"Pulumi\.yaml: a directory where the file belongs"):
        load_stack_config(tmp_path, BASE)


# --- failure paths: exit 2 and one line, never a traceback -----------------------------


def one_line_exit_2(*args: str) -> str:
    result = planner_cli(*args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) >= 1 and all(line.startswith("error: ") for line in lines), result.stderr
    assert "Traceback" not in result.stderr and "RuntimeWarning" not in result.stderr
    return result.stderr


def test_the_planner_exits_2_when_the_registry_reference_is_a_stage(tmp_path):
    """mlinfra:registry.stack must be the shared stack: a stage's stack has none of the registry
    outputs (registryId, registryReaderRoleName), so the reference failed with a KeyError (exit 1)."""
    text = (PROJECT_DIR / f"Pulumi.{BASE}.yaml").read_text()
    assert "stack: organization/mlinfra/shared" in text
    path = tmp_path / f"Pulumi.{BASE}.yaml"
    path.write_text(text.replace("stack: organization/mlinfra/shared", "stack: organization/mlinfra/preprod"))
    message = one_line_exit_2("--stack", BASE, "--config-file", str(path))
    assert 'mlinfra:registry.stack: got "organization/mlinfra/preprod"; expected the shared stack' in message


def test_the_planner_exits_2_on_deep_nesting_and_directories(tmp_path):
    deep = tmp_path / "deep.yaml"
    deep.write_text("config:\n  mlinfra:x: " + "[" * 5000 + "]" * 5000 + "\n")
    assert "nested more than" in one_line_exit_2("--stack", BASE, "--config-file", str(deep))
    (tmp_path / "dir.yaml").mkdir()
    assert "a directory where" in one_line_exit_2(
        "--stack", BASE, "--config-file", str(tmp_path / "dir.yaml")
    )


def test_the_planner_prints_one_line_per_problem(tmp_path):
    path = tmp_path / f"Pulumi.{BASE}.yaml"
    path.write_text((PROJECT_DIR / f"Pulumi.{BASE}.yaml").read_text() + "confg: {}\nsecretprovider: x\n")
    lines = one_line_exit_2("--stack", BASE, "--config-file", str(path)).splitlines()
    assert (
        len(lines) == 2 and "did you mean config?" in lines[0] and "did you mean secretsprovider?" in lines[1]
    )


# --- placeholders --------------------------------------------------------------------


SHIPPED = sorted(
    path
    for path in subprocess.run(
        ["git", "ls-files", "*.yaml", "*.yml", "*.md", "*.py"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
    ).stdout.split()
)
GUID = re.compile(r"\b[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\b")


@pytest.mark.parametrize("path", [path for path in SHIPPED if Path(path).name.startswith("Pulumi.")])
def test_shipped_stack_files_carry_only_placeholder_ids(path):
    ids = GUID.findall((PROJECT_DIR / path).read_text())
    assert all(config_guards.PLACEHOLDER_GUID.fullmatch(value) for value in ids), ids


def test_the_shipped_stack_files_do_carry_sample_ids():
    """So the check above is not vacuous."""
    assert GUID.findall((PROJECT_DIR / "Pulumi.yaml").read_text())
    assert any(GUID.findall((PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text()) for stack in STACKS)


def test_no_file_carries_microsofts_tenant_id():
    """The id Microsoft's own tenant has (split below) is a real organisation's: no file may carry it."""
    microsoft = "72f988bf-" + "86f1-41af-91ab-2d7cd011db47"  # split, so this file does not match itself
    assert [path for path in SHIPPED if microsoft in (PROJECT_DIR / path).read_text()] == []


@pytest.mark.parametrize("stack", STACKS)
def test_the_planner_and_the_tests_plan_the_shipped_placeholders(stack_plans, stack):
    found = []
    recorder.record(
        lambda: found.extend(config_guards.placeholder_problems(config_guards.all_config())),
        stack_config(stack),
    )
    assert found == []
    assert stack_plans[stack].resources


def test_the_mock_engine_is_told_apart_from_the_real_one(monkeypatch):
    """`pulumi.runtime.set_mocks` installs a MockMonitor (pulumi/runtime/mocks.py); the real engine
    hands the program a gRPC ResourceMonitorStub (pulumi/runtime/settings.py)."""
    captured = []

    def program():
        captured.append(config_guards.under_mock_engine())

    recorder.record(program, stack_config(BASE))
    assert captured == [True]
    monkeypatch.setattr(config_guards.settings, "get_monitor", lambda: object())
    assert config_guards.under_mock_engine() is False
    monkeypatch.setattr(config_guards.settings, "get_monitor", lambda: None)
    assert config_guards.under_mock_engine() is False  # no monitor at all: refuse, never assume mocks


@pytest.mark.parametrize("stack", STACKS)
def test_fails_when_a_real_run_meets_placeholders(rejection, monkeypatch, stack):
    monkeypatch.setattr(config_guards, "under_mock_engine", lambda: False)
    message = rejected(rejection, stack)
    for key in ("azure-native:tenantId", "azure-native:subscriptionId", "mlinfra:personas", "mlinfra:ci"):
        assert f"{key}: still a placeholder" in message
    assert "replace it" in message


def test_a_real_run_with_real_values_passes_the_placeholder_check(monkeypatch):
    monkeypatch.setattr(config_guards, "under_mock_engine", lambda: False)
    values = {
        "azure-native:tenantId": "0b1f6c3e-2a4d-4c8e-9f10-5e6d7c8b9a01",
        "mlinfra:ci": '{"x": "acme/churn"}',
    }
    assert config_guards.placeholder_problems(values) == []


# --- one pass ------------------------------------------------------------------------

OTHER_STAGE = next((name for name in CATALOG if name != stage_of(BASE).name), "other")
"""A stage marker that is not BASE's: a catalog stage's when there is one."""


def test_fails_with_field_and_cross_section_problems_in_one_pass(rejection):
    """A broken key vault section must not hide that a private stage needs a Premium registry."""
    message = rejected(
        rejection,
        **{
            "mlinfra:keyVault": {"softDeleteRetentionDays": 6},
            "mlinfra:network": PRIVATE_NETWORK,
            "mlinfra:containerRegistry": {"sku": "Basic"},
            "mlinfra:stage": OTHER_STAGE,
            "mlinfra:typo": 1,
        },
    )
    for fragment in (
        "mlinfra:keyVault.softDeleteRetentionDays: got 6",
        'mlinfra:containerRegistry.sku: got "Basic"',
        "mlinfra:workspace.imageBuildCompute: required",
        f'mlinfra:stage: got "{OTHER_STAGE}"',
        "mlinfra:typo: unknown key",
    ):
        assert fragment in message, fragment


def test_a_cross_section_rule_about_a_broken_section_is_left_out(rejection):
    """The broken registry section falls back to its default for the cross-section pass; a problem
    about that default would be about nothing the file says."""
    message = rejected(
        rejection,
        **{"mlinfra:network": PRIVATE_NETWORK, "mlinfra:containerRegistry": {"sku": "Gold"}},
    )
    assert 'mlinfra:containerRegistry.sku: got "Gold"' in message
    assert "ACR-3" not in message
    assert "mlinfra:workspace.imageBuildCompute: required" in message


def test_bootstrap_refuses_placeholders_in_a_real_run(monkeypatch):
    from tests.test_bootstrap import bootstrap_plan

    monkeypatch.setattr(config_guards, "under_mock_engine", lambda: False)
    with pytest.raises(ConfigError) as caught:
        bootstrap_plan()
    for key in (
        "azure-native:tenantId",
        "mlinfra-bootstrap:administratorGroupObjectId",
        "mlinfra-bootstrap:github",
    ):
        assert f"{key}: still a placeholder" in str(caught.value)


def test_bootstrap_plans_its_shipped_placeholders_offline():
    from tests.test_bootstrap import bootstrap_plan

    assert bootstrap_plan().resources


def test_the_planner_prints_no_asyncio_notes_around_a_config_error(tmp_path):
    """A config error stops the program with SDK outputs pending; asyncio (in debug mode, which
    PYTHONASYNCIODEBUG turns on: Python docs, "Developing with asyncio") logs slow callbacks and
    Python warns of coroutines never awaited. Only `--debug` shows them (mlinfra/planner/failures.py)."""
    import os
    import sys

    path = tmp_path / f"Pulumi.{BASE}.yaml"
    path.write_text(base_file_with("  mlinfra:surprise: open\n"))
    run = lambda *extra: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "mlinfra", "--stack", BASE, "--config-file", str(path), *extra],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONASYNCIODEBUG": "1", "PYTHONWARNINGS": "default"},
        timeout=120,
    )
    quiet = run()
    assert quiet.returncode == 2
    assert [line for line in quiet.stderr.splitlines() if not line.startswith("error: ")] == []
    assert "Executing <Task" in run("--debug").stderr  # what the flag keeps
