"""Names that end up in Azure DevOps, GitHub and Entra objects, checked offline against each
service's rule (issue 14, item 1; ADO-7, GH-15, ID-9): supplied names are refused by the config
models, derived names by `config.derived_name_problems`, and fixed names are checked here.
"""

import datetime
import json

import pytest

from mlinfra.config.loading import load_stage_config
from mlinfra.config.rules.consistency import derived_name_problems
from mlinfra.config.stage_config import StageConfig
from mlinfra.facts import ci_names
from mlinfra.facts.naming import RULES
from mlinfra.planner.recorder import plan_stack
from mlinfra.settings.ci_settings import CiSettings
from tests.conftest import (
    DATA_SCIENCE_STACK,
    NON_PRODUCTION_STACK,
    OWNERS,
    PROJECT_DIR,
    STACKS,
    plan,
    run_program,
    stack_config,
    with_catalog_stage,
)
from tests.test_config import Rejection

ADO = {
    "organizationUrl": "https://dev.azure.com/example",
    "project": "churn-mlops",
    "approvers": ["ML Engineers"],
}
GITHUB_SECRET = "github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret"
GITHUB_VARIABLE = "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable"
VARIABLE_GROUP = "azuredevops:index/variableGroup:VariableGroup"
APPLICATION = "azuread:index/application:Application"


@pytest.fixture
def rejection(monkeypatch) -> Rejection:
    return Rejection(monkeypatch)


def ado_refusal(rejection: Rejection, stack: str = NON_PRODUCTION_STACK, **settings) -> str:
    ci = {"platform": "azure-devops", "azureDevOps": {**ADO, **settings}}
    return rejection.message(stack_config(stack, **{"mlinfra:ci": ci}))


# --- Azure DevOps ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "group", ['ML "Engineers"', "ML/Engineers", "ML:Eng", "a,b", "Leads.", "a\tb", "x" * 257]
)
def test_fails_when_an_approver_group_name_breaks_its_rule(rejection, group):
    """MicrosoftDocs/azure-devops-docs docs/organizations/settings/naming-restrictions.md, "Security
    groups": at most 256 characters, none of " / \\ [ ] : | < > + = ; ? *, no ASCII 1-31, not ending
    in '.', no commas."""
    message = ado_refusal(rejection, approvers=[group])
    assert f"mlinfra:ci.azureDevOps.approvers.0: got {json.dumps(group)[:60]}" in message
    assert "Azure DevOps security group name" in message


def test_approver_group_names_that_follow_the_rule_pass():
    for group in ("ML Engineers", "Readers", "Team-A (ops)", "x" * 256):
        assert ci_names.ADO_SECURITY_GROUP.problem(group) is None


@pytest.mark.parametrize("name", ["prod,eu", "pre^prod", "a/b", "a|b", "a*b", "x" * 128, "a\x01b"])
def test_the_azure_devops_environment_rule(name):
    """microsoft/terraform-provider-azuredevops azuredevops/internal/service/taskagent/validate/
    environment_name.go: `^[^,^"^/^\\^\\[^\\]^:^|^<^>^+^=^;^?^*]{0,127}$` (the `^` inside the class
    is literal); control characters from naming-restrictions.md, "General considerations"."""
    assert ci_names.ADO_ENVIRONMENT.problem(name)
    assert ci_names.ADO_ENVIRONMENT.problem("churn-prod.eu_1") is None


@pytest.mark.parametrize(("key", "rule"), [("serviceConnectionName", 80), ("variableGroupName", 255)])
def test_fails_when_a_service_connection_or_variable_group_name_is_too_long_or_has_control_characters(
    rejection, key, rule
):
    """Only sources: microsoft/terraform-provider-azuredevops serviceendpoint/commons.go and
    taskagent/resource_variable_group.go (`validation.StringIsNotWhiteSpace`, the blank and padded
    names `Name` refuses), and naming-restrictions.md (no ASCII 1-31). The length caps are the
    project's own (docs/security-model.md, ADO-7)."""
    for value in ("x" * (rule + 1), "spn\x07prod"):
        message = ado_refusal(rejection, **{key: value})
        assert f"mlinfra:ci.azureDevOps.{key}: got {json.dumps(value)[:40]}" in message
    assert ado_refusal(rejection, **{key: " spn "}).count(f"mlinfra:ci.azureDevOps.{key}") == 1


@pytest.mark.parametrize("group", ["ml private", "ml:private", "", "ml\x00pool", "x" * 81])
def test_fails_when_the_runner_group_breaks_its_rule(rejection, group):
    """Only sources: microsoft/terraform-provider-azuredevops taskagent/resource_agent_pool.go
    (`validation.StringIsNotWhiteSpace`) and naming-restrictions.md (no ASCII 1-31); the GitHub
    provider checks nothing. No whitespace and no ':' keep the name one YAML scalar; the 80-character
    cap is the project's own."""
    ci = {"platform": "azure-devops", "azureDevOps": ADO, "runnerGroup": group}
    message = rejection.message(stack_config(NON_PRODUCTION_STACK, **{"mlinfra:ci": ci}))
    assert f"mlinfra:ci.runnerGroup: got {json.dumps(group)[:40]}" in message


@pytest.mark.parametrize(
    "name", ["secretKey", "ENDPOINT_URL", "Input.x", "path", "SecureFileName", "a-b", "a b"]
)
def test_the_pipeline_variable_rule(name):
    """MicrosoftDocs/azure-devops-docs docs/pipelines/process/variables.md, "Variable naming
    restrictions": letters, digits, '.' and '_'; no prefix endpoint, input, secret, path or
    securefile, regardless of case."""
    assert ci_names.ADO_VARIABLE.problem(name)
    assert ci_names.ADO_VARIABLE.problem("AZUREML_WORKSPACE_NAME") is None


@with_catalog_stage("prod")  # examples/*/Pulumi.prod.yaml are stack files of stage prod
def test_every_variable_group_variable_follows_the_pipeline_variable_rule():
    for example in ("azure-devops", "both-platforms"):
        result = plan_stack(PROJECT_DIR, "prod", PROJECT_DIR / f"examples/{example}/Pulumi.prod.yaml")
        names = [variable["name"] for variable in result.one(VARIABLE_GROUP).inputs["variables"]]
        assert names and [name for name in names if ci_names.ADO_VARIABLE.problem(name)] == []


# --- GitHub ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["1SECRET", "AZURE-CLIENT", "AZURE CLIENT", "GITHUB_TOKEN", "github_x", "É"])
def test_the_github_secret_and_variable_rule(name):
    """integrations/terraform-provider-github github/util.go `validateSecretNameFunc` (environment
    secrets and variables): `^[a-zA-Z_][a-zA-Z0-9_]*$` and no `GITHUB_` prefix in any case."""
    assert ci_names.GITHUB_SECRET.problem(name)
    assert ci_names.GITHUB_SECRET.problem("AZURE_CLIENT_ID") is None


def test_every_github_secret_and_variable_name_follows_the_rule(stack_plans):
    """The names are fixed in mlinfra/stage/ml_stage.py; every mode's names are planned and checked,
    client-secret mode included (it adds AZURE_CREDENTIALS)."""
    expiry = (datetime.date.today() + datetime.timedelta(days=90)).isoformat()
    identity = {"owners": OWNERS, "credential": "client-secret", "clientSecretExpiry": expiry}
    plans = [plan(stack) for stack in STACKS] + [
        plan(DATA_SCIENCE_STACK, **{"mlinfra:deploymentIdentity": identity})
    ]
    names = {r.inputs["secretName"] for p in plans for r in p.of_type(GITHUB_SECRET)}
    names |= {r.inputs["variableName"] for p in plans for r in p.of_type(GITHUB_VARIABLE)}
    assert "AZURE_CREDENTIALS" in names and "AZURE_CLIENT_ID" in names
    assert sorted(name for name in names if ci_names.GITHUB_SECRET.problem(name)) == []


def test_the_github_environment_rule():
    """github/docs content/actions/how-tos/deploy/configure-and-manage-deployments/
    manage-environments.md: "An environment name may not exceed 255 characters"."""
    assert ci_names.GITHUB_ENVIRONMENT.problem("x" * 256)
    assert ci_names.GITHUB_ENVIRONMENT.problem("x" * 255) is None


# --- derived names --------------------------------------------------------------------------------


def loaded(stack: str, **overrides) -> StageConfig:
    """The stage config the program reads for `stack` (with `overrides`)."""
    found: list[StageConfig] = []
    run_program(lambda: found.append(load_stage_config()), stack, **overrides)
    return found[0]


BOTH = {
    "platform": "both",
    "azureDevOps": ADO,
    "github": {"repository": "example/churn", "oidcSubjectFormat": "legacy"},
}


@pytest.mark.parametrize("stack", STACKS)
def test_derived_names_of_every_stack_follow_the_rules(stack):
    """The environments (the stack name), the default service connection and the default variable
    group of every stack pass every rule above, on both platforms."""
    both = CiSettings.model_validate(BOTH, by_name=False)  # gating rules aside: only names matter here
    config = loaded(stack).model_copy(update={"ci": both})
    assert derived_name_problems("mlinfra", config) == []
    assert config.names.service_connection.endswith(stack) and config.names.variable_group.endswith(stack)


def test_a_derived_name_that_breaks_a_rule_is_reported_with_the_key_to_set():
    """The check is applied, not assumed. Today's stack names (<workload>-<stage>) keep every derived
    name inside the rules, so a longer stack name is put in by hand: 130 characters break the Azure
    DevOps environment (127) and the default service connection (80), not GitHub's environment
    (255) nor the default variable group (255)."""
    config = loaded(NON_PRODUCTION_STACK, **{"mlinfra:ci": BOTH}).model_copy(update={"stack": "x" * 130})
    problems = derived_name_problems("mlinfra", config)
    assert [problem.split(": ", 1)[0] for problem in problems] == [
        "stack name",
        "mlinfra:ci.azureDevOps.serviceConnectionName",
    ]
    assert "Azure DevOps environment name" in problems[0] and "it is 130 characters" in problems[0]
    assert "spn-aml-workspace-xxx" in problems[1] and "not set, and its default" in problems[1]
    set_names = BOTH | {"azureDevOps": {**ADO, "serviceConnectionName": "spn-x", "variableGroupName": "vg-x"}}
    config = loaded(NON_PRODUCTION_STACK, **{"mlinfra:ci": set_names}).model_copy(update={"stack": "a,b"})
    assert [problem.split(": ", 1)[0] for problem in derived_name_problems("mlinfra", config)] == [
        "stack name"
    ]


# --- Entra ----------------------------------------------------------------------------------------


def test_the_app_registration_display_name_fits_graph_and_managed_identity_rules():
    """hashicorp/terraform-provider-azuread internal/services/applications/application_resource.go
    checks `display_name` only with `validation.StringIsNotEmpty`; Microsoft Graph's application
    resource allows 256 characters ("Maximum length is 256 characters"). The deployment identity's
    name serves both kinds, so it follows the stricter managed-identity rule (3-120, mlinfra/facts/naming.py)."""
    rule = RULES["deployment_identity"]
    assert rule.min_length >= 1 and rule.max_length <= 256
    result = plan(DATA_SCIENCE_STACK)
    [application] = result.of_type(APPLICATION)
    name = application.inputs["displayName"]
    assert rule.check(name) == name and len(name) <= 256
