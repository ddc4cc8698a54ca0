"""Bootstrap serves every stack of the stage project, read from it (issue 27): the shared stack is
bootstrapped like a stage (deployer with exactly its rights, `infra-shared`, state), a stage added
to the catalog needs nothing in bootstrap, and each deployer holds what its stack's plan needs
(owners in Microsoft Graph, grants on the shared registry). Plans the real bootstrap program."""

import json
import re
import shutil

import pytest

from bootstrap import graph, rbac
from bootstrap.stack_facts import hub_zones, project_stacks
from mlinfra.config.config_error import ConfigError
from mlinfra.facts.registry_roles import reader_role
from mlinfra.facts.roles import ROLES
from mlinfra.planner.stackfile import load_stack_config
from tests.test_bootstrap import BOOTSTRAP_DIR, NS, PROJECT_DIR, bootstrap_plan

SHARED = "shared"


@pytest.fixture(scope="module")
def platform():
    return bootstrap_plan()


def stack_value(stack: str, key: str):
    raw = load_stack_config(PROJECT_DIR, stack).values.get(key)
    try:
        return json.loads(raw) if raw is not None else None
    except json.JSONDecodeError:
        return raw


def by_name(plan, prefix: str) -> list:
    return [r for r in plan.of_type("azure-native:authorization:RoleAssignment") if r.name.startswith(prefix)]


def test_stacks_come_from_the_stage_project_shared_first():
    """The deployment order the workflows follow: shared before the stages that read it, then the
    catalog's order (Pulumi.yaml `mlinfra:stages`)."""
    from mlinfra.config.stage_catalog import load_catalog

    stacks = project_stacks(PROJECT_DIR)
    assert stacks[0] == SHARED
    catalog = [stage.name for stage in load_catalog(PROJECT_DIR / "Pulumi.yaml")]
    assert stacks[1:] == [stage for stage in catalog if (PROJECT_DIR / f"Pulumi.{stage}.yaml").exists()]


def test_shared_stack_is_bootstrapped_like_a_stage(platform):
    """review-3-identity-ci B2: deploy.yml's `up-shared` runs in `infra-shared` with an identity;
    bootstrap creates both, and `stackInitCommands` creates the stack on the backend."""
    environments = {
        r.inputs["environment"]
        for r in platform.of_type("github:index/repositoryEnvironment:RepositoryEnvironment")
    }
    assert "infra-shared" in environments
    assert platform.outputs["stackInitCommands"][0].startswith("pulumi stack init shared ")
    variables = {
        (r.inputs["environment"], r.inputs["variableName"]): r.inputs["value"]
        for r in platform.of_type("github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable")
    }
    assert variables[("infra-shared", "AZURE_SUBSCRIPTION_ID")] == stack_value(
        SHARED, "azure-native:subscriptionId"
    )
    assert "shared" in platform.outputs["deployerClientIds"]


def test_shared_deployer_holds_exactly_what_its_plan_needs(platform):
    """The shared plan creates its resource group (Contributor on the subscription), the custom
    reader role (roleDefinitions/write: Microsoft Learn, "Azure custom roles", which only Owner and
    User Access Administrator hold among built-in roles, hence a custom role with the three
    roleDefinitions actions), the personas' grants (RBAC Administrator, conditioned to the registry
    roles and groups) and its private endpoint in an existing subnet and hub zone (join role)."""
    sub = f"/subscriptions/{stack_value(SHARED, 'azure-native:subscriptionId')}"
    mine = by_name(platform, "deploy-shared-")
    roles = {(a.inputs["roleDefinitionId"].rsplit("/", 1)[-1], a.inputs["scope"]) for a in mine}
    assert (ROLES["Contributor"].guid, sub) in roles
    (author,) = [
        r
        for r in platform.of_type("azure-native:authorization:RoleDefinition")
        if r.name == "role-author-role"
    ]
    assert author.inputs["permissions"] == [{"actions": list(rbac.ROLE_AUTHOR.actions)}]
    assert (author.inputs["roleDefinitionId"], sub) in roles
    assert author.inputs["assignableScopes"] == [sub]
    endpoint = stack_value(SHARED, "mlinfra:registry")["privateEndpoint"]
    join = next(
        (
            r.inputs["roleDefinitionId"]
            for r in platform.of_type("azure-native:authorization:RoleDefinition")
            if r.name == "private-endpoint-join-role"
        ),
        None,
    )
    joined = {scope for guid, scope in roles if guid == join}
    hub = hub_zones(PROJECT_DIR)  # the landing zone's: the hub team's grant (prerequisites.yaml)
    # Less what its Contributor on the subscription already allows (least privilege).
    assert joined == {
        scope
        for scope in (endpoint["subnetId"], *endpoint["dnsZoneIds"].values())
        if scope.lower() not in hub and not scope.lower().startswith(f"{sub}/".lower())
    }
    (admin,) = [a for a in mine if a.name.startswith("deploy-shared-rbac-")]
    workload = stack_value(SHARED, "mlinfra:workload")
    assert set(re.findall(r"[0-9a-f-]{36}", admin.inputs["condition"])) <= {
        ROLES["AzureML Registry User"].guid,
        reader_role(workload).guid,
    }
    assert "{'Group'}" in admin.inputs["condition"]
    assert not [a for a in mine if a.inputs["roleDefinitionId"].endswith(ROLES["Owner"].guid)]


def test_stage_deployers_may_grant_their_registry_roles(platform):
    """review-3 EV-1: a stage grants its identities a role on the shared registry, so its deployer
    needs roleAssignments/write there: RBAC Administrator at the registry's subscription (the
    registry does not exist when bootstrap runs), conditioned to that stage's registry roles and to
    service principals."""
    shared_sub = stack_value(SHARED, "azure-native:subscriptionId")
    for stack in project_stacks(PROJECT_DIR)[1:]:
        registry = stack_value(stack, "mlinfra:registry") or {}
        if not (registry.get("deploymentIdentity") or registry.get("workspaceIdentity")):
            continue
        found = [
            a
            for a in by_name(platform, f"deploy-{stack}-rbac-")
            if a.inputs["scope"] == f"/subscriptions/{shared_sub}"
        ]
        assert len(found) == 1, stack
        guids = set(re.findall(r"[0-9a-f-]{36}", found[0].inputs["condition"]))
        publish = registry.get("deploymentIdentity") == "publish"
        assert (ROLES["AzureML Registry User"].guid in guids) == publish, stack


def test_deployers_adding_other_owners_get_directory_read(platform):
    """Microsoft Graph, "Add owner" (https://learn.microsoft.com/graph/api/application-post-owners):
    least privilege "Application.ReadWrite.OwnedBy and Directory.Read.All"; "OwnedBy isn't
    sufficient to add another owner". The azuread provider sends every configured owner in the
    create call (hashicorp/terraform-provider-azuread application_resource.go, owners@odata.bind),
    review-3-identity-ci B1. Directory.Read.All's id: Microsoft Graph permissions reference."""
    assert graph.DIRECTORY_READ_ALL == "7ab1d382-f21e-4acd-a863-ba3e13f7da61"
    roles = platform.of_type("azuread:index/appRoleAssignment:AppRoleAssignment")
    directory = {r.name for r in roles if r.inputs["appRoleId"] == graph.DIRECTORY_READ_ALL}
    for stack in project_stacks(PROJECT_DIR)[1:]:
        identity = stack_value(stack, "mlinfra:deploymentIdentity") or {}
        wants = identity.get("kind") == "entra-application" and bool(identity.get("owners"))
        assert (f"deploy-{stack}-graph-directory-read" in directory) == wants, stack
    assert "deploy-shared-graph-directory-read" not in directory


def test_preview_reads_every_subscription_its_stacks_refresh(platform):
    """review-3-identity-ci F1 / review-3-azure F2: drift refreshes the shared stack's registry and
    the stages' registry grants, so the preview identity reads the shared subscription too."""
    readers = {a.inputs["scope"] for a in by_name(platform, "preview-reader-")}
    for stack in project_stacks(PROJECT_DIR):
        assert f"/subscriptions/{stack_value(stack, 'azure-native:subscriptionId')}" in readers, stack


def test_a_stage_added_to_the_catalog_needs_nothing_in_bootstrap(tmp_path, monkeypatch):
    """Issue 27: bootstrap reads the catalog and the stack files; a new stage (catalog entry and its
    stack file) gets a deployer, `infra-<stage>`, a stack-init command and a required preview check
    with no bootstrap config."""
    import bootstrap.settings

    for path in PROJECT_DIR.glob("Pulumi*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    catalog = (tmp_path / "Pulumi.yaml").read_text()
    model = project_stacks(PROJECT_DIR)[1]  # the first stage, whatever the catalog calls it
    qa = "      - name: qa\n        code: qa1\n        production: false\n        dataScience: true\n"
    marker = "    default:\n      - name: "
    assert catalog.count(marker) == 1
    (tmp_path / "Pulumi.yaml").write_text(catalog.replace(marker, "    default:\n" + qa + "      - name: "))
    (tmp_path / "Pulumi.qa.yaml").write_text((PROJECT_DIR / f"Pulumi.{model}.yaml").read_text())
    monkeypatch.setattr(bootstrap.settings, "STAGE_PROJECT_DIR", tmp_path)
    plan = bootstrap_plan()
    assert "qa" in plan.outputs["deployerClientIds"]
    assert any(command.startswith("pulumi stack init qa ") for command in plan.outputs["stackInitCommands"])
    environments = {
        r.inputs["environment"]
        for r in plan.of_type("github:index/repositoryEnvironment:RepositoryEnvironment")
    }
    assert "infra-qa" in environments
    ruleset = plan.one("github:index/repositoryRuleset:RepositoryRuleset").inputs
    checks = [c["context"] for c in ruleset["rules"]["requiredStatusChecks"]["requiredChecks"]]
    assert "preview (qa)" in checks


def test_settings_for_no_stack_are_refused_with_did_you_mean():
    with pytest.raises(ConfigError) as error:
        bootstrap_plan(**{f"{NS}:stages": {"prdo": {}}})
    message = str(error.value)
    assert f"{NS}:stages.prdo: no stack of that name in the stage project" in message
    assert "did you mean prod?" in message


def test_shared_stack_settings_are_honoured():
    """`stages.shared` sets `infra-shared`'s protection like any stage's."""
    plan = bootstrap_plan(**{f"{NS}:stages": {SHARED: {"waitTimer": 5}}})
    (environment,) = [
        r
        for r in plan.of_type("github:index/repositoryEnvironment:RepositoryEnvironment")
        if r.inputs["environment"] == "infra-shared"
    ]
    assert environment.inputs["waitTimer"] == 5


def test_bootstrap_file_lists_only_stacks_of_the_stage_project():
    configured = json.loads(load_stack_config(BOOTSTRAP_DIR, "platform").values[f"{NS}:stages"])
    assert set(configured) <= set(project_stacks(PROJECT_DIR))


def test_production_deployers_may_place_and_remove_locks(platform):
    """Microsoft Learn, "Lock your resources to protect your infrastructure": creating or deleting a
    lock needs Microsoft.Authorization/locks/* (Contributor's notActions exclude
    Microsoft.Authorization/*/Write and */Delete). A production stage locks its stateful resources
    (mlinfra/settings/lock_settings.py) and keeps the right while a planned teardown lifts them; other
    stages get nothing."""
    from mlinfra.config.stage_catalog import load_catalog
    from mlinfra.facts.stack_names import split_stack_name

    (role,) = [
        r
        for r in platform.of_type("azure-native:authorization:RoleDefinition")
        if r.name == "lock-author-role"
    ]
    assert role.inputs["permissions"] == [{"actions": list(rbac.LOCK_AUTHOR.actions)}]
    production = {s.name for s in load_catalog(PROJECT_DIR / "Pulumi.yaml") if s.production}
    holders = {a.name for a in assignments_of(platform, role.inputs["roleDefinitionId"])}
    for stack in project_stacks(PROJECT_DIR):
        wanted = split_stack_name(stack)[1] in production
        assert (f"deploy-{stack}-lock-author" in holders) == wanted, stack


def assignments_of(plan, role_guid: str) -> list:
    return [
        a
        for a in plan.of_type("azure-native:authorization:RoleAssignment")
        if a.inputs["roleDefinitionId"].endswith(f"/roleDefinitions/{role_guid}")
    ]


def test_no_privileged_role_is_delegated_for_groups(platform):
    """review-3-azure R3 / issue 27 ABAC: Contributor, Azure AI Administrator and Key Vault
    Administrator are outside every condition the shipped stacks get (none of their files grants
    one), so a compromised pipeline cannot hand them to a group or to itself."""
    privileged = {role.guid for role in ROLES.values() if role.privileged}
    for assignment in platform.of_type("azure-native:authorization:RoleAssignment"):
        condition = assignment.inputs.get("condition") or ""
        assert not privileged & set(re.findall(r"[0-9a-f-]{36}", condition)), assignment.name


def test_a_privileged_role_the_stack_grants_is_delegated_for_identities_only(tmp_path, monkeypatch):
    """A stack file that gives its deployment identity Contributor on its resource group (allowed
    for identities, RB-1) gets a second RBAC Administrator assignment: that role, service
    principals only. Azure allows an action when any of the holder's assignments allows it."""
    import bootstrap.settings

    for path in PROJECT_DIR.glob("Pulumi*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    stage = project_stacks(PROJECT_DIR)[1]
    text = (tmp_path / f"Pulumi.{stage}.yaml").read_text()
    marker = "  mlinfra:deploymentIdentity:\n"
    assert text.count(marker) == 1
    text = text.replace(marker, marker + "    roles:\n      resourceGroup: [Contributor]\n")
    (tmp_path / f"Pulumi.{stage}.yaml").write_text(text)
    monkeypatch.setattr(bootstrap.settings, "STAGE_PROJECT_DIR", tmp_path)
    plan = bootstrap_plan()
    sub = f"/subscriptions/{stack_value(stage, 'azure-native:subscriptionId')}"
    conditions = [
        a.inputs["condition"] for a in by_name(plan, f"deploy-{stage}-rbac-") if a.inputs["scope"] == sub
    ]
    assert len(conditions) == 2
    (only,) = [c for c in conditions if ROLES["Contributor"].guid in c]
    assert set(re.findall(r"[0-9a-f-]{36}", only)) == {ROLES["Contributor"].guid}
    assert "{'ServicePrincipal'}" in only


def test_stages_with_a_registry_rule_may_have_it_approved(platform):
    """A stage's managed network reaches the shared registry through a private-endpoint rule:
    "the workspace managed identity ... and the user identity that initiates the creation of the
    private endpoint, must have permissions to approve the Private Endpoint connections on the
    target resources. After April 30th, 2025, permissions aren't automatically granted"
    (MicrosoftDocs/azure-ai-docs how-to-managed-network.md, "Approval of private endpoints"). So
    the deployer may grant the workspace identity the approver role on the registry, and holds the
    approval action itself, both at the registry's subscription."""
    from mlinfra.settings.registry_access_settings import (
        CONNECTION_APPROVER,
        RegistryAccessSettings,
        makes_registry_rule,
    )
    from mlinfra.settings.workspace_settings import WorkspaceSettings

    (role,) = [
        r
        for r in platform.of_type("azure-native:authorization:RoleDefinition")
        if r.name == "registry-endpoint-approver-role"
    ]
    assert role.inputs["permissions"] == [{"actions": list(rbac.REGISTRY_ENDPOINT_APPROVER.actions)}]
    holders = {a.name for a in assignments_of(platform, role.inputs["roleDefinitionId"])}
    shared_sub = f"/subscriptions/{stack_value(SHARED, 'azure-native:subscriptionId')}"
    for stack in project_stacks(PROJECT_DIR)[1:]:
        registry = RegistryAccessSettings.model_validate(
            stack_value(stack, "mlinfra:registry") or {}, by_name=False
        )
        workspace = WorkspaceSettings.model_validate(
            stack_value(stack, "mlinfra:workspace") or {}, by_name=False
        )
        rule = makes_registry_rule(registry, workspace.isolation_mode, workspace.shared_from is None)
        assert (f"deploy-{stack}-registry-endpoint-approver" in holders) == rule, stack
        if rule:
            (admin,) = [
                a for a in by_name(platform, f"deploy-{stack}-rbac-") if a.inputs["scope"] == shared_sub
            ]
            assert CONNECTION_APPROVER.guid in admin.inputs["condition"]


def test_deployers_may_list_applications_for_the_duplicate_name_check(platform, stack_plans):
    """review-3-identity-ci R4: with preventDuplicateNames the azuread provider lists
    `/applications?$filter=displayName eq ...` at plan, create and update
    (hashicorp/terraform-provider-azuread@v3.8.0 application_resource.go L683-706, L952-965), which
    OwnedBy alone may be refused. Every stage that plans such an app registration has a deployer
    holding Directory.Read.All, which reads every application."""
    directory = {
        r.name
        for r in platform.of_type("azuread:index/appRoleAssignment:AppRoleAssignment")
        if r.inputs["appRoleId"] == graph.DIRECTORY_READ_ALL
    }
    checked = 0
    for stack, plan in stack_plans.items():
        apps = [
            r
            for r in plan.of_type("azuread:index/application:Application")
            if r.inputs.get("preventDuplicateNames")
        ]
        if apps:
            checked += 1
            assert f"deploy-{stack}-graph-directory-read" in directory, stack
    assert checked
