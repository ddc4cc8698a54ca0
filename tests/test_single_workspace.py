"""The single-workspace topology (issue 19): a stage that uses an earlier stage's workspace
(`workspace.sharedFrom`) creates none of its own, keeps its own identity, credentials and CI
environment, grants on the owner's scopes through `mlinfra.access.grants`, and its plan says that every
grant there holds for both stages (RB-10, ML-16). `examples/single-workspace` is planned here."""

import json
from functools import cache

import pytest

from mlinfra.config.config_error import ConfigError
from mlinfra.planner import recorder
from mlinfra.planner.recorder import Plan, main_program, record
from mlinfra.planner.render import to_json, to_text
from mlinfra.planner.stack_references import StackReferenceError, referenced_outputs
from mlinfra.planner.stackfile import StackConfig, load_stack_config
from mlinfra.stage.shared_workspace import SCOPE_OUTPUTS, SharedWorkspace, SharedWorkspaceArgs
from tests.conftest import (
    CATALOG,
    PRODUCTION_STACKS,
    PROJECT_DIR,
    STATEFUL_TYPES,
    overridden,
    problem_lines,
    stack_config,
    stage_of,
)

EXAMPLE = PROJECT_DIR / "examples" / "single-workspace"
EXAMPLE_STACKS = sorted(path.name[len("Pulumi.") : -len(".yaml")] for path in EXAMPLE.glob("Pulumi.*.yaml"))
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
NETWORKED = ("azure-native:network:", "azure-native:privatedns:", "azure-native:monitor:")


def example_config(stack: str, **overrides) -> StackConfig:
    """The example's stack file, with `overrides` (see tests/conftest.py `overridden`)."""
    return overridden(load_stack_config(PROJECT_DIR, stack, EXAMPLE / f"Pulumi.{stack}.yaml"), overrides)


def sharing_stacks() -> tuple[str, str]:
    """(owner, sharer): the example's stack that owns the workspace and the one that shares it."""
    settings = {
        stack: json.loads(example_config(stack).values.get("mlinfra:workspace", "{}"))
        for stack in EXAMPLE_STACKS
    }
    sharer = next(stack for stack, values in settings.items() if "sharedFrom" in values)
    return settings[sharer]["sharedFrom"].rsplit("/", 1)[-1], sharer


@cache
def example_plan(stack: str) -> Plan:
    return recorder.plan_config(PROJECT_DIR, example_config(stack))


def workspace_settings(stack: str) -> dict:
    return json.loads(example_config(stack).values["mlinfra:workspace"])


def refusal(config: StackConfig) -> str:
    with pytest.raises(ConfigError) as caught:
        record(main_program(PROJECT_DIR), config)
    message = str(caught.value)
    return problem_lines(message)


# --- the example -----------------------------------------------------------------------


def test_the_example_has_an_owner_and_a_production_stage_that_shares_it():
    owner, sharer = sharing_stacks()
    assert owner in EXAMPLE_STACKS and owner != sharer
    assert stage_of(sharer).production and stage_of(owner).data_science


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_both_example_stacks_plan(stack):
    plan = example_plan(stack)
    assert plan.of_type(ROLE_ASSIGNMENT)
    assert plan.outputs["workspaceName"] and plan.outputs["workspaceId"]


def test_the_sharing_stage_creates_no_workspace_and_nothing_networked():
    _, sharer = sharing_stacks()
    types = {resource.type for resource in example_plan(sharer).resources}
    assert not types & set(STATEFUL_TYPES)
    assert not [t for t in types if t.startswith(NETWORKED) or "machinelearningservices" in t]
    assert "mlinfra:components:MlWorkspace" not in types
    assert "network" not in {key.split(":", 1)[1] for key in example_config(sharer).values}


def test_the_owner_creates_the_workspace_and_exports_every_scope_a_sharer_grants_on():
    owner, _ = sharing_stacks()
    plan = example_plan(owner)
    assert plan.of_type("azure-native:machinelearningservices:Workspace")
    for output in (*SCOPE_OUTPUTS.values(), "stage", "workspaceNetwork", "personas", "subscriptionId"):
        assert plan.outputs[output] not in (None, "", "[secret]"), output
    assert "sharedFrom" not in plan.outputs


def test_the_sharing_stage_grants_roles_on_the_shared_workspace_scopes():
    owner, sharer = sharing_stacks()
    owned = example_plan(owner).outputs
    assignments = example_plan(sharer).of_type(ROLE_ASSIGNMENT)
    scopes = {a.inputs["scope"] for a in assignments}
    assert owned["workspaceId"] in scopes
    assert scopes <= {owned[output] for output in SCOPE_OUTPUTS.values()}
    for assignment in assignments:  # built-in roles under the scopes' own subscription
        assert assignment.inputs["roleDefinitionId"].startswith(f"/subscriptions/{owned['subscriptionId']}/")
        assert assignment.inputs["principalType"] in ("Group", "ServicePrincipal")


def test_the_sharing_stage_keeps_its_own_identity_credential_and_gated_environment():
    owner, sharer = sharing_stacks()
    mine, theirs = example_plan(sharer), example_plan(owner)
    application = "azuread:index/application:Application"
    assert mine.one(application).inputs["displayName"] != theirs.one(application).inputs["displayName"]
    federated = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
    assert mine.one(federated).inputs["subject"].endswith(f":environment:{sharer}")
    environment = mine.one("github:index/repositoryEnvironment:RepositoryEnvironment").inputs
    assert environment["environment"] == sharer and environment["reviewers"][0]["users"]
    assert environment["preventSelfReview"] is True and environment["canAdminsBypass"] is False


def test_the_sharing_stages_pipelines_find_the_owners_workspace():
    owner, sharer = sharing_stacks()
    variables = {
        r.inputs["variableName"]: r.inputs["value"]
        for r in example_plan(sharer).of_type(
            "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable"
        )
    }
    owned = example_plan(owner).outputs
    assert variables["AZUREML_WORKSPACE_NAME"] == owned["workspaceName"]
    assert variables["AZURE_RESOURCE_GROUP"] == owned["resourceGroupName"]
    assert variables["AZUREML_NETWORK"] == owned["workspaceNetwork"]


def test_the_text_plan_warns_naming_the_stages_and_the_personas_affected():
    owner, sharer = sharing_stacks()
    text = to_text(example_plan(sharer))
    warning = text.split("WARNING:", 1)[1].split("\n\n", 1)[0]
    assert (
        f"stages {stage_of(owner).name} and {stage_of(sharer).name} share one Azure ML workspace" in warning
    )
    personas = set(json.loads(example_config(owner).values["mlinfra:personas"])) | set(
        json.loads(example_config(sharer).values["mlinfra:personas"])
    )
    for persona in personas:
        assert f"\n    {persona} " in warning
    assert workspace_settings(sharer)["sharedWithDataScienceReason"] in warning
    assert "WARNING" not in to_text(example_plan(owner))


def test_the_access_view_marks_the_shared_scopes():
    owner, sharer = sharing_stacks()
    entries = json.loads(to_json(example_plan(sharer)))["access"]
    stages = [stage_of(owner).name, stage_of(sharer).name]
    assert entries and all(e["sharedWith"] == stages for e in entries if e["scopeKind"] in SCOPE_OUTPUTS)
    assert all(e["sharedWith"] is None for e in json.loads(to_json(example_plan(owner)))["access"])
    assert "workspace [shared]" in to_text(example_plan(sharer))


def test_stack_references_resolve_next_to_the_referencing_stack_file():
    owner, sharer = sharing_stacks()
    outputs = referenced_outputs(PROJECT_DIR, f"organization/mlinfra/{owner}", sharer, EXAMPLE)
    assert outputs["stage"] == stage_of(owner).name
    with pytest.raises(StackReferenceError, match=f"no stack file Pulumi.{owner}.yaml"):
        referenced_outputs(PROJECT_DIR, f"organization/mlinfra/{owner}", sharer)


# --- refusals (config validation: before anything is registered) -----------------------


def test_fails_when_production_shares_a_data_science_workspace_without_a_reason():
    _, sharer = sharing_stacks()
    settings = {k: v for k, v in workspace_settings(sharer).items() if k != "sharedWithDataScienceReason"}
    message = refusal(example_config(sharer, **{"mlinfra:workspace": settings}))
    assert "mlinfra:workspace.sharedWithDataScienceReason: required: production stage" in message
    assert "RB-10" in message


def test_fails_when_the_reason_is_too_short():
    _, sharer = sharing_stacks()
    settings = {**workspace_settings(sharer), "sharedWithDataScienceReason": "cheap"}
    assert "mlinfra:workspace.sharedWithDataScienceReason" in refusal(
        example_config(sharer, **{"mlinfra:workspace": settings})
    )


def test_fails_when_a_reason_is_given_where_no_production_and_data_science_stage_meet():
    production = [stage for stage in CATALOG.values() if stage.production and not stage.data_science]
    if len(production) < 2:
        pytest.skip("the catalog has no two production stages")
    owner, sharer = production[0].name, production[1].name
    stack = f"solo-{sharer}"
    config = example_config(sharing_stacks()[1])
    values = {
        **config.values,
        "mlinfra:stage": sharer,
        "mlinfra:workspace": json.dumps(
            {
                "sharedFrom": f"organization/mlinfra/solo-{owner}",
                "sharedWithDataScienceReason": "fraud team reviews one shared workspace",
            }
        ),
    }
    message = refusal(StackConfig(config.project, stack, values, (), config.source))
    assert f"{sharer} and {owner} are not a production and a data-science stage; remove it" in message


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("mlinfra:network", {"publicNetworkAccessEnabled": True}),
        ("mlinfra:storage", {"sku": "Standard_LRS"}),
        ("mlinfra:containerRegistry", {"sku": "Premium"}),
        ("mlinfra:resourceProtection", {"protect": True}),
    ],
)
def test_fails_when_a_sharing_stage_sets_what_the_owner_decides(key, value):
    owner, sharer = sharing_stacks()
    message = refusal(example_config(sharer, **{key: value}))
    assert (
        f"{key}: set by the owning stage {stage_of(owner).name} (workspace.sharedFrom); remove it" in message
    )


def test_fails_when_a_sharing_stage_sets_a_workspace_key_of_the_owner():
    owner, sharer = sharing_stacks()
    settings = {**workspace_settings(sharer), "isolationMode": "AllowOnlyApprovedOutbound"}
    message = refusal(example_config(sharer, **{"mlinfra:workspace": settings}))
    assert f"mlinfra:workspace.isolationMode: set by the owning stage {stage_of(owner).name}" in message


@pytest.mark.parametrize("position", ["itself", "later", "unknown", "other workload"])
def test_fails_when_the_owner_is_not_an_earlier_stage_of_the_workload(position):
    owner, sharer = sharing_stacks()
    later = [
        name for name in CATALOG if list(CATALOG).index(name) > list(CATALOG).index(stage_of(sharer).name)
    ]
    named = {
        "itself": sharer,
        "later": f"solo-{later[0]}" if later else f"solo-{stage_of(sharer).name}",
        "unknown": "solo-qa",
        "other workload": f"other-{stage_of(owner).name}",
    }[position]
    settings = {**workspace_settings(sharer), "sharedFrom": f"organization/mlinfra/{named}"}
    message = refusal(example_config(sharer, **{"mlinfra:workspace": settings}))
    assert (
        f'mlinfra:workspace.sharedFrom: got "organization/mlinfra/{named}"; expected the stack (solo-<stage>)'
        in message
    )


def test_fails_when_a_sharing_stage_relaxes_a_rule_its_owner_decides():
    _, sharer = sharing_stacks()
    message = refusal(
        example_config(
            sharer, **{"mlinfra:productionRelaxations": {"privateNetwork": "the owner is public anyway"}}
        )
    )
    assert "productionRelaxations.privateNetwork: decided by the owner of the shared workspace" in message


def test_fails_when_a_sharing_stage_asks_for_a_managed_identity():
    _, sharer = sharing_stacks()
    message = refusal(example_config(sharer, **{"mlinfra:deploymentIdentity": {"kind": "managed-identity"}}))
    assert (
        'mlinfra:deploymentIdentity.kind: got "managed-identity"; a stage that shares a workspace' in message
    )


def test_fails_when_a_sharing_stage_grants_the_workspace_identity_registry_access():
    _, sharer = sharing_stacks()
    registry = {"stack": "organization/mlinfra/shared", "workspaceIdentity": True}
    message = refusal(example_config(sharer, **{"mlinfra:registry": registry}))
    assert (
        "mlinfra:registry.workspaceIdentity: the shared workspace's identity is granted by its owner"
        in message
    )


def test_fails_when_a_stage_of_its_own_has_no_network():
    message = refusal(stack_config(PRODUCTION_STACKS[0], **{"mlinfra:network": None}))
    assert "mlinfra:network: required but not set; expected public" in message


def test_fails_when_a_reason_is_given_without_sharing():
    message = refusal(
        stack_config(
            PRODUCTION_STACKS[0],
            **{
                "mlinfra:workspace": {
                    "sharedWithDataScienceReason": "fraud team reviews one shared workspace"
                }
            },
        )
    )
    assert (
        "mlinfra:workspace.sharedWithDataScienceReason: only meaningful with workspace.sharedFrom" in message
    )


# --- refusals once the owner's outputs are read ----------------------------------------


def test_fails_when_a_sharing_stage_repeats_a_grant_the_owner_makes():
    owner, sharer = sharing_stacks()
    owned = example_plan(owner).outputs["personas"]  # what the sharer reads
    persona, settings = next((name, p) for name, p in owned.items() if "resourceGroup" in p["roles"])
    kind, roles = "resourceGroup", settings["roles"]["resourceGroup"]
    personas = json.loads(example_config(sharer).values["mlinfra:personas"])
    personas[persona] = {"groupObjectId": settings["groupObjectId"], "roles": {kind: roles[:1]}}
    if not stage_of(sharer).data_science:
        personas[persona]["outsideDevReason"] = "the same group works in both stages"
    message = refusal(example_config(sharer, **{"mlinfra:personas": personas}))
    assert f"{persona}: {roles[0]} on {kind} is already granted by {stage_of(owner).name}" in message


def test_fails_when_the_owner_is_private_and_ci_runs_on_hosted_runners():
    """A production stage sharing the shipped private production stage's workspace, its CI without a runner group."""
    if len(PRODUCTION_STACKS) < 2:
        pytest.skip("needs two production stacks")
    owner, sharer = PRODUCTION_STACKS[0], PRODUCTION_STACKS[-1]
    config = stack_config(sharer)
    ci = json.loads(config.values["mlinfra:ci"])
    ci.pop("runnerGroup", None)
    values = {
        key: value
        for key, value in config.values.items()
        if key.split(":", 1)[1]
        not in (
            "network",
            "storage",
            "keyVault",
            "containerRegistry",
            "encryption",
            "monitoring",
            "compute",
            "resourceProtection",
        )
    }
    values["mlinfra:workspace"] = json.dumps({"sharedFrom": f"organization/mlinfra/{owner}"})
    values["mlinfra:ci"] = json.dumps(ci)
    values["mlinfra:personas"] = json.dumps(
        {
            "mlEngineers": {
                "groupObjectId": "00000000-0000-0000-0000-000000000099",
                "roles": {"resourceGroup": ["Reader"]},
            }
        }
    )
    values.pop("mlinfra:registry", None)
    message = refusal(StackConfig(config.project, sharer, values, (), config.source))
    assert (
        f"mlinfra:ci.runnerGroup: required: the shared workspace of {stage_of(owner).name} is private"
        in message
    )


@pytest.mark.parametrize(
    ("outputs", "expected"),
    [
        ({"stage": "other"}, 'that stack exports stage "other"'),
        ({"sharedFrom": "organization/mlinfra/x"}, "shares the workspace of"),
    ],
)
def test_fails_when_the_owners_outputs_contradict_the_reference(outputs, expected):
    owner, sharer = sharing_stacks()
    args = SharedWorkspaceArgs(
        stack=f"organization/mlinfra/{owner}",
        owner_stage=stage_of(owner).name,
        stage=stage_of(sharer).name,
        personas={},
    )
    read = {"stage": stage_of(owner).name, "sharedFrom": None, "network": "public", "owner": {}} | outputs
    with pytest.raises(ConfigError, match=expected):
        SharedWorkspace._check(args, {}, read["stage"], read["sharedFrom"], read["network"], read["owner"])
