"""Stages' access to the shared Azure ML registry (mlinfra/access/registry_access.py), from the stack files."""

import json
import uuid

import pytest

from mlinfra.config.config_error import ConfigError
from mlinfra.diff.compare import diff_plans
from mlinfra.facts.registry_roles import READER_ACTIONS
from mlinfra.facts.roles import ROLES
from mlinfra.planner.render import to_json
from mlinfra.planner.views import access_view
from tests.conftest import (
    DATA_SCIENCE_STACK,
    PRODUCTION_STACK,
    SHARED_STACKS,
    STACKS,
    first,
    plan,
    setting,
    stacks_where,
)

PUBLISHING_STACKS = stacks_where(
    lambda stack: setting(stack, "registry", {}).get("deploymentIdentity") == "publish"
)
"""Stages whose deployer publishes to the shared registry."""

REGISTRY_USER = ROLES["AzureML Registry User"]
OUTBOUND_RULE = "azure-native:machinelearningservices:ManagedNetworkSettingsRule"


@pytest.fixture(scope="module")
def shared_outputs():
    return plan(SHARED_STACKS[0]).outputs


@pytest.fixture(scope="module")
def plans():
    return {stack: plan(stack) for stack in STACKS}


def _registry_rows(result):
    return [row for row in access_view(result) if row["scopeKind"] == "registry"]


@pytest.mark.parametrize("stack", STACKS)
def test_every_stage_grants_on_the_registry_scope(plans, shared_outputs, stack):
    """Assignments at the registry's ARM id, read from the shared stack through a StackReference."""
    result = plans[stack]
    reference = result.one("pulumi:pulumi:StackReference")
    assert reference.inputs["id"].endswith(SHARED_STACKS[0])
    rows = _registry_rows(result)
    assert rows
    assert {row["scope"] for row in rows} == {shared_outputs["registryId"]}
    for row in rows:
        # The registry is in the shared stack's subscription, and so is the role definition id.
        assignment = next(r for r in result.resources if r.urn == row["urn"])
        assert assignment.inputs["roleDefinitionId"].startswith(
            f"/subscriptions/{shared_outputs['subscriptionId']}/"
        )


@pytest.mark.parametrize("stack", STACKS)
def test_only_the_deployment_identity_of_the_publishing_stage_may_publish(plans, shared_outputs, stack):
    """AzureML Registry User is registries/read + registries/assets/* (Microsoft Learn, Azure built-in
    roles, "AzureML Registry User"): publish. Everyone else gets the read-only custom role."""
    rows = _registry_rows(plans[stack])
    publishers = [row for row in rows if row["registryAccess"] == "publish"]
    for row in publishers:
        assert row["role"] == REGISTRY_USER.name and row["identity"] == "deployment"
    readers = [row for row in rows if row["registryAccess"] == "read"]
    assert readers
    assert {row["roleId"] for row in readers} == {
        shared_outputs["registryReaderRoleDefinitionId"].rsplit("/", 1)[-1]
    }
    # The workspace identity deploys from the registry: read only, everywhere.
    assert [row for row in readers if row["identity"] and row["identity"].startswith("mlw-")]
    assert bool(publishers) == (stack == DATA_SCIENCE_STACK)


@pytest.mark.parametrize("stack", STACKS)
def test_stages_grant_only_their_own_identities_on_the_registry(plans, stack):
    """Groups are the shared stack's to grant (RB-11); a stage's identities are its own (ID-5)."""
    rows = _registry_rows(plans[stack])
    assert rows
    assert all(row["principalType"] == "ServicePrincipal" and row["identity"] for row in rows), rows


@pytest.mark.parametrize("stack", STACKS)
def test_reader_assignments_keep_their_names(plans, stack):
    """RB-12 changes where the role's id comes from, not the assignment's name (plan-time strings,
    RB-6): a new name for the same (principal, role, scope) is created before the old one is deleted
    and fails with RoleAssignmentExists. The names still seed from the stage's own workload."""
    from mlinfra.access.grants import ASSIGNMENT_NAMESPACE
    from mlinfra.facts.registry_roles import reader_role
    from mlinfra.planner.stackfile import load_stack_config
    from tests.conftest import PROJECT_DIR

    values = load_stack_config(PROJECT_DIR, stack).values
    result = plans[stack]
    keys = {
        "deployment": result.outputs["deploymentIdentityName"],
        result.outputs["workspaceName"]: result.outputs["workspaceName"],
    }
    readers = [row for row in _registry_rows(result) if row["registryAccess"] == "read"]
    assert readers
    for row in readers:
        assignment = next(r for r in result.resources if r.urn == row["urn"])
        seed = "|".join(
            (
                values["azure-native:subscriptionId"],
                "registry",
                SHARED_STACKS[0],
                keys[row["identity"]],
                reader_role(values["mlinfra:workload"]).guid,
            )
        )
        assert assignment.inputs["roleAssignmentName"] == str(uuid.uuid5(ASSIGNMENT_NAMESPACE, seed))
        assert assignment.name.endswith(f"-azureml-registry-reader-{values['mlinfra:workload']}-registry")


def test_reader_role_has_no_write_action():
    assert not [action for action in READER_ACTIONS if not action.endswith("/read")]


def test_private_stage_gets_the_registry_outbound_rule(plans, shared_outputs):
    """A PrivateEndpoint outbound rule, sub-resource amlregistry (Microsoft Learn,
    how-to-registry-network-isolation; how-to-managed-network "private endpoint outbound rules")."""
    rules = [
        r for r in plans[PRODUCTION_STACK].of_type(OUTBOUND_RULE) if r.inputs["ruleName"] == "shared-registry"
    ]
    assert len(rules) == 1
    destination = rules[0].inputs["properties"]["destination"]
    assert destination == {
        "serviceResourceId": shared_outputs["registryId"],
        "sparkEnabled": False,
        "subresourceTarget": "amlregistry",
    }
    assert rules[0].inputs["properties"]["type"] == "PrivateEndpoint"


def test_every_managed_network_gets_the_registry_rule_and_its_approver(plans, shared_outputs):
    """Whatever the isolation mode (AllowInternetOutbound included: how-to-managed-network.md,
    "Regardless of the outbound mode ... traffic to Azure resources can be configured to use a
    private endpoint"), the managed network gets the rule, after the workspace's identity holds
    Azure AI Enterprise Network Connection Approver on the registry: "the workspace managed
    identity ... must have permissions to approve the Private Endpoint connections on the target
    resources. After April 30th, 2025, permissions aren't automatically granted"
    (MicrosoftDocs/azure-ai-docs articles/machine-learning/how-to-managed-network.md, "Approval of
    private endpoints"). The role holds registries/privateEndpointConnectionsApproval/action
    (mlinfra/facts/data/builtin_roles.json)."""
    approver = ROLES["Azure AI Enterprise Network Connection Approver"]
    for stack in (DATA_SCIENCE_STACK, PRODUCTION_STACK):
        rules = plans[stack].of_type(OUTBOUND_RULE)
        (rule,) = [r for r in rules if r.inputs["ruleName"] == "shared-registry"]
        (grant,) = [
            a
            for a in plans[stack].of_type("azure-native:authorization:RoleAssignment")
            if a.inputs["roleDefinitionId"].endswith(approver.guid)
            and a.inputs["scope"] == shared_outputs["registryId"]
        ]
        assert grant.inputs["roleDefinitionId"] == (
            f"/subscriptions/{shared_outputs['subscriptionId']}/providers/Microsoft.Authorization/"
            f"roleDefinitions/{approver.guid}"
        )
        assert grant.inputs["principalType"] == "ServicePrincipal"
        assert "on registryConnections " in grant.inputs["description"]
        assert grant.urn in rules[0].dependencies
        assert rule.inputs["properties"]["destination"]["serviceResourceId"] == shared_outputs["registryId"]


def test_a_stage_without_a_managed_network_gets_no_registry_rule():
    result = plan(DATA_SCIENCE_STACK, **{"mlinfra:workspace": {"isolationMode": "Disabled"}})
    assert not [r for r in result.of_type(OUTBOUND_RULE) if r.inputs["ruleName"] == "shared-registry"]


def test_fails_when_registry_access_has_no_stack():
    with pytest.raises(ConfigError, match=r"mlinfra:registry.stack: required with registry access"):
        plan(DATA_SCIENCE_STACK, **{"mlinfra:registry": {"deploymentIdentity": "publish"}})


def test_no_registry_section_means_no_reference():
    result = plan(DATA_SCIENCE_STACK, **{"mlinfra:registry": None})
    assert not result.of_type("pulumi:pulumi:StackReference")
    assert not _registry_rows(result)


def test_fails_when_a_stage_grants_a_persona_on_the_registry():
    """One group granted by two stages would be one role assignment with two owners (RB-11)."""
    with pytest.raises(
        ConfigError,
        match=r"mlinfra:registry: personas: a stage grants only its own identities on the shared registry; "
        r"groups are granted once, by the shared stack \(mlinfra:registry.personas in Pulumi.shared.yaml, RB-11\)",
    ):
        plan(
            PRODUCTION_STACK,
            **{
                "mlinfra:registry": {
                    "stack": "organization/mlinfra/shared",
                    "deploymentIdentity": "read",
                    "personas": {"mlEngineers": "read"},
                }
            },
        )


def test_the_planner_exits_2_when_a_stage_grants_a_persona_on_the_registry(tmp_path):
    """Bad input: exit 2 and one line naming both keys, before anything is planned."""
    import yaml

    from tests.conftest import PROJECT_DIR, planner_cli

    document = yaml.safe_load((PROJECT_DIR / f"Pulumi.{DATA_SCIENCE_STACK}.yaml").read_text())
    document["config"]["mlinfra:registry"]["personas"] = {"dataScientists": "read"}
    stack_file = tmp_path / f"Pulumi.{DATA_SCIENCE_STACK}.yaml"
    stack_file.write_text(yaml.safe_dump(document))
    completed = planner_cli("--stack", DATA_SCIENCE_STACK, "--config-file", str(stack_file))
    assert completed.returncode == 2
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1
    assert (
        "mlinfra:registry: personas:" in lines[0]
        and "mlinfra:registry.personas in Pulumi.shared.yaml" in lines[0]
    )


def test_fails_when_access_value_is_unknown():
    with pytest.raises(ConfigError, match=r'mlinfra:registry.deploymentIdentity: got "write"'):
        plan(
            DATA_SCIENCE_STACK,
            **{"mlinfra:registry": {"stack": "organization/mlinfra/shared", "deploymentIdentity": "write"}},
        )


def test_fails_when_referenced_stack_has_no_stack_file():
    from mlinfra.planner.stack_references import StackReferenceError

    with pytest.raises(StackReferenceError, match=r"no stack file Pulumi.elsewhere-shared.yaml"):
        plan(
            DATA_SCIENCE_STACK,
            **{
                "mlinfra:registry": {
                    "stack": "organization/mlinfra/elsewhere-shared",
                    "workspaceIdentity": True,
                }
            },
        )


def test_diff_says_grant_publish_on_registry():
    stack = first(PUBLISHING_STACKS)
    base = json.loads(to_json(plan(stack, **{"mlinfra:registry": None})))
    head = json.loads(to_json(plan(stack)))
    texts = [finding.text for finding in diff_plans(stack, base, head).findings]
    assert any(
        text.startswith("GRANT publish on registry shared to identity deployment") for text in texts
    ), texts
    assert not [text for text in texts if "persona" in text], texts


def test_diff_shows_a_stage_no_longer_granting_a_persona_on_the_registry(plans):
    """Before RB-11 a stage granted its personas on the registry; its next diff shows the removal.
    The base is this stage's plan plus the row such a grant had (the shared stack's own grant of
    the same persona, which has that shape)."""
    shared = json.loads(to_json(plan(SHARED_STACKS[0])))
    head = json.loads(to_json(plans[PRODUCTION_STACK]))
    granted = next(row for row in shared["access"] if row["persona"] == "mlEngineers")
    base = {**head, "access": [*head["access"], granted]}
    texts = [finding.text for finding in diff_plans(PRODUCTION_STACK, base, head).findings]
    assert [text for text in texts if text.startswith("REVOKE")] == [
        f"REVOKE read on registry shared from persona mlEngineers (Group {granted['principal']}) "
        f"({granted['role']})"
    ], texts


def _other_workload_plan(**registry):
    """The dev stack of examples/two-workloads (workload `fraud`), reading the project's shared registry."""
    from mlinfra.planner.recorder import main_program, record
    from mlinfra.planner.stackfile import StackConfig, load_stack_config
    from tests.conftest import PROJECT_DIR

    example = PROJECT_DIR / "examples" / "two-workloads"
    stack = next(
        path.name[len("Pulumi.") : -len(".yaml")]
        for path in sorted(example.glob("Pulumi.*.yaml"))
        if path.name.endswith(f"-{DATA_SCIENCE_STACK}.yaml")
    )
    config = load_stack_config(PROJECT_DIR, stack, example / f"Pulumi.{stack}.yaml")
    values = {**config.values, "mlinfra:registry": json.dumps(registry)}
    return record(main_program(PROJECT_DIR), StackConfig(config.project, stack, values, config.secret_keys))


def test_another_workload_assigns_the_reader_role_the_shared_stack_defines(shared_outputs):
    """The shared stack defines one custom reader role, for its own workload; a stage of another
    workload must assign that role, by the definition id the shared stack exports, not one derived
    from its own workload (which names no role definition at all: RoleDefinitionDoesNotExist).

    The id is `/subscriptions/<registry's subscription>/providers/Microsoft.Authorization/roleDefinitions/<guid>`:
    a role definition is a subscription-level resource usable in every subscription of the tenant
    within its assignableScopes (MicrosoftDocs/azure-docs articles/role-based-access-control/custom-roles.md,
    "Custom role properties"); an assignment on a resource names the role under that resource's
    subscription (Azure/azure-rest-api-specs specification/authorization/resource-manager/
    Microsoft.Authorization/stable/2022-04-01/examples/RoleAssignments_CreateForResource.json), and a
    custom role PUT at a resource group answers with that subscription-form id (same folder,
    examples/PutRoleDefinition.json)."""
    result = _other_workload_plan(
        stack="organization/mlinfra/shared", deploymentIdentity="read", workspaceIdentity=True
    )
    readers = [row for row in _registry_rows(result) if row["registryAccess"] == "read"]
    assert len(readers) == 2
    for row in readers:
        assignment = next(r for r in result.resources if r.urn == row["urn"])
        assert assignment.inputs["roleDefinitionId"] == shared_outputs["registryReaderRoleDefinitionId"]
        assert row["role"] == shared_outputs["registryReaderRoleName"]
    # The assignment sits in the registry's subscription, and so does the role definition id.
    assert shared_outputs["registryReaderRoleDefinitionId"].startswith(
        f"/subscriptions/{shared_outputs['subscriptionId']}/providers/Microsoft.Authorization/roleDefinitions/"
    )
    assert shared_outputs["registryId"].startswith(f"/subscriptions/{shared_outputs['subscriptionId']}/")


@pytest.mark.parametrize("stack", [f"organization/mlinfra/{STACKS[0]}", PRODUCTION_STACK])
def test_fails_when_the_registry_reference_is_a_stage_stack(stack):
    """The registry's outputs (registryId, registryReaderRoleDefinitionId, registryReaderRoleName,
    mlinfra/access/registry_access.py) exist only on the shared stack; a reference to a stage's stack
    failed with a KeyError for a missing output (exit 1), here and under `pulumi up`."""
    with pytest.raises(ConfigError, match=r"mlinfra:registry\.stack: got .*expected the shared stack"):
        plan(DATA_SCIENCE_STACK, **{"mlinfra:registry": {"stack": stack, "workspaceIdentity": True}})
