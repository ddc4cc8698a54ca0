"""Federated credential names and their replacement: create-only names that every provider accepts."""

import pytest

from mlinfra.config.config_error import ConfigError
from mlinfra.config.rules import consistency as config_module
from mlinfra.facts.credential_names import (
    MAX_LENGTH,
    NAME_PATTERN,
    azure_devops_credential_name,
    credential_name,
    github_credential_name,
)
from mlinfra.planner.recorder import plan_stack
from tests.conftest import (
    OWNERS,
    PRIVATE_STACKS,
    PRODUCTION_STACK,
    PROJECT_DIR,
    first,
    plan,
    problem_lines,
    with_catalog_stage,
)

APP_FIC = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
UAMI_FIC = "azure-native:managedidentity:FederatedIdentityCredential"
BOTH = PROJECT_DIR / "examples/both-platforms/Pulumi.prod.yaml"
ADO = {
    "organizationUrl": "https://dev.azure.com/contoso",
    "project": "ML.Platform (EU) !Zürich 数据",  # every character Azure DevOps allows in a project name
    "serviceConnectionName": "spn (prod) @ Straße.eu",
    "approvers": ["ML Engineers"],
}


def identity_of(kind: str) -> dict:
    return {"kind": kind, **({"owners": OWNERS} if kind == "entra-application" else {})}


@pytest.mark.parametrize(
    "parts",
    [
        ("ado", "ML.Platform", "spn-prod"),
        ("ado", "ML Platform (EU)", "spn (prod)"),
        ("ado", "team@contoso", "conn.name"),
        ("ado", "Zürich Données", "spn-é"),
        ("ado", "数据平台", "连接"),
        ("ado", "-.-", "__x__"),
        ("github", "o" * 39, "r" * 100, "live"),
        ("ado", "p" * 64, "c" * 80),
    ],
)
def test_every_name_matches_arm_and_entra_rules(parts):
    """ARM: `^[a-zA-Z0-9]{1}[a-zA-Z0-9-_]{2,119}$` (Azure/azure-rest-api-specs
    specification/msi/resource-manager/Microsoft.ManagedIdentity/stable/2023-01-31/ManagedIdentity.json,
    FederatedIdentityCredentialResourceNameParameter). Entra: at most 120 characters, URL friendly
    (Microsoft Graph federatedIdentityCredential resource; hashicorp/terraform-provider-azuread
    application_federated_identity_credential_resource.go `display_name` StringLenBetween(1, 120))."""
    name = credential_name(*parts)
    assert NAME_PATTERN.fullmatch(name), name
    assert len(name) <= MAX_LENGTH
    assert credential_name(*parts) == name  # deterministic


def test_disallowed_characters_become_single_dashes_and_accents_are_dropped():
    assert azure_devops_credential_name("ML.Platform (EU)", "spn@prod") == "ado-ML-Platform-EU-spn-prod"
    assert azure_devops_credential_name("Zürich", "é 数据") == "ado-Zurich-e"
    assert github_credential_name("contoso", "churn.mlops", "live") == "github-contoso-churn-mlops-live"


def test_long_names_stay_distinct_after_truncation():
    first = azure_devops_credential_name("p" * 64, "c" * 79 + "1")
    second = azure_devops_credential_name("p" * 64, "c" * 79 + "2")
    assert len(first) == len(second) == MAX_LENGTH and first != second


@pytest.mark.parametrize("kind", ["entra-application", "managed-identity"])
def test_planned_credentials_of_odd_azure_devops_names_are_valid(kind):
    """The names actually sent, for both identity kinds (same sources as above)."""
    result = plan(
        first(PRIVATE_STACKS),  # a private stage: its CI names a runner group
        **{
            "mlinfra:deploymentIdentity": identity_of(kind),
            "mlinfra:ci": {"platform": "azure-devops", "runnerGroup": "ml-private-prod", "azureDevOps": ADO},
        },
    )
    if kind == "managed-identity":
        name = result.one(UAMI_FIC).inputs["federatedIdentityCredentialResourceName"]
    else:
        name = result.one(APP_FIC).inputs["displayName"]
    assert NAME_PATTERN.fullmatch(name), name
    assert name == "ado-ML-Platform-EU-Zurich-spn-prod-Strae-eu"


@with_catalog_stage("prod")  # examples/both-platforms/Pulumi.prod.yaml is a stack file of stage prod
def test_fails_when_two_credential_names_collide_after_sanitizing(monkeypatch):
    # Today's prefixes (`github-`, `ado-`) keep a stage's two names apart, so force the GitHub name
    # onto the Azure DevOps one to show the check is wired into config validation.
    monkeypatch.setattr(
        config_module,
        "github_credential_name",
        lambda *_: azure_devops_credential_name("churn-mlops", "spn-aml-workspace-prod").upper(),
    )
    with pytest.raises(ConfigError) as error:
        plan_stack(PROJECT_DIR, "prod", BOTH)
    message = str(error.value)
    problem_lines(message)
    assert "mlinfra:ci.azureDevOps.serviceConnectionName: its federated credential name" in message
    assert "ci.github.repository" in message


@pytest.mark.parametrize("kind", ["entra-application", "managed-identity"])
def test_credentials_are_deleted_before_they_are_replaced(kind):
    """The name is create-only (`display_name` ForceNew in hashicorp/terraform-provider-azuread
    internal/services/applications/application_federated_identity_credential_resource.go; the ARM
    name is part of the id) and "the combination of the values of issuer and subject must be unique
    on the app" (same file). Pulumi creates a replacement before deleting the old one unless
    `deleteBeforeReplace` is set, and pulumi-azuread sets no such default for this resource
    (pulumi/pulumi-azuread provider/resources.go), so the program must ask for it."""
    planned = plan(PRODUCTION_STACK, **{"mlinfra:deploymentIdentity": identity_of(kind)})
    credentials = {
        r.name: r.delete_before_replace for r in planned.resources if r.type in (APP_FIC, UAMI_FIC)
    }
    assert credentials and all(credentials.values()), credentials
