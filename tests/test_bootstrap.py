"""The bootstrap project (bootstrap/): state backend, infra identities and their rights, the infra
repository's environments and ruleset, config errors. Plans the real bootstrap program."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bootstrap import graph
from bootstrap.abac import CONDITION_VERSION, assignable_roles, delegation_condition, unprivileged_roles
from bootstrap.stack_facts import hub_zones, project_stacks
from mlinfra.config.config_error import ConfigError
from mlinfra.facts.roles import ROLES
from mlinfra.facts.stack_names import is_shared_stack
from mlinfra.planner import recorder
from mlinfra.planner.recorder import Plan
from mlinfra.planner.stackfile import available_stacks, load_stack_config
from tests.conftest import overridden, problem_lines

PROJECT_DIR = Path(__file__).resolve().parent.parent
BOOTSTRAP_DIR = PROJECT_DIR / "bootstrap"
NS = "mlinfra-bootstrap"
CONFIGURED = json.loads(load_stack_config(BOOTSTRAP_DIR, "platform").values[f"{NS}:stages"])
BOOTSTRAP_STAGES = {stack: CONFIGURED.get(stack, {}) for stack in project_stacks(PROJECT_DIR)}
"""Every stack of the stage project (bootstrap reads them from it), name -> its settings in the
bootstrap stack file (`mlinfra-bootstrap:stages`, defaults where it has none)."""
STAGES = {stack: settings for stack, settings in BOOTSTRAP_STAGES.items() if not is_shared_stack(stack)}
"""The catalog stages' stacks (not the shared stack)."""
ONE = next(iter(STAGES))
"""A stage for tests that give bootstrap a single stage of their own."""


def _subscription(stack: str) -> str:
    return load_stack_config(PROJECT_DIR, stack).values["azure-native:subscriptionId"]


def stage_setting(stage: str, key: str) -> dict:
    """A stage stack file's `mlinfra:<key>` (project defaults applied), parsed."""
    return json.loads(load_stack_config(PROJECT_DIR, stage).values.get(f"mlinfra:{key}", "{}"))


def bootstrap_plan(stack: str = "platform", **overrides) -> Plan:
    config = load_stack_config(BOOTSTRAP_DIR, stack)
    return recorder.plan_config(BOOTSTRAP_DIR, overridden(config, overrides))


@pytest.fixture(scope="module")
def platform() -> Plan:
    return bootstrap_plan()


def join_role(plan: Plan):
    """Bootstrap's private endpoint joiner role, or None when no deployer needs it."""
    roles = [
        r
        for r in plan.of_type("azure-native:authorization:RoleDefinition")
        if r.name == "private-endpoint-join-role"
    ]
    assert len(roles) <= 1
    return roles[0] if roles else None


def assignments(plan: Plan, role_guid: str) -> list:
    return [
        r
        for r in plan.of_type("azure-native:authorization:RoleAssignment")
        if r.inputs["roleDefinitionId"].endswith(f"/roleDefinitions/{role_guid}")
    ]


# --- the ABAC condition -------------------------------------------------------------------------


def test_condition_matches_the_documented_shape():
    """Microsoft Learn, "Examples to delegate Azure role assignment management with conditions",
    Example: Constrain roles and principal types: a write clause on @Request attributes and a delete
    clause on @Resource attributes, joined by AND; GUIDs in braces; principal types quoted."""
    text = delegation_condition([ROLES["Reader"], ROLES["AcrPull"]])
    expected = (
        "(\n (\n  !(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})\n )\n OR\n (\n"
        "  @Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals "
        "{acdd72a7-3385-48ef-bd42-f606fba81ae7, 7f951dda-4ed3-4680-a7ca-43fe172d538d}\n  AND\n"
        "  @Request[Microsoft.Authorization/roleAssignments:PrincipalType] ForAnyOfAnyValues:StringEqualsIgnoreCase "
        "{'ServicePrincipal', 'Group'}\n )\n)\nAND\n"
        "(\n (\n  !(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})\n )\n OR\n (\n"
        "  @Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals "
        "{acdd72a7-3385-48ef-bd42-f606fba81ae7, 7f951dda-4ed3-4680-a7ca-43fe172d538d}\n  AND\n"
        "  @Resource[Microsoft.Authorization/roleAssignments:PrincipalType] ForAnyOfAnyValues:StringEqualsIgnoreCase "
        "{'ServicePrincipal', 'Group'}\n )\n)"
    )
    assert text == expected


def test_condition_never_allows_escalating_roles_or_users():
    """Issue 16 / RB-1: never Owner, User Access Administrator or RBAC Administrator; no users."""
    text = delegation_condition(assignable_roles())
    for name in ("Owner", "User Access Administrator", "Role Based Access Control Administrator"):
        assert ROLES[name].guid not in text
    assert "'User'" not in text
    granted = {role.guid for role in assignable_roles()}
    assert ROLES["AzureML Data Scientist"].guid in granted and ROLES["Reader"].guid in granted


def test_rbac_administrator_carries_the_condition(platform):
    """Every RBAC Administrator assignment has conditionVersion 2.0 (the only accepted value,
    azure-rest-api-specs Microsoft.Authorization roleAssignments) and a condition for exactly the
    roles and principal types its stack grants at that scope (review-3-azure R3): a stage's
    deployer the catalog roles at its subscription; at the registry's subscription only the
    registry roles, to service principals (its own identities); the shared stack's deployer the
    registry roles, to groups (the personas)."""
    from mlinfra.facts.registry_roles import reader_role

    found = assignments(platform, ROLES["Role Based Access Control Administrator"].guid)
    shared_sub = load_stack_config(PROJECT_DIR, "shared").values["azure-native:subscriptionId"]
    registry_roles = {
        ROLES["AzureML Registry User"].guid,
        reader_role(setting_text("shared", "workload")).guid,
        # the workspace identity's, to approve its managed network's endpoint (registry_access_settings)
        ROLES["Azure AI Enterprise Network Connection Approver"].guid,
    }
    for assignment in found:
        assert assignment.inputs["conditionVersion"] == CONDITION_VERSION == "2.0"
        assert assignment.inputs["principalType"] == "ServicePrincipal"
        assert re.fullmatch(r"/subscriptions/[0-9a-f-]{36}", assignment.inputs["scope"])
    for stack in BOOTSTRAP_STAGES:
        mine = {
            a.inputs["scope"]: a.inputs["condition"]
            for a in found
            if a.name.startswith(f"deploy-{stack}-rbac-")
        }
        if is_shared_stack(stack):
            (condition,) = mine.values()
            assert set(re.findall(r"[0-9a-f-]{36}", condition)) <= registry_roles
            assert "{'Group'}" in condition
            continue
        sub = load_stack_config(PROJECT_DIR, stack).values["azure-native:subscriptionId"]
        # No privileged role (the shipped stack files grant their identities none): review-3-azure R3.
        assert mine.pop(f"/subscriptions/{sub}") == delegation_condition(unprivileged_roles())
        if stage_setting(stack, "registry").get("deploymentIdentity") and sub != shared_sub:
            condition = mine.pop(f"/subscriptions/{shared_sub}")
            assert set(re.findall(r"[0-9a-f-]{36}", condition)) <= registry_roles
            assert "{'ServicePrincipal'}" in condition
        assert not mine, stack


def setting_text(stack: str, key: str) -> str:
    return load_stack_config(PROJECT_DIR, stack).values[f"mlinfra:{key}"]


def test_no_escalating_role_is_ever_assigned(platform):
    for name in ("Owner", "User Access Administrator"):
        assert not assignments(platform, ROLES[name].guid)


# --- state backend -------------------------------------------------------------------------------


def test_state_account_is_entra_only_and_hardened(platform):
    """azure-native storage StorageAccount: allowSharedKeyAccess false, allowBlobPublicAccess
    false, defaultToOAuthAuthentication true, minimumTlsVersion TLS1_2 (Microsoft Learn, "Prevent
    Shared Key authorization for an Azure Storage account")."""
    account = platform.one("azure-native:storage:StorageAccount").inputs
    assert account["allowSharedKeyAccess"] is False
    assert account["allowBlobPublicAccess"] is False
    assert account["defaultToOAuthAuthentication"] is True
    assert account["minimumTlsVersion"] == "TLS1_2"
    assert account["sku"]["name"] != "Standard_LRS"


def test_blob_versioning_and_soft_delete(platform):
    props = platform.one("azure-native:storage:BlobServiceProperties").inputs
    assert props["blobServicesName"] == "default"
    assert props["isVersioningEnabled"] is True
    assert props["deleteRetentionPolicy"] == {"enabled": True, "days": 30}
    assert props["containerDeleteRetentionPolicy"] == {"enabled": True, "days": 30}
    assert platform.one("azure-native:storage:BlobContainer").inputs["publicAccess"] == "None"


def test_secrets_vault_and_key(platform):
    vault = platform.one("azure-native:keyvault:Vault")
    assert vault.inputs["properties"]["enableRbacAuthorization"] is True
    assert vault.inputs["properties"]["enablePurgeProtection"] is True
    key = platform.one("azure-native:keyvault:Key").inputs
    assert key["properties"]["kty"] == "RSA" and set(key["properties"]["keyOps"]) == {"encrypt", "decrypt"}
    assert vault.protect and key  # the state of every stage depends on it


def test_outputs_are_the_commands_to_paste(platform):
    out = platform.outputs
    assert (
        out["backendUrl"]
        == "azblob://pulumi-state?storage_account="
        + platform.one("azure-native:storage:StorageAccount").inputs["accountName"]
    )
    vault = platform.one("azure-native:keyvault:Vault").inputs["vaultName"]
    assert out["secretsProvider"] == f"azurekeyvault://{vault}.vault.azure.net/keys/pulumi-secrets"
    assert out["stackInitCommands"] == [
        f"pulumi stack init {stage} --secrets-provider '{out['secretsProvider']}'"
        for stage in BOOTSTRAP_STAGES
    ]


# --- identities and their rights -----------------------------------------------------------------


def test_deployer_roles_per_stage(platform):
    contributor = assignments(platform, ROLES["Contributor"].guid)
    scopes = {a.inputs["scope"] for a in contributor}
    for stage in BOOTSTRAP_STAGES:
        sub = load_stack_config(PROJECT_DIR, stage).values["azure-native:subscriptionId"]
        assert f"/subscriptions/{sub}" in scopes


def test_preview_identity_reads_only(platform):
    """Preview takes no lock on a DIY backend (pulumi/pulumi pkg/backend/diy/backend.go: Preview
    calls apply with DryRun and never Lock), so blob read suffices; decrypt needs Key Vault Crypto User."""
    readers = assignments(platform, "acdd72a7-3385-48ef-bd42-f606fba81ae7")
    assert len(readers) == len(BOOTSTRAP_STAGES)
    blob = assignments(platform, ROLES["Storage Blob Data Reader"].guid)
    assert len(blob) == 1 and blob[0].inputs["scope"].endswith(
        "/blobServices/default/containers/pulumi-state"
    )
    preview_keys = [
        a for a in assignments(platform, "12338af0-0e69-4776-bea7-57ae8d297424") if "preview" in a.name
    ]
    assert len(preview_keys) == 1 and preview_keys[0].inputs["scope"].endswith("/keys/pulumi-secrets")


def test_join_rights_on_existing_subnet_and_hub_zones(platform):
    """A stage that points at an existing subnet and zones outside the landing zone's: its deployer
    gets a custom role with subnets/join/action and privateDnsZones/join/action there (Microsoft
    Learn, "Azure RBAC permissions for Azure Private Link"), except in its own subscription, where
    its Contributor (actions `*`) already allows both; the deployers of the other stages get none."""
    role = join_role(platform)
    expected = {}
    for stage in BOOTSTRAP_STAGES:
        section = (
            stage_setting(stage, "registry") if is_shared_stack(stage) else stage_setting(stage, "network")
        )
        endpoints = section.get("privateEndpoint" if is_shared_stack(stage) else "privateEndpoints") or {}
        subnet = {endpoints["subnetId"]} if "subnetId" in endpoints else set()
        # The landing zone's zones are joined through the hub team's grant (prerequisites.yaml).
        zones = {
            z for z in endpoints.get("dnsZoneIds", {}).values() if z.lower() not in hub_zones(PROJECT_DIR)
        }
        own = f"/subscriptions/{_subscription(stage)}/".lower()
        scopes = {scope for scope in subnet | zones if not scope.lower().startswith(own)}
        if scopes:
            expected[stage] = scopes
    if role is None:
        assert expected == {}, "stages join outside their subscription, but bootstrap plans no join role"
        return
    actions = role.inputs["permissions"][0]["actions"]
    assert "Microsoft.Network/virtualNetworks/subnets/join/action" in actions
    assert "Microsoft.Network/privateDnsZones/join/action" in actions
    joins = assignments(platform, role.inputs["roleDefinitionId"])
    granted = {
        stage: {a.inputs["scope"] for a in joins if f"deploy-{stage}-" in a.name}
        for stage in BOOTSTRAP_STAGES
    }
    assert {stage: scopes for stage, scopes in granted.items() if scopes} == expected


def test_the_joiner_role_is_only_for_subnets_and_zones_in_another_subscription():
    """Least privilege: Contributor on the deployer's own subscription allows the joins there, so
    bootstrap assigns its joiner role only where that Contributor does not reach."""
    from bootstrap.rbac import JOINER
    from bootstrap.stack_facts import StageFacts

    own = "/subscriptions/00000000-0000-0000-0000-000000000015/resourceGroups/rg/providers/Microsoft.Network"
    other = (
        "/subscriptions/00000000-0000-0000-0000-000000000099/resourceGroups/rg/providers/Microsoft.Network"
    )
    facts = StageFacts(
        stage="a-stage",
        subscription_id="00000000-0000-0000-0000-000000000015",
        tenant_id="00000000-0000-0000-0000-000000000001",
        deploys_entra_application=False,
        subnet_ids=(f"{own}/virtualNetworks/v/subnets/s", f"{other}/virtualNetworks/v/subnets/s"),
        dns_zone_ids=(f"{own.upper()}/privateDnsZones/z", f"{other}/privateDnsZones/z"),
        github_repository=None,
    )
    assert facts.custom_role_scopes() == [
        (JOINER, f"{other}/virtualNetworks/v/subnets/s"),
        (JOINER, f"{other}/privateDnsZones/z"),
    ]


def test_hub_zones_are_joined_through_the_hub_teams_declared_grant():
    """Bootstrap's administrator holds no rights in the hub, so it grants no join on the landing
    zone's private DNS zones; every stack that registers in one has the hub team's grant declared
    (prerequisites.yaml, counted by the estate verifier and checked live by `mlinfra doctor`)."""
    from mlinfra.estate.prerequisites import load
    from mlinfra.facts.rbac import scope_covers

    declared = load(PROJECT_DIR)
    hub = hub_zones(PROJECT_DIR)
    for stage in BOOTSTRAP_STAGES:
        section = (
            stage_setting(stage, "registry") if is_shared_stack(stage) else stage_setting(stage, "network")
        )
        endpoints = section.get("privateEndpoint" if is_shared_stack(stage) else "privateEndpoints") or {}
        for zone in (z for z in (endpoints.get("dnsZoneIds") or {}).values() if z.lower() in hub):
            assert any(
                grant.principal == f"deployer:{stage}"
                and "Microsoft.Network/privateDnsZones/join/action" in grant.actions
                and scope_covers(grant.scope, zone)
                for item in declared.items
                for grant in item.grants
            ), (stage, zone)


def test_graph_ids_are_the_documented_ones():
    """Microsoft Graph permissions reference: Application.ReadWrite.OwnedBy application permission
    id 18a4783c-866b-4cc7-a460-3d5e5662c884; Application.Read.All 9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30;
    Microsoft Graph's appId 00000003-0000-0000-c000-000000000000."""
    assert graph.APPLICATION_READWRITE_OWNEDBY == "18a4783c-866b-4cc7-a460-3d5e5662c884"
    assert graph.APPLICATION_READ_ALL == "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30"
    assert graph.MICROSOFT_GRAPH_APP_ID == "00000003-0000-0000-c000-000000000000"


def test_graph_app_role_for_stages_that_deploy_entra_apps(platform):
    roles = platform.of_type("azuread:index/appRoleAssignment:AppRoleAssignment")
    owned = [r for r in roles if r.inputs["appRoleId"] == graph.APPLICATION_READWRITE_OWNEDBY]
    entra_stages = [
        stage
        for stage in STAGES
        if stage_setting(stage, "deploymentIdentity").get("kind") == "entra-application"
    ]
    assert entra_stages and len(owned) == len(entra_stages)  # one per stage file deploying an Entra app
    assert [r for r in roles if r.inputs["appRoleId"] == graph.APPLICATION_READ_ALL]
    # Graph's own service principal is looked up, never adopted: `use_existing` would PATCH the
    # Microsoft-owned object (terraform-provider-azuread@v3.8.0 service_principal_resource.go
    # L396-399, L548-561; review-3-identity-ci R5). The app roles target the looked-up object id.
    from mlinfra.planner.mock_cloud import service_principal_object_id

    assert not [
        r
        for r in platform.of_type("azuread:index/servicePrincipal:ServicePrincipal")
        if r.name == "microsoft-graph"
    ]
    graph_object = service_principal_object_id(graph.MICROSOFT_GRAPH_APP_ID)
    assert {r.inputs["resourceObjectId"] for r in roles} == {graph_object}


def test_federated_credentials_trust_exactly_the_infra_environments(platform):
    subjects = {
        r.inputs["subject"]
        for r in platform.resources
        if r.type
        in (
            "azure-native:managedidentity:FederatedIdentityCredential",
            "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential",
        )
        # GitHub's; the Azure DevOps connections' are tests/test_bootstrap_azure_devops.py's
        and r.inputs["issuer"] == "https://token.actions.githubusercontent.com"
    }
    # The shipped file states `oidcSubjectFormat: immutable`; the mock answers the owner and
    # repository ids as GitHub would (T-34).
    assert {s.split(":environment:")[1] for s in subjects} == {
        f"infra-{env}" for env in (*BOOTSTRAP_STAGES, "preview")
    }
    assert all(s.startswith("repo:contoso@") and "/mlinfra@" in s for s in subjects)


# --- the infra repository ------------------------------------------------------------------------


def test_environments_reviewers_and_branch_policy(platform):
    envs = {
        r.inputs["environment"]: r
        for r in platform.of_type("github:index/repositoryEnvironment:RepositoryEnvironment")
    }
    assert set(envs) == {f"infra-{stage}" for stage in BOOTSTRAP_STAGES} | {"infra-preview"}
    reviewed = [stage for stage, entry in BOOTSTRAP_STAGES.items() if entry.get("reviewers", {}).get("teams")]
    assert reviewed
    for stage in reviewed:
        assert envs[f"infra-{stage}"].inputs["reviewers"][0]["teams"]
    for stage in BOOTSTRAP_STAGES:
        assert envs[f"infra-{stage}"].inputs["deploymentBranchPolicy"] == {
            "customBranchPolicies": True,
            "protectedBranches": False,
        }
    assert envs["infra-preview"].inputs.get("deploymentBranchPolicy") is None
    patterns = {
        (r.inputs["environment"], r.inputs["branchPattern"])
        for r in platform.of_type(
            "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy"
        )
    }
    assert patterns == {(f"infra-{s}", "main") for s in BOOTSTRAP_STAGES}


def test_repository_variables_and_ruleset(platform):
    variables = {
        r.inputs["variableName"]: r.inputs["value"]
        for r in platform.of_type("github:index/actionsVariable:ActionsVariable")
    }
    assert variables == {
        "PULUMI_BACKEND_URL": platform.outputs["backendUrl"],
        "PULUMI_SECRETS_PROVIDER": platform.outputs["secretsProvider"],
        # The ML repository of the stage files: what the GitHub App tokens are minted for.
        "ML_REPOSITORIES_OWNER": "contoso",
        "ML_REPOSITORIES": "churn-mlops",
    }
    ruleset = platform.one("github:index/repositoryRuleset:RepositoryRuleset").inputs
    # integrations/terraform-provider-github repository_ruleset: target branch|tag|push, enforcement
    # active|evaluate|disabled, ref_name includes `~DEFAULT_BRANCH`.
    assert ruleset["target"] == "branch" and ruleset["enforcement"] == "active"
    assert ruleset["conditions"]["refName"]["includes"] == ["~DEFAULT_BRANCH"]
    checks = [c["context"] for c in ruleset["rules"]["requiredStatusChecks"]["requiredChecks"]]
    # pull-request.yml's matrix job `preview` reports one check per stack, `preview (<stack>)`.
    assert checks == ["test", "plan-diff", *(f"preview ({stage})" for stage in BOOTSTRAP_STAGES)]
    env_vars = {
        (r.inputs["environment"], r.inputs["variableName"])
        for r in platform.of_type("github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable")
    }
    assert all((f"infra-{stage}", "AZURE_CLIENT_ID") in env_vars for stage in (*BOOTSTRAP_STAGES, "preview"))


def test_managed_identity_kind_has_no_entra_app():
    plan = bootstrap_plan(
        **{f"{NS}:stages": {ONE: {}}, f"{NS}:preview": {"identityKind": "managed-identity"}}
    )
    # A deployer per stack of the stage project, and the preview identity.
    assert len(plan.of_type("azure-native:managedidentity:UserAssignedIdentity")) == len(BOOTSTRAP_STAGES) + 1
    assert not plan.of_type("azuread:index/application:Application")


# --- config errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({f"{NS}:name": "Bad_Name"}, f'{NS}:name: got "Bad_Name"'),
        ({f"{NS}:name": None}, f"{NS}:name: required but not set"),
        (
            {f"{NS}:github": {"repository": "no-slash", "oidcSubjectFormat": "legacy"}},
            f'{NS}:github.repository: got "no-slash"',
        ),
        (  # the same owner/name rule as a stage's ci.github.repository (mlinfra/settings/ci_settings.py)
            {f"{NS}:github": {"repository": "-contoso/infra", "oidcSubjectFormat": "legacy"}},
            f'{NS}:github.repository: got "-contoso/infra"',
        ),
        ({f"{NS}:github": {"repository": "a/b"}}, f"{NS}:github.oidcSubjectFormat: required but not set"),
        (
            {f"{NS}:applicationOwners": None},
            f"{NS}:applicationOwners: required when an identity is entra-application",
        ),
        ({f"{NS}:applicationOwners": ["not-a-guid"]}, f"{NS}:applicationOwners"),
        ({f"{NS}:stages": []}, f"{NS}:stages: got []"),
        ({f"{NS}:stages": {ONE: {"identityKind": "robot"}}}, f'{NS}:stages.{ONE}.identityKind: got "robot"'),
        ({f"{NS}:stateBackend": {"blobSoftDeleteDays": 0}}, f"{NS}:stateBackend.blobSoftDeleteDays: got 0"),
        ({f"{NS}:stateBackend": {"sku": "Standard_LRS"}}, f'{NS}:stateBackend.sku: got "Standard_LRS"'),
        (
            {f"{NS}:github": {"repository": "a/b", "oidcSubjectFormat": "legacy", "requiredChecks": []}},
            f"{NS}:github.requiredChecks: got []",
        ),
        ({f"{NS}:surprise": "x"}, f"{NS}:surprise: unknown key"),
    ],
)
def test_fails_when_config_is_invalid(overrides, message):
    with pytest.raises(ConfigError) as error:
        bootstrap_plan(**overrides)
    assert message in str(error.value)


def test_fails_when_stage_has_no_stack_file():
    with pytest.raises(
        ConfigError,
        match=f"{NS}:stages.qa: no stack of that name in the stage project; expected one of shared, ",
    ):
        bootstrap_plan(**{f"{NS}:stages": {"qa": {}}})


def test_fails_when_stage_tenant_differs():
    with pytest.raises(
        ConfigError, match=r"stages\.[a-z-]+: got stage tenant .*expected the bootstrap tenant"
    ):
        bootstrap_plan(
            **{"azure-native:tenantId": "11111111-2222-4333-8444-555555555555", f"{NS}:stages": {ONE: {}}}
        )


def test_config_error_registers_nothing():
    with pytest.raises(ConfigError):
        bootstrap_plan(**{f"{NS}:name": "!"})


def test_every_bootstrap_stack_plans_from_the_command_line():
    for stack in available_stacks(BOOTSTRAP_DIR):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "mlinfra",
                "--project-dir",
                "bootstrap",
                "--stack",
                stack,
                "--format",
                "json",
            ],
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["project"] == "mlinfra-bootstrap"


def test_bad_config_exits_2_from_the_command_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("config:\n  mlinfra-bootstrap:name: X\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlinfra",
            "--project-dir",
            "bootstrap",
            "--stack",
            "platform",
            "--config-file",
            str(bad),
        ],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = result.stderr.splitlines()
    assert result.returncode == 2 and "mlinfra-bootstrap:name" in result.stderr
    assert all(problem_lines(line.removeprefix("error: ")) for line in lines)  # every problem, a line each
    assert all(line.startswith(f"error: {bad.name}: ") for line in lines)


def test_bootstrap_grants_the_join_rights_the_permissions_command_derives(platform, stack_plans):
    """bootstrap (from the stack files) and `mlinfra permissions` (from the plan) agree on where the
    deployer of each stage joins existing subnets and hub DNS zones."""
    from mlinfra.review.permissions import requirements

    role = join_role(platform)
    role_guid = role.inputs["roleDefinitionId"] if role is not None else None
    for stage in STAGES:
        derived = {
            r.scope
            for r in requirements(
                stack_plans[stage],
                load_stack_config(PROJECT_DIR, stage).values["azure-native:subscriptionId"],
            )
            if "join/action" in r.permission
        }
        granted = {
            a.inputs["scope"]
            for a in (assignments(platform, role_guid) if role_guid else [])
            if f"deploy-{stage}-" in a.name
        }
        # Less the landing zone's zones (the hub team's grant, the test above) and what the deployer's
        # Contributor on its own subscription already allows.
        own = f"/subscriptions/{_subscription(stage)}/".lower()
        assert granted == {
            scope
            for scope in derived
            if scope.lower() not in hub_zones(PROJECT_DIR) and not scope.lower().startswith(own)
        }, stage


def test_administrators_reach_state_and_key_through_roles(platform):
    """The state account takes no shared keys: the administrators' group gets Storage Blob Data
    Contributor on the container and Key Vault Crypto User on the key, as a Group (RB-5)."""
    admin = load_stack_config(BOOTSTRAP_DIR, "platform").values[f"{NS}:administratorGroupObjectId"]
    granted = {
        (a.inputs["roleDefinitionId"].rsplit("/", 1)[-1], a.inputs["scope"].rsplit("/", 2)[-2])
        for a in platform.of_type("azure-native:authorization:RoleAssignment")
        if a.inputs["principalId"] == admin
    }
    assert granted == {
        (ROLES["Storage Blob Data Contributor"].guid, "containers"),
        ("12338af0-0e69-4776-bea7-57ae8d297424", "keys"),
    }
    assert all(
        a.inputs["principalType"] == "Group"
        for a in platform.of_type("azure-native:authorization:RoleAssignment")
        if a.inputs["principalId"] == admin
    )


def test_fails_when_ml_repositories_have_several_owners(tmp_path, monkeypatch):
    import bootstrap.settings

    if len(STAGES) < 2:
        pytest.skip("needs two stages")
    first, second = list(STAGES)[:2]
    repository = stage_setting(second, "ci")["github"]["repository"]
    owner = stage_setting(first, "ci")["github"]["repository"].split("/")[0]
    for stage in (first, second):
        text = (PROJECT_DIR / f"Pulumi.{stage}.yaml").read_text()
        if stage == second:
            assert repository in text
            text = text.replace(repository, "fabrikam/" + repository.split("/")[1])
        (tmp_path / f"Pulumi.{stage}.yaml").write_text(text)
    for name in ("Pulumi.yaml", "Pulumi.shared.yaml"):
        (tmp_path / name).write_text((PROJECT_DIR / name).read_text())
    monkeypatch.setattr(bootstrap.settings, "STAGE_PROJECT_DIR", tmp_path)
    with pytest.raises(
        ConfigError,
        match=rf"stages: the stages' ML repositories belong to {', '.join(sorted({owner, 'fabrikam'}))}; expected one owner",
    ):
        bootstrap_plan(**{f"{NS}:stages": {first: {}, second: {}}})


def test_required_checks_are_the_checks_the_pull_request_workflow_reports(platform):
    """GitHub names a job's check after its `name:` (default: the job id) and a matrix job's as
    `<name> (<matrix values>)`; a required check nobody reports blocks every merge."""
    from mlinfra.lint.workflows import jobs, load

    workflow = jobs(load(PROJECT_DIR / ".github" / "workflows" / "pull-request.yml"))
    reported = set()
    for job_id, job in workflow.items():
        name = job.get("name", job_id)
        matrix = (job.get("strategy") or {}).get("matrix") or {}
        reported |= {f"{name} ({value})" for value in matrix.get("stack", [])} or {name}
    ruleset = platform.one("github:index/repositoryRuleset:RepositoryRuleset").inputs
    required = {c["context"] for c in ruleset["rules"]["requiredStatusChecks"]["requiredChecks"]}
    assert required <= reported


def _stage_project(tmp_path, monkeypatch, edit):
    """A copy of the stage project with ONE's stack file, edited, as the project bootstrap reads."""
    import bootstrap.settings

    for name in ("Pulumi.yaml", "Pulumi.shared.yaml"):  # a stage's registry grants read the shared stack
        (tmp_path / name).write_text((PROJECT_DIR / name).read_text())
    (tmp_path / f"Pulumi.{ONE}.yaml").write_text(edit((PROJECT_DIR / f"Pulumi.{ONE}.yaml").read_text()))
    monkeypatch.setattr(bootstrap.settings, "STAGE_PROJECT_DIR", tmp_path)


def test_fails_when_stage_file_has_no_subscription(tmp_path, monkeypatch):
    _stage_project(
        tmp_path, monkeypatch, lambda text: re.sub(r"(?m)^  azure-native:subscriptionId: .*\n", "", text)
    )
    with pytest.raises(
        ConfigError, match=rf"stages.{ONE}: Pulumi.{ONE}.yaml sets no azure-native:subscriptionId"
    ):
        bootstrap_plan(**{f"{NS}:stages": {ONE: {}}})


def test_fails_when_stage_file_is_invalid(tmp_path, monkeypatch):
    _stage_project(tmp_path, monkeypatch, lambda text: text.replace("kind: entra-application", "kind: robot"))
    with pytest.raises(ConfigError, match=rf"stages.{ONE}: Pulumi.{ONE}.yaml is not valid; plan it first"):
        bootstrap_plan(**{f"{NS}:stages": {ONE: {}}})


def test_fails_when_azure_key_is_under_the_project_namespace():
    with pytest.raises(ConfigError, match=f"{NS}:location: set under azure-native:, not {NS}:"):
        bootstrap_plan(**{f"{NS}:location": "westeurope"})


def test_the_state_key_role_is_key_vault_crypto_user():
    """MicrosoftDocs/azure-docs articles/role-based-access-control/built-in-roles/security.md,
    "Key Vault Crypto User": id 12338af0-0e69-4776-bea7-57ae8d297424, data actions on keys only
    (read, update, backup, encrypt, decrypt, wrap, unwrap, sign, verify), for vaults in the RBAC
    permission model: what `--secrets-provider azurekeyvault://` needs to encrypt and decrypt a
    stack's secrets, and no access to the vault's secrets or certificates."""
    from bootstrap.rbac import KEY_VAULT_CRYPTO_USER

    assert KEY_VAULT_CRYPTO_USER.name == "Key Vault Crypto User"
    assert KEY_VAULT_CRYPTO_USER.guid == "12338af0-0e69-4776-bea7-57ae8d297424"
    assert not KEY_VAULT_CRYPTO_USER.privileged and not KEY_VAULT_CRYPTO_USER.escalates
    assert KEY_VAULT_CRYPTO_USER.guid not in {role.guid for role in ROLES.values()}  # bootstrap's own (RB-2)


@pytest.mark.parametrize("key", ["mlinfra-bootstrp:github", "mlinfra:stateBackend", "bootstrap:stages"])
def test_fails_when_a_bootstrap_key_is_under_a_misspelt_namespace(key):
    """The bootstrap program reads only its own namespace (the project name, bootstrap/Pulumi.yaml)
    and the providers': a key under any other is silently dropped by the engine, so refused
    (mlinfra/config/config_guards.py namespace_problems, as for the stages)."""
    with pytest.raises(ConfigError) as error:
        bootstrap_plan(**{key: {"x": 1}})
    assert f"{key}: unknown config namespace" in str(error.value)


def test_a_bootstrap_typo_gets_a_did_you_mean():
    with pytest.raises(ConfigError, match=f"did you mean {NS}:github"):
        bootstrap_plan(**{"mlinfra-bootstrp:github": {"x": 1}})


def test_fails_when_a_bootstrap_setting_is_secure():
    """PU-13: only provider credentials may be secret; the program would decrypt any other
    secure value into plain text."""
    import dataclasses

    config = dataclasses.replace(load_stack_config(BOOTSTRAP_DIR, "platform"), secret_keys=(f"{NS}:name",))
    with pytest.raises(ConfigError, match=f"{NS}:name: got a secure value"):
        recorder.plan_config(BOOTSTRAP_DIR, config)


def test_fails_when_a_bootstrap_provider_credential_is_in_plain_text():
    """PU-13 the other way: `github:token` (secret in the GitHub provider's schema) in plain text
    in a committed stack file is refused; encrypted, it is accepted."""
    import dataclasses

    with pytest.raises(ConfigError, match="github:token: a provider credential in plain text"):
        bootstrap_plan(**{"github:token": "ghp_plaintext"})
    config = overridden(load_stack_config(BOOTSTRAP_DIR, "platform"), {"github:token": "[secret]"})
    assert recorder.plan_config(
        BOOTSTRAP_DIR, dataclasses.replace(config, secret_keys=("github:token",))
    ).resources


def test_fails_when_a_bootstrap_environment_has_seven_reviewers():
    """GitHub allows at most 6 required reviewers per environment (GitHub Docs, "Managing
    environments for deployment", required reviewers). The limit sits on the reviewers, so the
    bootstrap's stages refuse a seventh at config load (it was a pydantic dump, exit 1, when the
    GitHub environment component built its settings)."""
    stages = load_stack_config(BOOTSTRAP_DIR, "platform").values[f"{NS}:stages"]
    stages = json.loads(stages)
    stage = next(iter(stages))
    stages[stage]["reviewers"] = {"teams": [f"t{i}" for i in range(7)]}
    with pytest.raises(ConfigError) as error:
        bootstrap_plan(**{f"{NS}:stages": stages})
    assert f"{NS}:stages.{stage}.reviewers: got" in str(error.value)
    assert "expected at most 6 reviewers (users and teams together), got 7" in str(error.value)
    stages[stage]["reviewers"] = {"teams": [f"t{i}" for i in range(6)]}
    assert bootstrap_plan(**{f"{NS}:stages": stages}).resources
