"""Bootstrap's Azure DevOps side (review-3-identity-ci R7, issue 27): everything the infra
pipelines (azure-pipelines.yml, azure-pipelines-drift.yml) use before their first run is created
by bootstrap, named exactly as those files name it, or declared in prerequisites.yaml."""

import re
import shutil

import pytest
import yaml

from bootstrap.stack_facts import project_stacks
from mlinfra.config.config_error import ConfigError
from tests.test_bootstrap import NS, PROJECT_DIR, bootstrap_plan

ENVIRONMENT = "azuredevops:index/environment:Environment"
CONNECTION = "azuredevops:index/serviceEndpointAzureRM:ServiceEndpointAzureRM"


@pytest.fixture(scope="module")
def platform():
    return bootstrap_plan()


def named(plan, kind: str, key: str) -> dict:
    return {r.inputs[key]: r for r in plan.of_type(kind)}


def test_every_stack_has_its_environment_and_connection(platform):
    """The names templates/pulumi-up.yml uses (`environment: infra-<stage>`, `azureSubscription:
    spn-mlinfra-<stage>`, `group: infra-<stage>`); each connection is manual workload identity
    federation for that stack's deployer (ADO-1), trusted through the connection's own issuer and
    subject outputs (P16)."""
    template = (PROJECT_DIR / "templates" / "pulumi-up.yml").read_text()
    for expected in (
        "environment: infra-${{ parameters.stage }}",
        "azureSubscription: spn-mlinfra-${{ parameters.stage }}",
        "group: infra-${{ parameters.stage }}",
    ):
        assert expected in template
    environments = named(platform, ENVIRONMENT, "name")
    connections = named(platform, CONNECTION, "serviceEndpointName")
    groups = named(platform, "azuredevops:index/variableGroup:VariableGroup", "name")
    clients = platform.outputs["deployerClientIds"]
    for stack in project_stacks(PROJECT_DIR):
        assert f"infra-{stack}" in environments, stack
        connection = connections[f"spn-mlinfra-{stack}"].inputs
        assert connection["serviceEndpointAuthenticationScheme"] == "WorkloadIdentityFederation"
        assert connection["credentials"]["serviceprincipalid"] == clients[stack]
        variables = {v["name"] for v in groups[f"infra-{stack}"].inputs["variables"]}
        assert variables == {"PULUMI_BACKEND_URL", "PULUMI_SECRETS_PROVIDER"}
        assert groups[f"infra-{stack}"].inputs["allowAccess"] is False  # ADO-2


def test_preview_connection_has_no_environment(platform):
    """azure-pipelines-drift.yml uses `spn-mlinfra-preview` and the variable group
    `infra-preview`; drift deploys nothing, so there is no environment (and no lock: its matrix
    refreshes every stack at once)."""
    drift = yaml.safe_load((PROJECT_DIR / "azure-pipelines-drift.yml").read_text())
    assert {"group": "infra-preview"} in drift["variables"]
    assert "azureSubscription: spn-mlinfra-preview" in (PROJECT_DIR / "azure-pipelines-drift.yml").read_text()
    connection = named(platform, CONNECTION, "serviceEndpointName")["spn-mlinfra-preview"]
    assert connection.inputs["credentials"]["serviceprincipalid"] == platform.outputs["previewClientId"]
    assert "infra-preview" not in named(platform, ENVIRONMENT, "name")
    locks = [
        r
        for r in platform.of_type("azuredevops:index/checkExclusiveLock:CheckExclusiveLock")
        if "-preview-" in r.name
    ]
    assert not locks


def test_only_the_listed_pipelines_are_authorized(platform):
    """ADO-2: each pipeline by id on the environment, the connection and the variable group."""
    authorized = platform.of_type("azuredevops:index/pipelineAuthorization:PipelineAuthorization")
    assert authorized and {r.inputs["pipelineId"] for r in authorized} == {1, 2}
    assert {r.inputs["type"] for r in authorized} == {"environment", "endpoint", "variablegroup"}


def test_connections_and_environments_carry_approvals(platform):
    """ADO-3: approvals and branch control on both the environment and the service connection, so
    that the identity can't be used by a pipeline that skips the environment."""
    approvals = platform.of_type("azuredevops:index/checkApproval:CheckApproval")
    targets = {(r.name.split("-")[3], r.inputs["targetResourceType"]) for r in approvals}
    for stack in project_stacks(PROJECT_DIR):
        key = stack.split("-")[0]
        assert (key, "environment") in targets and (key, "endpoint") in targets, stack
    assert all(r.inputs["requesterCanApprove"] is False for r in approvals)


def test_without_azure_devops_nothing_of_it_is_created():
    plan = bootstrap_plan(**{f"{NS}:azureDevOps": None})
    assert not [
        r for r in plan.resources if r.type.startswith(("azuredevops:", "pulumi:providers:azuredevops"))
    ]


def test_the_infra_pipelines_names_are_fixed():
    with pytest.raises(ConfigError) as error:
        bootstrap_plan(
            **{
                f"{NS}:azureDevOps": {
                    "organizationUrl": "https://dev.azure.com/contoso",
                    "project": "mlinfra",
                    "serviceConnectionName": "mine",
                }
            }
        )
    assert re.search(
        r"azureDevOps: .*serviceConnectionName: the infra pipelines name theirs", str(error.value)
    )


def _with_ado_stage(tmp_path, monkeypatch):
    import bootstrap.settings

    for path in PROJECT_DIR.glob("Pulumi*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    (example,) = (PROJECT_DIR / "examples" / "azure-devops").glob("Pulumi.*.yaml")
    shutil.copy(example, tmp_path / example.name)  # the example's stage replaces the shipped one
    monkeypatch.setattr(bootstrap.settings, "STAGE_PROJECT_DIR", tmp_path)
    return example.name.removeprefix("Pulumi.").removesuffix(".yaml")


def test_a_stage_deployed_from_azure_devops_is_entitled_there(tmp_path, monkeypatch):
    """R7: the azuredevops provider of the stage's `pulumi up` authenticates as the stage's
    deployer, which must be a member of the organization: a ServicePrincipalEntitlement by the
    identity's object id (pulumi_azuredevops ServicePrincipalEntitlement: origin_id, "The Object
    ID of the service principal in Entra ID")."""
    stage = _with_ado_stage(tmp_path, monkeypatch)
    plan = bootstrap_plan()
    (entitlement,) = plan.of_type("azuredevops:index/servicePrincipalEntitlement:ServicePrincipalEntitlement")
    assert f"-{stage}-" in entitlement.name
    assert entitlement.inputs["origin"] == "aad" and entitlement.inputs["accountLicenseType"] == "express"


def test_a_stage_in_another_organization_is_refused(tmp_path, monkeypatch):
    stage = _with_ado_stage(tmp_path, monkeypatch)
    with pytest.raises(ConfigError) as error:
        bootstrap_plan(
            **{f"{NS}:azureDevOps": {"organizationUrl": "https://dev.azure.com/fabrikam", "project": "x"}}
        )
    message = str(error.value)
    assert (
        f'{NS}:azureDevOps.organizationUrl: got "https://dev.azure.com/fabrikam"; stage {stage} runs its pipelines in https://dev.azure.com/contoso'
        in message
    )


def test_what_bootstrap_cannot_create_is_declared():
    """The pipeline definitions and their secret variables are made by hand: declared, so the
    README's steps and `todo` list them (issue 26: no prose-only step)."""
    declared = {
        entry["id"]
        for entry in yaml.safe_load((PROJECT_DIR / "prerequisites.yaml").read_text())["prerequisites"]
    }
    assert {
        "azure-devops-pipelines",
        "azure-devops-github-tokens",
        "azure-devops-deployer-permissions",
    } <= declared


def test_the_verifier_binds_each_connection_to_its_identity():
    """mlinfra/estate/identities.py: an Azure DevOps job signs in as the identity its service
    connection federates with (the connection's service principal), so the verifier checks the
    rights of Azure DevOps runs as it does GitHub's."""
    from mlinfra.estate import model

    estate = model.build(PROJECT_DIR)
    assert estate.bootstrap is not None
    bound = {
        env: identity.id for identity in estate.bootstrap.identities.values() for env in identity.environments
    }
    for stack in project_stacks(PROJECT_DIR):
        assert bound[f"spn-mlinfra-{stack}"] == f"deployer:{stack}"
    assert bound["spn-mlinfra-preview"] == "preview"
