"""planner: the offline planner CLI and its pieces (stack file reading, recording, ordering).

CLI tests run the planner's `main` as `mlinfra` would, one after another from a module
fixture (one of them in a real `mlinfra` process): the first plan of a stack is stored in
the plan cache and the others read it.
"""

import json
import random
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from pulumi.runtime import rpc

from mlinfra.planner.recorder import Resource, canonical_order, redact
from mlinfra.planner.stackfile import SECRET_PLACEHOLDER, StackFileError, load_stack_config
from tests.conftest import (
    PRODUCTION_STACK,
    PROJECT_DIR,
    STACKS,
    STATEFUL_TYPES,
    copy_repository,
    planner_cli,
    run_program,
    setting,
    stacks_where,
)

RESOURCE_KEYS = {
    "urn",
    "type",
    "name",
    "custom",
    "parent",
    "inputs",
    "dependencies",
    "protect",
    "retainOnDelete",
    "deleteBeforeReplace",
    "replaceOnChanges",
    "ignoreChanges",
    "additionalSecretOutputs",
    "provider",
}
TOP_LEVEL_KEYS = {"version", "project", "stack", "resources", "outputs"}
CLI_STACK = PRODUCTION_STACK
"""The stack the CLI's output contract is checked on: a production one holds every core type."""
BROKEN_STACK = STACKS[0]
"""The stack whose file the failure tests break (in a copy)."""
ENTRA_APPLICATION_STACKS = stacks_where(
    lambda stack: setting(stack, "deploymentIdentity", {}).get("kind") == "entra-application"
)
SECRET_WRAPPER = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "x"}


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


def copy_project(destination: Path) -> Path:
    return copy_repository(destination, "tests")


def break_stack_file(project: Path, stack: str, **changes) -> None:
    path = project / f"Pulumi.{stack}.yaml"
    document = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        document["config"][key] = value
    path.write_text(yaml.safe_dump(document))


@pytest.fixture(scope="module")
def cli(tmp_path_factory) -> dict[str, Run]:
    """Every CLI invocation of this module: name -> result."""
    bad_value = copy_project(tmp_path_factory.mktemp("bad-value") / "project")
    break_stack_file(bad_value, BROKEN_STACK, **{"mlinfra:keyVault": {"softDeleteRetentionDays": 6}})
    bad_yaml = copy_project(tmp_path_factory.mktemp("bad-yaml") / "project")
    (bad_yaml / f"Pulumi.{BROKEN_STACK}.yaml").write_text("config:\n  mlinfra:workload: [churn\n")
    invocations = {
        "json": (PROJECT_DIR, ["--stack", CLI_STACK, "--format", "json"]),
        "text": (PROJECT_DIR, ["--stack", CLI_STACK, "--format", "text"]),
        "unknown-stack": (PROJECT_DIR, ["--stack", "nostack"]),
        "bad-value": (bad_value, ["--stack", BROKEN_STACK, "--format", "json", "--project-dir", "."]),
        "bad-yaml": (bad_yaml, ["--stack", BROKEN_STACK, "--project-dir", "."]),
    }
    # The planner's `main` in this process (its exit status and output are the command's; the
    # copies are named by --project-dir, as their own `mlinfra` finds itself there); one
    # real `mlinfra` process gives the same JSON from a separate interpreter.
    results = {}
    for name, (cwd, arguments) in invocations.items():
        process = planner_cli(*arguments, cwd=cwd)
        results[name] = Run(process.returncode, process.stdout, process.stderr)
    process = subprocess.run(
        [sys.executable, "-m", "mlinfra", "--stack", CLI_STACK, "--format", "json"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    results["json-again"] = Run(process.returncode, process.stdout, process.stderr)
    return results


@pytest.fixture(scope="module")
def cli_json(cli) -> dict:
    run = cli["json"]
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def cli_config_ids() -> list[str]:
    """Every ARM id the CLI stack's file sets (any depth)."""
    document = yaml.safe_load((PROJECT_DIR / f"Pulumi.{CLI_STACK}.yaml").read_text())
    ids: list[str] = []

    def walk(value):
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str) and value.startswith("/subscriptions/"):
            ids.append(value)

    walk(document["config"])
    return ids


def cli_subscription() -> str:
    document = yaml.safe_load((PROJECT_DIR / f"Pulumi.{CLI_STACK}.yaml").read_text())
    return document["config"]["azure-native:subscriptionId"]


# --- JSON contract (docs/planner.md, version 1) ---------------------------------------------


def test_json_follows_the_contract(cli_json):
    assert set(cli_json) >= TOP_LEVEL_KEYS
    assert cli_json["version"] == 1
    assert cli_json["project"] == yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())["name"]
    assert cli_json["stack"] == CLI_STACK
    assert isinstance(cli_json["outputs"], dict)
    urns = {resource["urn"] for resource in cli_json["resources"]}
    assert len(urns) == len(cli_json["resources"])
    for resource in cli_json["resources"]:
        assert set(resource) == RESOURCE_KEYS, resource.get("urn")
        assert resource["urn"].startswith(f"urn:pulumi:{CLI_STACK}::{cli_json['project']}::")
        assert resource["urn"].endswith(f"::{resource['name']}")
        assert f"{resource['type']}::" in resource["urn"]
        assert isinstance(resource["custom"], bool)
        assert isinstance(resource["protect"], bool) and isinstance(resource["retainOnDelete"], bool)
        assert resource["parent"] is None or resource["parent"] in urns
        assert isinstance(resource["deleteBeforeReplace"], bool)
        for option in ("replaceOnChanges", "ignoreChanges", "additionalSecretOutputs"):
            assert isinstance(resource[option], list) and resource[option] == sorted(resource[option])
        assert resource["provider"] is None or resource["provider"] in urns
        assert isinstance(resource["inputs"], dict)
        assert all(dependency in urns for dependency in resource["dependencies"]), resource["urn"]


def test_json_records_the_replacement_options_and_the_explicit_provider():
    """Additive fields of contract version 1, read from the register request like `protect`."""
    import pulumi
    import pulumi_azure_native as azure_native

    def program():
        provider = azure_native.Provider("explicit", subscription_id="s")
        azure_native.resources.ResourceGroup(
            "options",
            resource_group_name="rg-options",
            opts=pulumi.ResourceOptions(
                provider=provider,
                delete_before_replace=True,
                replace_on_changes=["tags", "location"],
                ignore_changes=["tags"],
                additional_secret_outputs=["name"],
            ),
        )
        azure_native.resources.ResourceGroup("plain", resource_group_name="rg-plain")

    recorded = {r.name: r.to_json() for r in run_program(program).resources}
    options, plain = recorded["options"], recorded["plain"]
    assert options["deleteBeforeReplace"] is True
    assert options["replaceOnChanges"] == ["location", "tags"]
    assert options["ignoreChanges"] == ["tags"]
    assert options["additionalSecretOutputs"] == ["name"]
    assert options["provider"] == recorded["explicit"]["urn"]
    assert plain["provider"] is None and plain["deleteBeforeReplace"] is False
    assert plain["replaceOnChanges"] == plain["ignoreChanges"] == plain["additionalSecretOutputs"] == []


@pytest.mark.parametrize("stack", ENTRA_APPLICATION_STACKS)
def test_entra_resources_use_the_stage_provider(stack_plans, stack):
    """Every azuread resource names the stage's explicit azuread provider (never the default one)."""
    plan = stack_plans[stack]
    [provider] = plan.of_type("pulumi:providers:azuread")
    entra = [r for r in plan.resources if r.type.startswith("azuread:index/")]
    assert entra and {r.provider for r in entra} == {provider.urn}


def test_json_lists_components_as_non_custom(cli_json):
    kinds = {resource["type"]: resource["custom"] for resource in cli_json["resources"]}
    assert kinds["pulumi:pulumi:Stack"] is False
    assert kinds["mlinfra:components:MlStage"] is False
    assert kinds["mlinfra:components:MlWorkspace"] is False
    assert all(kinds[type_] is True for type_ in set(STATEFUL_TYPES))


def test_cli_json_has_every_core_resource_type(cli_json):
    assert {resource["type"] for resource in cli_json["resources"]} >= set(STATEFUL_TYPES)


def test_json_shows_what_the_tests_assert_on(cli_json, stack_plans):
    # The CLI and the test harness share the recorder: same resources, same order.
    assert cli_json["resources"] == stack_plans[CLI_STACK].to_json()["resources"]
    assert cli_json["outputs"] == stack_plans[CLI_STACK].outputs


def test_two_runs_give_byte_identical_json(cli):
    assert cli["json"].returncode == 0 and cli["json-again"].returncode == 0
    assert cli["json"].stdout == cli["json-again"].stdout


def test_mocked_ids_are_arm_ids_in_the_stack_subscription(cli_json):
    subscription = cli_subscription()
    found = []

    def walk(value):
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str) and value.startswith("/subscriptions/"):
            found.append(value)

    # Ids the program creates; the hub's DNS zones come from config, in the hub's subscription.
    walk(
        [
            resource["inputs"]
            for resource in cli_json["resources"]
            if resource["type"] != "azure-native:network:PrivateDnsZoneGroup"
            # The shared registry's ids come from the shared stack, in its own subscription.
            and " on registry" not in str(resource["inputs"].get("description", ""))
            and "shared-registry" not in resource["name"]
        ]
    )
    walk(cli_json["outputs"])
    assert len(found) >= 5  # the workspace's four dependencies, app insights, the outputs
    # Ids the stack file gives (a hub network, a landing zone's subnet) are where they are.
    given = [value for value in cli_config_ids() if not value.startswith(f"/subscriptions/{subscription}/")]
    arm_id = re.compile(rf"/subscriptions/{re.escape(subscription)}(/[^/\s]+/[^/\s]+)+")
    for value in found:
        assert arm_id.fullmatch(value) or value.startswith(tuple(given)), value
    workspace = next(
        r for r in cli_json["resources"] if r["type"] == "azure-native:machinelearningservices:Workspace"
    )
    group = next(r for r in cli_json["resources"] if r["type"] == "azure-native:resources:ResourceGroup")[
        "inputs"
    ]["resourceGroupName"]
    assert workspace["inputs"]["storageAccount"].startswith(
        f"/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Storage/storageAccounts/"
    )


def test_urns_are_the_ones_the_engine_would_assign(stack_plans):
    plan = stack_plans[CLI_STACK]
    by_urn = {resource.urn: resource for resource in plan.resources}

    def qualified_type(resource: Resource) -> str:
        parent = by_urn.get(resource.parent) if resource.parent else None
        if parent is None or parent.type == "pulumi:pulumi:Stack":
            return resource.type
        return f"{qualified_type(parent)}${resource.type}"

    wrong = {
        resource.urn: f"urn:pulumi:{plan.stack}::{plan.project}::{qualified_type(resource)}::{resource.name}"
        for resource in plan.resources
    }
    wrong = {recorded: expected for recorded, expected in wrong.items() if recorded != expected}
    assert wrong == {}


# --- text format ---------------------------------------------------------------------


def test_text_shows_the_tree_and_a_count_per_type(cli, cli_json):
    run = cli["text"]
    assert run.returncode == 0, run.stderr
    text = run.stdout
    assert "└─ " in text and "├─ " in text
    for resource in cli_json["resources"]:
        assert resource["name"] in text
    assert f"Resources: {len(cli_json['resources'])} to create" in text
    counts: dict[str, int] = {}
    for resource in cli_json["resources"]:
        counts[resource["type"]] = counts.get(resource["type"], 0) + 1
    for type_, count in counts.items():
        assert re.search(rf"^\s+{count}\s+{re.escape(type_)}$", text, re.MULTILINE), type_
    assert "[protect]" in text


# --- failures ------------------------------------------------------------------------


def test_fails_when_the_stack_file_has_an_invalid_value(cli):
    run = cli["bad-value"]
    assert run.returncode == 2
    assert run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert "mlinfra:keyVault.softDeleteRetentionDays: got 6" in lines[0]
    assert "Traceback" not in run.stderr


def test_fails_when_the_stack_file_is_not_yaml(cli):
    run = cli["bad-yaml"]
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert f"Pulumi.{BROKEN_STACK}.yaml" in lines[0]
    assert "Traceback" not in run.stderr


def test_fails_when_the_stack_is_unknown(cli):
    run = cli["unknown-stack"]
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert "'nostack'" in lines[0]
    for stack in STACKS:
        assert stack in lines[0]
    assert "Traceback" not in run.stderr


# --- stack file reading --------------------------------------------------------------


@pytest.fixture
def demo_project(tmp_path) -> Path:
    (tmp_path / "Pulumi.yaml").write_text("name: demo\nruntime: python\n")
    (tmp_path / "Pulumi.local.yaml").write_text(
        "config:\n"
        "  demo:password:\n"
        "    secure: v1:AAAAciphertext\n"
        "  demo:nested:\n"
        "    inner:\n"
        "      secure: v1:BBBBciphertext\n"
        "    plain: 1\n"
        "  demo:list:\n"
        "    - secure: v1:CCCCciphertext\n"
        "  demo:flag: true\n"
        "  demo:count: 7\n"
        "  demo:name: churn\n"
        '  demo:code: "0042"\n'
    )
    return tmp_path


def test_secure_values_are_replaced_and_marked_secret(demo_project):
    config = load_stack_config(demo_project, "local")
    assert (config.project, config.stack) == ("demo", "local")
    assert config.values["demo:password"] == SECRET_PLACEHOLDER
    assert json.loads(config.values["demo:nested"]) == {"inner": SECRET_PLACEHOLDER, "plain": 1}
    assert json.loads(config.values["demo:list"]) == [SECRET_PLACEHOLDER]
    assert set(config.secret_keys) == {"demo:password", "demo:nested", "demo:list"}
    assert "ciphertext" not in json.dumps(config.values)


def test_plain_values_are_passed_as_the_engine_would(demo_project):
    values = load_stack_config(demo_project, "local").values
    assert values["demo:flag"] == "true"
    assert values["demo:count"] == "7"
    assert values["demo:name"] == "churn"
    assert values["demo:code"] == "0042"
    assert all(isinstance(value, str) for value in values.values())


def test_fails_when_the_stack_file_is_missing(demo_project):
    with pytest.raises(StackFileError, match=r"no stack file Pulumi\.qa\.yaml for stack 'qa'; stacks: local"):
        load_stack_config(demo_project, "qa")


def test_fails_when_a_config_key_has_no_namespace(demo_project):
    (demo_project / "Pulumi.local.yaml").write_text("config:\n  workload: churn\n")
    with pytest.raises(StackFileError, match="'workload' must look like '<namespace>:<key>'"):
        load_stack_config(demo_project, "local")


# --- recorder pieces -----------------------------------------------------------------


def test_redact_hides_the_secret_wrapper():
    assert redact(SECRET_WRAPPER) == "[secret]"
    assert redact({"b": [SECRET_WRAPPER, 1.0], "a": {"password": SECRET_WRAPPER}}) == {
        "a": {"password": "[secret]"},
        "b": ["[secret]", 1],
    }
    assert "x" not in json.dumps(redact({"nested": [SECRET_WRAPPER]}))


def test_redact_sorts_keys_and_shows_references_and_unknowns():
    reference = {rpc._special_sig_key: rpc._special_resource_sig, "urn": "urn:pulumi:s::p::t::n", "id": "i"}
    result = redact({"z": 1, "a": reference, "m": rpc.UNKNOWN, "f": 2.5})
    assert list(result) == ["a", "f", "m", "z"]
    assert result == {"a": "urn:pulumi:s::p::t::n", "f": 2.5, "m": "[unknown]", "z": 1}


def resource(urn: str, parent: str | None = None, dependencies=(), custom=True) -> Resource:
    return Resource(
        urn=urn,
        type="t",
        name=urn.rsplit("::", 1)[-1],
        custom=custom,
        parent=parent,
        inputs={},
        dependencies=sorted(dependencies),
        protect=False,
        retain_on_delete=False,
    )


def test_canonical_order_puts_parents_first_and_dependencies_before_dependents():
    stack = resource("u::stack", custom=False)
    component = resource("u::comp", parent="u::stack", custom=False)
    late = resource("u::a-late", parent="u::comp", dependencies=["u::z-early"])
    early = resource("u::z-early", parent="u::comp")
    ordered = [r.urn for r in canonical_order([late, early, component, stack])]
    assert ordered == ["u::stack", "u::comp", "u::z-early", "u::a-late"]


def test_canonical_order_does_not_depend_on_registration_order(stack_plans):
    resources = stack_plans[CLI_STACK].resources
    expected = [r.urn for r in canonical_order(resources)]
    assert expected == [r.urn for r in resources]  # the plan is already in canonical order
    shuffler = random.Random(20260501)
    for _ in range(25):
        shuffled = list(resources)
        shuffler.shuffle(shuffled)
        assert [r.urn for r in canonical_order(shuffled)] == expected
    position = {urn: index for index, urn in enumerate(expected)}
    for r in resources:
        if r.parent in position:
            assert position[r.parent] < position[r.urn]


def test_a_failing_program_gives_one_line_and_exit_status_1(tmp_path):
    project = copy_project(tmp_path / "project")
    main = project / "__main__.py"
    # Fails before anything is registered, as a failed lookup at the top of a program would.
    main.write_text("raise LookupError('GET /users/ghost: 404 Not Found')\n" + main.read_text())
    result = subprocess.run(
        [sys.executable, "-m", "mlinfra", "--stack", BROKEN_STACK, "--project-dir", str(project)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: the program failed under the mock engine: LookupError: GET /users/ghost: 404 Not Found "
        "(run with --debug for the traceback)"
    ]


def test_a_plan_puts_the_collector_settings_back_even_when_the_program_fails():
    """`record` freezes the heap and raises the collector's thresholds only while the program runs
    (mlinfra/planner/recorder.py `fewer_collections`): after a plan, and after a program that raises,
    Python's thresholds are the caller's again and nothing stays frozen."""
    import gc

    from mlinfra.planner.recorder import GC_THRESHOLDS, record
    from tests.conftest import stack_config

    before = gc.get_threshold()
    assert before != GC_THRESHOLDS
    seen = {}

    def program():
        seen["during"] = (gc.get_threshold(), gc.get_freeze_count() > 0)
        raise RuntimeError("refused")

    with pytest.raises(RuntimeError, match="refused"):
        record(program, stack_config(STACKS[0]))
    assert seen["during"] == (GC_THRESHOLDS, True)
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_an_error_nobody_read_is_not_logged_when_its_future_is_freed(caplog):
    """A refused run leaves SDK futures with errors nobody reads; the planner's loop handler
    (mlinfra/planner/recorder.py `quiet_unread_errors`) keeps their finalizers from logging a traceback
    later (on Python 3.11, inside another `ast.parse`, that logging fails the parse); any other
    loop error is still logged."""
    import asyncio

    from mlinfra.planner.recorder import record
    from tests.conftest import stack_config

    def program():
        loop = asyncio.get_event_loop()
        unread = loop.create_future()
        unread.set_exception(KeyError("registryReaderRoleName"))
        loop.call_exception_handler({"message": "something else went wrong"})
        del unread  # freed here, its error never read

    record(program, stack_config(STACKS[0]))
    messages = [r.getMessage() for r in caplog.records]
    assert not [m for m in messages if "never retrieved" in m]
    assert "something else went wrong" in messages


def test_a_stack_file_is_parsed_once_per_content_and_read_afresh(tmp_path):
    """mlinfra/planner/stackfile.py parses each text once (`_parse`): a caller changing its document does
    not change the next reader's, and a file rewritten with other content of the same size is
    parsed again (the cache is keyed on the text, never on the file's name or time)."""
    from mlinfra.planner.stackfile import _read_yaml

    path = tmp_path / "Pulumi.x.yaml"
    path.write_text("config:\n  mlinfra:workload: aaaa\n")
    first = _read_yaml(path)
    first["config"]["mlinfra:workload"] = "changed"
    assert _read_yaml(path) == {"config": {"mlinfra:workload": "aaaa"}}
    path.write_text("config:\n  mlinfra:workload: bbbb\n")
    assert _read_yaml(path) == {"config": {"mlinfra:workload": "bbbb"}}
