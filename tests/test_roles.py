"""The role catalog: GUIDs equal the hand-copied built-in role table (T-55), ids have the ARM form."""

import re

import pytest

from mlinfra.facts.roles import ROLES, role_from_definition_id

# docs/security-model.md section M (Microsoft's built-in roles), copied by hand so a typo in
# either place fails.
REFERENCE_GUIDS = {
    "AzureML Data Scientist": "f6c7c914-8db3-469d-8ca1-694a8f32e121",
    "AzureML Compute Operator": "e503ece1-11d0-4e8e-8e2c-7a6c3bf38815",
    "AzureML Registry User": "1823dd4f-9b8c-4ab6-ab4e-7397a3684615",
    "AzureML Metrics Writer (preview)": "635dd51f-9968-44d3-b7fb-6d9a6bd613ae",
    "Azure Machine Learning Workspace Connection Secrets Reader": "ea01e6af-a1c1-4350-9563-ad00f8c72ec5",
    "Azure AI Administrator": "b78c5d69-af96-48a3-bf8d-a8b4d589de94",
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "User Access Administrator": "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
    "Role Based Access Control Administrator": "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    "Storage File Data Privileged Contributor": "69566ab7-960f-475b-8e7c-b3118f30c6bd",
    # MicrosoftDocs/azure-docs articles/role-based-access-control/built-in-roles.md (storage table).
    "Storage File Data Privileged Reader": "b8eda974-7b85-4f76-af95-65846b26df6d",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Key Vault Secrets Officer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
    "Key Vault Crypto Service Encryption User": "e147488a-f6f5-4113-8e2d-b22465e65bf6",
    "Key Vault Administrator": "00482a5a-887f-4fb3-b363-3b7fe8e74483",
    "AcrPull": "7f951dda-4ed3-4680-a7ca-43fe172d538d",
    "AcrPush": "8311e382-0749-4cb8-b61a-304f252e45ec",
    "Managed Identity Operator": "f1a07417-d97a-45cb-824c-7a7467783830",
    # MicrosoftDocs/azure-docs articles/role-based-access-control/built-in-roles/ai-machine-learning.md.
    "Azure AI Enterprise Network Connection Approver": "b556d68e-0be0-4f35-a333-ad7ee1ce17ea",
}


def test_catalog_guids_equal_the_reference_table():
    assert {name: role.guid for name, role in ROLES.items()} == REFERENCE_GUIDS


def test_guids_are_lowercase_and_unique():
    guids = [role.guid for role in ROLES.values()]
    assert len(set(guids)) == len(guids)
    assert all(re.fullmatch(r"[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}", guid) for guid in guids)


def test_definition_id_has_the_subscription_form():
    sub = "00000000-0000-0000-0000-000000000012"
    assert ROLES["AcrPull"].definition_id(sub) == (
        f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d"
    )


@pytest.mark.parametrize(
    "name", ["Owner", "User Access Administrator", "Role Based Access Control Administrator"]
)
def test_roles_that_grant_access_are_marked_escalating(name):
    assert ROLES[name].escalates and ROLES[name].privileged


def test_data_roles_are_not_privileged():
    for name in ("AzureML Data Scientist", "Reader", "Storage Blob Data Reader", "AcrPull"):
        assert not ROLES[name].privileged


def test_role_from_definition_id_reads_the_guid_back():
    role = ROLES["Reader"]
    assert role_from_definition_id(role.definition_id("x")) is role
    assert role_from_definition_id(role.definition_id("x").upper()) is role
    assert (
        role_from_definition_id("/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/nope")
        is None
    )
