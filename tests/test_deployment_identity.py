"""DeploymentIdentity under the mock engine: both kinds, both credential modes."""

import datetime
import json

import pytest

from mlinfra.access.deployment_identity import DeploymentIdentity, DeploymentIdentityArgs
from mlinfra.settings.access_settings import CredentialMode, IdentityKind
from tests.conftest import OWNERS, PRODUCTION_STACK, STACKS, plan, run_program, setting, stacks_where

ENTRA_APPLICATION_STACKS = stacks_where(
    lambda stack: setting(stack, "deploymentIdentity", {}).get("kind") == "entra-application"
)

APP = "azuread:index/application:Application"
SP = "azuread:index/servicePrincipal:ServicePrincipal"
PASSWORD = "azuread:index/applicationPassword:ApplicationPassword"
UAMI = "azure-native:managedidentity:UserAssignedIdentity"
CREDENTIAL_TYPES = (
    PASSWORD,
    "azuread:index/servicePrincipalPassword:ServicePrincipalPassword",
    "azuread:index/applicationCertificate:ApplicationCertificate",
)


def build(**overrides):
    seen = {}

    def program():
        args = DeploymentIdentityArgs(
            display_name="id-churn-live-cicd-abcde",
            resource_group_name="rg-churn-live-weu",
            location="westeurope",
            tags={"stage": "live"},
            **{"owners": OWNERS, **overrides},
        )
        identity = DeploymentIdentity("live-deploy", args)
        seen["identity"] = identity

        async def observe():
            seen["ids"] = (await identity.client_id.future(), await identity.principal_id.future())
            if identity.client_secret is not None:
                seen["secret_is_secret"] = await identity.client_secret.is_secret()

        return observe()

    return run_program(program), seen


def test_entra_application_is_the_default_and_carries_no_credential():
    result, seen = build()
    app = result.one(APP)
    assert app.inputs["displayName"] == "id-churn-live-cicd-abcde"
    assert app.inputs["signInAudience"] == "AzureADMyOrg"
    assert app.inputs["owners"]  # the deployer stays owner (P17); the SP itself never is (ID-6)
    sp = result.one(SP)
    assert not [
        r for r in result.resources if r.type in CREDENTIAL_TYPES or "FederatedIdentityCredential" in r.type
    ]
    assert not result.of_type(UAMI)
    client_id, principal_id = seen["ids"]
    assert client_id == sp.inputs["clientId"] and principal_id  # principal = the SP's object id
    assert seen["identity"].client_secret is None


def test_service_principal_waits_for_its_application():
    result, _ = build()
    assert result.one(APP).urn in result.one(SP).dependencies


def test_managed_identity_kind_creates_a_user_assigned_identity_only():
    result, seen = build(kind=IdentityKind.MANAGED_IDENTITY)
    uami = result.one(UAMI)
    assert uami.inputs["resourceName"] == "id-churn-live-cicd-abcde"
    assert uami.inputs["resourceGroupName"] == "rg-churn-live-weu"
    assert uami.inputs["tags"] == {"stage": "live"}
    assert not result.of_type(APP) and not result.of_type(SP) and not result.of_type(PASSWORD)
    assert seen["identity"].application_id is None


def test_client_secret_mode_creates_a_password_with_the_expiry():
    expiry = datetime.date.today() + datetime.timedelta(days=180)
    result, seen = build(credential=CredentialMode.CLIENT_SECRET, client_secret_expiry=expiry)
    password = result.one(PASSWORD)
    assert password.inputs["endDate"] == f"{expiry.isoformat()}T00:00:00Z"
    assert password.inputs["applicationId"].startswith("/applications/")  # Application.id (P17)
    assert result.one(APP).urn in password.dependencies
    assert seen["secret_is_secret"] is True


def test_client_secret_never_reaches_plan_outputs():
    expiry = (datetime.date.today() + datetime.timedelta(days=90)).isoformat()
    result = plan(
        PRODUCTION_STACK,
        **{
            "mlinfra:deploymentIdentity": {
                "owners": OWNERS,
                "credential": "client-secret",
                "clientSecretExpiry": expiry,
            }
        },
    )
    assert result.of_type(PASSWORD)
    text = str(result.to_json())
    assert "placeholder-not-a-secret" not in text
    assert not any("secret" in name.lower() for name in result.outputs)


@pytest.mark.parametrize("stack", STACKS)
def test_no_credential_resource_without_client_secret(stack_plans, stack):
    assert not [r for r in stack_plans[stack].resources if r.type in CREDENTIAL_TYPES]


@pytest.mark.parametrize("stack", ENTRA_APPLICATION_STACKS)
def test_owners_are_the_configured_ones_never_the_caller(stack_plans, stack):
    """hashicorp/terraform-provider-azuread internal/services/applications/application_resource.go
    (v3.9.0) removes every owner not in config on update (`ownersForRemoval :=
    tf.Difference(existingOwners, desiredOwners)`), service_principal_resource.go likewise; with
    owners left out it removes the caller after creation (`removeCallerOwner`). So owners must be
    a stable, configured list: with the ambient caller, every run by another identity flips them."""
    from mlinfra.planner.stackfile import load_stack_config
    from tests.conftest import PROJECT_DIR

    configured = json.loads(load_stack_config(PROJECT_DIR, stack).values["mlinfra:deploymentIdentity"])[
        "owners"
    ]
    result = stack_plans[stack]
    assert result.one(APP).inputs["owners"] == configured
    assert result.one(SP).inputs["owners"] == configured
    assert not [lookup for lookup in result.lookups if lookup["token"].startswith("azuread:")]


def test_an_entra_application_without_owners_is_refused_by_the_component():
    with pytest.raises(Exception, match="needs owners"):
        build(owners=())
