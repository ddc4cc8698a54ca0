"""StageAccess under the mock engine: one assignment per (principal, role, scope), nothing else."""

import pulumi

from mlinfra.access.access import StageAccess, StageAccessArgs
from mlinfra.access.grants import HolderKind, Principal, PrincipalType, Scope
from mlinfra.settings.access_settings import Persona, ScopedRoles
from tests.conftest import run_program

SUB = "00000000-0000-0000-0000-000000000012"
RG = f"/subscriptions/{SUB}/resourceGroups/rg-churn-dev-weu"
SCOPES = {
    "resourceGroup": Scope("resourceGroup", "rg-churn-dev-weu", RG),
    "workspace": Scope(
        "workspace", "mlw-churn-dev-weu", f"{RG}/providers/Microsoft.MachineLearningServices/workspaces/mlw"
    ),
    "storageAccount": Scope("storageAccount", "st", f"{RG}/providers/Microsoft.Storage/storageAccounts/st"),
    "keyVault": Scope("keyVault", "kv", f"{RG}/providers/Microsoft.KeyVault/vaults/kv"),
    "containerRegistry": Scope(
        "containerRegistry", "cr", f"{RG}/providers/Microsoft.ContainerRegistry/registries/cr"
    ),
}
DS = "00000000-0000-0000-0000-000000000007"
SP_OBJECT = "11111111-2222-3333-4444-555555555555"


def build(personas, identity_roles):
    def program():
        StageAccess(
            "dev-access",
            StageAccessArgs(
                subscription_id=SUB,
                scopes=SCOPES,
                personas=personas,
                identity=Principal(
                    key="id-x",
                    object_id=pulumi.Output.from_input(SP_OBJECT),
                    type=PrincipalType.SERVICE_PRINCIPAL,
                    holder=HolderKind.IDENTITY,
                    label="deployment",
                ),
                identity_roles=identity_roles,
            ),
        )

    return run_program(program).of_type("azure-native:authorization:RoleAssignment")


def test_every_listed_role_becomes_exactly_one_assignment_on_its_scope():
    personas = {
        "dataScientists": Persona(
            group_object_id=DS,
            roles=ScopedRoles(
                workspace=["AzureML Data Scientist", "AzureML Compute Operator"],
                key_vault=["Key Vault Secrets User"],
            ),
        )
    }
    assignments = build(personas, ScopedRoles(container_registry=["AcrPush"]))
    triples = sorted(
        (a.inputs["principalId"], a.inputs["roleDefinitionId"].rsplit("/", 1)[1], a.inputs["scope"])
        for a in assignments
    )
    assert triples == sorted(
        [
            (DS, "f6c7c914-8db3-469d-8ca1-694a8f32e121", SCOPES["workspace"].id),
            (DS, "e503ece1-11d0-4e8e-8e2c-7a6c3bf38815", SCOPES["workspace"].id),
            (DS, "4633458b-17de-408a-b874-0445c86b69e6", SCOPES["keyVault"].id),
            (SP_OBJECT, "8311e382-0749-4cb8-b61a-304f252e45ec", SCOPES["containerRegistry"].id),
        ]
    )


def test_groups_are_groups_and_identities_service_principals():
    personas = {"mlEngineers": Persona(group_object_id=DS, roles=ScopedRoles(resource_group=["Reader"]))}
    types = {
        a.inputs["principalId"]: a.inputs["principalType"]
        for a in build(personas, ScopedRoles(workspace=["Reader"]))
    }
    assert types == {DS: "Group", SP_OBJECT: "ServicePrincipal"}


def test_no_roles_means_no_assignments():
    assert build({"mlEngineers": Persona(group_object_id=DS)}, ScopedRoles()) == []


def test_assignments_are_children_of_the_component():
    assignments = build({}, ScopedRoles(workspace=["Reader"]))
    assert [a.parent.rsplit("::", 1)[1] for a in assignments] == ["dev-access"]
