"""Refusals of the persona matrix and of the deployment identity settings (issue: identity and access).

Each refusal stops the program before any resource is registered, with one line naming the key.
"""

import datetime
import json

import pytest

from mlinfra.config.config_error import ConfigError
from tests.conftest import (
    DATA_SCIENCE_STACK,
    NON_PRODUCTION_STACK,
    OWNERS,
    PRODUCTION_STACKS,
    STACKS,
    first,
    plan,
    problem_lines,
    setting,
    stacks_where,
    stage_of,
)

DS = "00000000-0000-0000-0000-000000000007"
MLE = "00000000-0000-0000-0000-000000000014"
ENGINEERS = {"groupObjectId": MLE, "roles": {"resourceGroup": ["Reader"]}}
OUTSIDE_DATA_SCIENCE = tuple(stack for stack in STACKS if not stage_of(stack).data_science)
"""Stages where data scientists get no access by default (RB-7)."""
KEYLESS_STACKS = stacks_where(
    lambda stack: setting(stack, "storage", {}).get("sharedKeyAccessEnabled") is False
)
KEYED_STACKS = stacks_where(lambda stack: setting(stack, "storage", {}).get("sharedKeyAccessEnabled") is True)
ANY_STACK = NON_PRODUCTION_STACK
"""For rules every stage keeps alike (role catalog, identity settings): the least constrained stage."""


def refused(stack: str, **overrides) -> str:
    with pytest.raises(ConfigError) as error:
        plan(stack, **overrides)
    message = str(error.value)
    return problem_lines(message)


@pytest.mark.parametrize("stack", OUTSIDE_DATA_SCIENCE)
def test_fails_when_data_scientists_get_a_role_outside_dev(stack):
    personas = {
        "dataScientists": {"groupObjectId": DS, "roles": {"workspace": ["AzureML Data Scientist"]}},
        "mlEngineers": ENGINEERS,
    }
    message = refused(stack, **{"mlinfra:personas": personas})
    assert (
        "mlinfra:personas.dataScientists.roles" in message
        and "RB-7" in message
        and "outsideDevReason" in message
    )


def test_data_scientists_outside_dev_with_a_reason_are_granted():
    personas = {
        "dataScientists": {
            "groupObjectId": DS,
            "roles": {
                "workspace": ["AzureML Data Scientist"],
                "storageAccount": ["Storage Blob Data Reader", "Storage File Data Privileged Reader"],
            },
            "outsideDevReason": "model validation sign-off, ticket ML-1234",
        },
        "mlEngineers": ENGINEERS,
    }
    result = plan(first(OUTSIDE_DATA_SCIENCE), **{"mlinfra:personas": personas})
    principals = {
        r.inputs["principalId"] for r in result.of_type("azure-native:authorization:RoleAssignment")
    }
    assert DS in principals


def test_fails_when_the_reason_is_too_short():
    personas = {
        "dataScientists": {"groupObjectId": DS, "outsideDevReason": "because"},
        "mlEngineers": ENGINEERS,
    }
    assert "mlinfra:personas.dataScientists.outsideDevReason" in refused(
        first(OUTSIDE_DATA_SCIENCE), **{"mlinfra:personas": personas}
    )


def test_fails_when_a_reason_is_given_in_a_data_science_stage():
    personas = {"dataScientists": {"groupObjectId": DS, "outsideDevReason": "not needed here at all"}}
    message = refused(DATA_SCIENCE_STACK, **{"mlinfra:personas": personas})
    assert "outsideDevReason: only meaningful outside the data-science stages" in message


def test_data_scientists_declared_without_roles_outside_dev_are_allowed():
    personas = {"dataScientists": {"groupObjectId": DS}, "mlEngineers": ENGINEERS}
    result = plan(first(OUTSIDE_DATA_SCIENCE), **{"mlinfra:personas": personas})
    assert DS not in {
        r.inputs["principalId"] for r in result.of_type("azure-native:authorization:RoleAssignment")
    }


@pytest.mark.parametrize(
    "role", ["Owner", "User Access Administrator", "Role Based Access Control Administrator"]
)
def test_fails_when_a_role_that_grants_access_is_given(role):
    personas = {"mlEngineers": {"groupObjectId": MLE, "roles": {"resourceGroup": [role]}}}
    message = refused(ANY_STACK, **{"mlinfra:personas": personas})
    assert f'mlinfra:personas.mlEngineers.roles.resourceGroup: got "{role}"' in message and "RB-1" in message


def test_fails_when_the_deployment_identity_gets_owner():
    message = refused(
        ANY_STACK, **{"mlinfra:deploymentIdentity": {"owners": OWNERS, "roles": {"resourceGroup": ["Owner"]}}}
    )
    assert 'mlinfra:deploymentIdentity.roles.resourceGroup: got "Owner"' in message


@pytest.mark.parametrize("role", ["Contributor", "Key Vault Administrator", "Azure AI Administrator"])
def test_fails_when_a_human_group_gets_a_privileged_role(role):
    personas = {"mlEngineers": {"groupObjectId": MLE, "roles": {"workspace": [role]}}}
    message = refused(ANY_STACK, **{"mlinfra:personas": personas})
    assert f'mlinfra:personas.mlEngineers.roles.workspace: got "{role}"' in message


def test_the_deployment_identity_may_hold_contributor_on_the_resource_group():
    result = plan(
        ANY_STACK,
        **{"mlinfra:deploymentIdentity": {"owners": OWNERS, "roles": {"resourceGroup": ["Contributor"]}}},
    )
    assignments = result.of_type("azure-native:authorization:RoleAssignment")
    assert any(
        r.inputs["roleDefinitionId"].endswith("b24988ac-6180-42a0-ab88-20f7382dd24c")
        and r.inputs["principalType"] == "ServicePrincipal"
        for r in assignments
    )


def test_fails_when_one_group_is_listed_under_two_personas():
    personas = {"dataScientists": {"groupObjectId": DS}, "mlEngineers": {"groupObjectId": DS.upper()}}
    message = refused(ANY_STACK, **{"mlinfra:personas": personas})
    assert "mlinfra:personas.mlEngineers.groupObjectId" in message and "dataScientists" in message


@pytest.mark.parametrize("group", ["not-a-guid", "", "3c9e2a71-5f4b-4d8e-a6c2-8b1f0e9d7a5"])
def test_fails_when_a_group_id_is_not_a_guid(group):
    message = refused(ANY_STACK, **{"mlinfra:personas": {"mlEngineers": {"groupObjectId": group}}})
    assert f'mlinfra:personas.mlEngineers.groupObjectId: got "{group}"; expected a GUID' in message


def test_fails_when_a_persona_has_no_group():
    message = refused(ANY_STACK, **{"mlinfra:personas": {"mlEngineers": {"roles": {}}}})
    assert "mlinfra:personas.mlEngineers.groupObjectId: required but not set" in message


def test_fails_when_a_role_is_not_in_the_catalog():
    message = refused(
        ANY_STACK,
        **{
            "mlinfra:personas": {
                "mlEngineers": {"groupObjectId": MLE, "roles": {"workspace": ["Data Wizard"]}}
            }
        },
    )
    assert (
        'mlinfra:personas.mlEngineers.roles.workspace.0: got "Data Wizard"; expected a built-in role of the catalog'
        in message
    )


def test_fails_when_a_role_is_listed_twice_for_one_scope():
    roles = {"workspace": ["Reader", "Reader"]}
    message = refused(
        ANY_STACK, **{"mlinfra:personas": {"mlEngineers": {"groupObjectId": MLE, "roles": roles}}}
    )
    assert "mlinfra:personas.mlEngineers.roles.workspace" in message and "Reader is listed twice" in message


def test_fails_when_a_scope_is_unknown():
    roles = {"subscription": ["Reader"]}
    message = refused(
        ANY_STACK, **{"mlinfra:personas": {"mlEngineers": {"groupObjectId": MLE, "roles": roles}}}
    )
    assert (
        "mlinfra:personas.mlEngineers.roles.subscription: unknown key; allowed keys: resourceGroup, workspace"
        in message
    )


def test_fails_when_a_persona_name_is_not_camel_case():
    message = refused(ANY_STACK, **{"mlinfra:personas": {"ML Engineers": {"groupObjectId": MLE}}})
    assert "mlinfra:personas.ML Engineers" in message


@pytest.mark.parametrize("stack", PRODUCTION_STACKS)
def test_fails_when_ml_engineers_are_missing_where_they_operate(stack):
    message = refused(stack, **{"mlinfra:personas": {}})
    assert "mlinfra:personas.mlEngineers: required in" in message and "T-21" in message


def test_fails_when_client_secret_is_asked_of_a_managed_identity():
    identity = {"kind": "managed-identity", "credential": "client-secret", "clientSecretExpiry": "2027-01-01"}
    message = refused(ANY_STACK, **{"mlinfra:deploymentIdentity": identity})
    assert "mlinfra:deploymentIdentity.credential: got 'client-secret'" in message


def test_fails_when_client_secret_has_no_expiry():
    message = refused(
        ANY_STACK, **{"mlinfra:deploymentIdentity": {"owners": OWNERS, "credential": "client-secret"}}
    )
    assert (
        "mlinfra:deploymentIdentity.clientSecretExpiry: required with credential 'client-secret'" in message
    )


@pytest.mark.parametrize("days", [0, -1, 731])
def test_fails_when_client_secret_expiry_is_out_of_range(days):
    expiry = (datetime.date.today() + datetime.timedelta(days=days)).isoformat()
    identity = {"owners": OWNERS, "credential": "client-secret", "clientSecretExpiry": expiry}
    message = refused(ANY_STACK, **{"mlinfra:deploymentIdentity": identity})
    assert f'mlinfra:deploymentIdentity.clientSecretExpiry: got "{expiry}"' in message


def test_fails_when_client_secret_expiry_is_not_a_date():
    identity = {"owners": OWNERS, "credential": "client-secret", "clientSecretExpiry": "next year"}
    assert 'mlinfra:deploymentIdentity.clientSecretExpiry: got "next year"' in refused(
        ANY_STACK, **{"mlinfra:deploymentIdentity": identity}
    )


def test_fails_when_an_expiry_is_set_for_federated_credentials():
    identity = {"owners": OWNERS, "credential": "federated", "clientSecretExpiry": "2027-01-01"}
    assert "clientSecretExpiry: set without credential 'client-secret'" in refused(
        ANY_STACK, **{"mlinfra:deploymentIdentity": identity}
    )


@pytest.mark.parametrize("key,value", [("kind", "service-principal"), ("credential", "certificate")])
def test_fails_when_an_identity_setting_is_unknown(key, value):
    message = refused(ANY_STACK, **{"mlinfra:deploymentIdentity": {key: value}})
    assert f'mlinfra:deploymentIdentity.{key}: got "{value}"' in message


def test_fails_when_an_entra_application_has_no_owners():
    message = refused(ANY_STACK, **{"mlinfra:deploymentIdentity": {"kind": "entra-application"}})
    assert "mlinfra:deploymentIdentity.owners: required with kind 'entra-application'" in message


@pytest.mark.parametrize(
    "owners,expected",
    [
        ([], "expected at least one object id"),
        (["not-a-guid"], "expected a GUID"),
        ([OWNERS[0], OWNERS[0].upper()], "listed twice"),
        ("00000000-0000-0000-0000-000000000016", "valid list"),
    ],
)
def test_fails_when_owners_are_not_distinct_object_ids(owners, expected):
    message = refused(ANY_STACK, **{"mlinfra:deploymentIdentity": {"owners": owners}})
    assert "mlinfra:deploymentIdentity.owners" in message and expected in message


def test_fails_when_a_managed_identity_is_given_owners():
    identity = {"kind": "managed-identity", "owners": OWNERS}
    message = refused(ANY_STACK, **{"mlinfra:deploymentIdentity": identity})
    assert "mlinfra:deploymentIdentity.owners: a managed-identity has no owners; remove it" in message


KEYLESS = {"sharedKeyAccessEnabled": False}


@pytest.mark.parametrize(
    "storage_roles,missing",
    [
        ([], "add Storage Blob Data Contributor or Storage Blob Data Reader"),
        (
            ["Storage Blob Data Reader"],
            "add Storage File Data Privileged Contributor or Storage File Data Privileged Reader",
        ),
        (
            ["Storage File Data Privileged Reader"],
            "add Storage Blob Data Contributor or Storage Blob Data Reader",
        ),
    ],
)
def test_fails_when_a_workspace_persona_lacks_data_roles_on_keyless_storage(storage_roles, missing):
    """MicrosoftDocs/azure-ai-docs articles/machine-learning/how-to-disable-local-auth-storage.md:
    users of a workspace whose storage has shared keys disabled need Storage Blob Data Contributor
    (or Reader) and Storage File Data Privileged Contributor (or Reader)."""
    personas = {
        "mlEngineers": {
            "groupObjectId": MLE,
            "roles": {"workspace": ["AzureML Data Scientist"], "storageAccount": storage_roles},
        }
    }
    message = refused(first(KEYLESS_STACKS), **{"mlinfra:personas": personas})
    assert f"mlinfra:personas.mlEngineers.roles.storageAccount: got {json.dumps(storage_roles)}" in message
    assert missing in message


def test_data_roles_on_the_resource_group_count_and_keyed_storage_needs_none():
    personas = {
        "mlEngineers": {
            "groupObjectId": MLE,
            "roles": {
                "workspace": ["AzureML Data Scientist"],
                "resourceGroup": ["Storage Blob Data Reader", "Storage File Data Privileged Reader"],
            },
        }
    }
    assert plan(first(KEYLESS_STACKS), **{"mlinfra:personas": personas}).of_type(
        "azure-native:authorization:RoleAssignment"
    )
    keyed = {"mlEngineers": {"groupObjectId": MLE, "roles": {"workspace": ["AzureML Data Scientist"]}}}
    # The stack's registry section may name dataScientists, which this override drops.
    assert plan(first(KEYED_STACKS), **{"mlinfra:personas": keyed, "mlinfra:registry": None}).of_type(
        "azure-native:authorization:RoleAssignment"
    )
