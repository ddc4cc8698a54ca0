"""The policy pack (policy/): every policy has a fixture that passes and fixtures that violate it,
each run twice: directly (`policy.validate` with the argument objects CrossGuard builds) and
through `mlinfra check`'s evaluation (`mlinfra.review.check.check_plan`, what the CLI runs). Fixtures
are plan documents of a few resources with the wire (camelCase) inputs the providers receive.

T-54: a known-bad fixture per rule gives a violation, a known-good one none, and the stage's
config flips the violation between mandatory (production) and advisory.
"""

import datetime
from dataclasses import dataclass, field

import pytest
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)
from pulumi_policy.proxy import unknown_checking_proxy

from mlinfra.review.check import check_plan, evaluate
from mlinfra.review.check_config import load_pack
from tests.conftest import PROJECT_DIR, STATEFUL_TYPES

pack = load_pack(PROJECT_DIR)
from mlinfra_policy import identity, protection, rbac  # noqa: E402  (the pack directory is on sys.path now)
from mlinfra_policy.config import PackConfigError, pack_config, resolve  # noqa: E402

POLICIES = {policy.name: policy for policy in pack.POLICIES}
STACK = "pulumi:pulumi:Stack"
WORKSPACE = "azure-native:machinelearningservices:Workspace"
STORAGE = "azure-native:storage:StorageAccount"
CONTAINER = "azure-native:storage:BlobContainer"
VAULT = "azure-native:keyvault:Vault"
REGISTRY = "azure-native:containerregistry:Registry"
ASSIGNMENT = "azure-native:authorization:RoleAssignment"
ML_REGISTRY = "azure-native:machinelearningservices:Registry"
REGISTRY_ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000020/resourceGroups/rg-churn-shared-weu/providers/"
    "Microsoft.MachineLearningServices/registries/mlr-churn-weu"
)
APP_FIC = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
UAI_FIC = "azure-native:managedidentity:FederatedIdentityCredential"
PASSWORD = "azuread:index/applicationPassword:ApplicationPassword"
GITHUB_ENVIRONMENT = "github:index/repositoryEnvironment:RepositoryEnvironment"
ADO_ENVIRONMENT = "azuredevops:index/environment:Environment"
ADO_CONNECTION = "azuredevops:index/serviceEndpointAzureRM:ServiceEndpointAzureRM"
ADO_APPROVAL = "azuredevops:index/checkApproval:CheckApproval"
ROLE = (
    "/subscriptions/00000000-0000-0000-0000-000000000015/providers/Microsoft.Authorization/roleDefinitions/"
)
GITHUB = "https://token.actions.githubusercontent.com"


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:prod::mlinfra::{type_}::{name}"


def res(type_: str, name: str = "r", protect: bool = False, deps: tuple = (), **inputs) -> dict:
    """One resource as a plan document holds it; `deps` are (type, name) pairs."""
    return {
        "urn": urn(type_, name),
        "type": type_,
        "name": name,
        "custom": True,
        "parent": None,
        "inputs": inputs,
        "dependencies": [urn(t, n) for t, n in deps],
        "protect": protect,
        "retainOnDelete": False,
    }


def plan(*resources: dict, outputs: dict | None = None) -> dict:
    stack = {**res(STACK, "mlinfra-prod"), "custom": False}
    return {
        "version": 1,
        "project": "mlinfra",
        "stack": "live",
        "resources": [stack, *resources],
        "outputs": outputs or {},
    }


def days(n: int) -> str:
    return (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=n)).strftime("%Y-%m-%dT00:00:00Z")


PRIVATE_WORKSPACE = dict(
    publicNetworkAccess="Disabled",
    managedNetwork={"isolationMode": "AllowOnlyApprovedOutbound"},
    hbiWorkspace=True,
)
OWN_DEPENDENCIES = dict(
    storageAccount="/sa", keyVault="/kv", applicationInsights="/ai", containerRegistry="/cr"
)
GATED_ENVIRONMENT = dict(
    environment="live",
    reviewers=[{"users": [1001], "teams": []}],
    preventSelfReview=True,
    canAdminsBypass=False,
    deploymentBranchPolicy={"protectedBranches": False, "customBranchPolicies": True},
)
APPROVAL = dict(approvers=["origin-1"], requesterCanApprove=False, minimumRequiredApprovers=1)
FIC = dict(issuer=GITHUB, audiences=["api://AzureADTokenExchange"])


def _ado(environment_approval: dict | None, endpoint_approval: dict | None = APPROVAL) -> dict:
    resources = [res(ADO_ENVIRONMENT, "env", description="Stage prod"), res(ADO_CONNECTION, "conn")]
    if environment_approval is not None:
        resources.append(
            res(
                ADO_APPROVAL,
                "env-approval",
                deps=((ADO_ENVIRONMENT, "env"),),
                targetResourceType="environment",
                **environment_approval,
            )
        )
    if endpoint_approval is not None:
        resources.append(
            res(
                ADO_APPROVAL,
                "conn-approval",
                deps=((ADO_CONNECTION, "conn"),),
                targetResourceType="endpoint",
                **endpoint_approval,
            )
        )
    return plan(*resources)


@dataclass
class Case:
    policy: str
    passing: dict
    failing: list[tuple[str, dict]] = field(default_factory=list)
    """(rule id the message must cite, plan) for each way to violate the policy."""
    production: bool = True
    customer_managed_keys: bool = False
    """The catalog's customerManagedKeys trait of the stage (only its policy reads it)."""


DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"


def _logged(missing: str = "", **setting) -> dict:
    """A production stage's workspace, vault, registry and storage with their diagnostic settings
    (the storage account's own and one per service), each tied to its resource by dependency;
    `missing` leaves one out, `setting` overrides the inputs of the vault's."""
    targets = [(WORKSPACE, "ws"), (VAULT, "kv"), (REGISTRY, "cr"), (STORAGE, "st")]
    settings = [
        (role, (type_, name))
        for (type_, name), role in zip(targets, ("ws", "vault", "cr", "st"), strict=True)
    ]
    settings += [(service, (STORAGE, "st")) for service in ("blob", "file", "queue", "table")]
    base = dict(workspaceId="/subscriptions/s/log", resourceUri="/r")  # the name input is res()'s `name`
    group = {"logs": [{"categoryGroup": "allLogs", "enabled": True}]}
    return plan(
        *(res(type_, name) for type_, name in targets),
        *(
            res(
                DIAGNOSTIC_SETTING,
                f"diag-{role}",
                deps=(target,),
                **{**base, **({} if role in ("st",) else group), **(setting if role == "vault" else {})},
                metrics=[{"category": "AllMetrics", "enabled": True}],
            )
            for role, target in settings
            if role != missing
        ),
    )


LOCK = "azure-native:authorization:ManagementLockByScope"


def _locked(missing: str = "", level: str = "CanNotDelete") -> dict:
    """A production stage's workspace, storage, vault and registry, each with a lock that depends on
    it (`missing`: the type left without one; `level`: the vault's lock's level)."""
    targets = [(WORKSPACE, "ws"), (STORAGE, "st"), (VAULT, "kv"), (REGISTRY, "cr")]
    return plan(
        *(res(type_, name) for type_, name in targets),
        *(
            res(
                LOCK,
                f"lock-{name}",
                deps=((type_, name),),
                scope="/r",
                lockName="mlinfra-cannot-delete",
                level=level if type_ == VAULT else "CanNotDelete",
            )
            for type_, name in targets
            if type_ != missing
        ),
    )


UAMI = "/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-cmk"
CMK_WORKSPACE = dict(
    encryption={
        "status": "Enabled",
        "keyVaultProperties": {
            "keyVaultArmId": "/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/vaults/kv",
            "keyIdentifier": "https://kv.vault.azure.net/keys/cmk/1",
        },
        "identity": {"userAssignedIdentity": UAMI},
    }
)
CMK_STORAGE = dict(encryption={"keySource": "Microsoft.Keyvault"})
CMK_REGISTRY = dict(encryption={"status": "enabled"})


def _encrypted(**broken) -> dict:
    """A workspace, storage account and registry on the customer-managed key; `broken` replaces one's inputs."""
    return plan(
        res(WORKSPACE, "ws", **broken.get("ws", CMK_WORKSPACE)),
        res(STORAGE, "st", **broken.get("st", CMK_STORAGE)),
        res(REGISTRY, "cr", **broken.get("cr", CMK_REGISTRY)),
    )


CASES = [
    Case(
        "customer-managed-keys",
        _encrypted(),
        [
            ("ML-4", _encrypted(ws={})),
            ("ML-4", _encrypted(ws={"encryption": {**CMK_WORKSPACE["encryption"], "identity": None}})),
            ("ML-4", _encrypted(st={"encryption": {"keySource": "Microsoft.Storage"}})),
            ("ML-4", _encrypted(cr={"encryption": {"status": "disabled"}})),
        ],
        production=False,  # the trait, not production, makes it mandatory
        customer_managed_keys=True,
    ),
    Case(
        "ml-workspace-production-isolation",
        plan(res(WORKSPACE, **PRIVATE_WORKSPACE)),
        [
            ("ML-1", plan(res(WORKSPACE, **{**PRIVATE_WORKSPACE, "publicNetworkAccess": "Enabled"}))),
            ("ML-1", plan(res(WORKSPACE, **PRIVATE_WORKSPACE, allowPublicAccessWhenBehindVnet=True))),
            (
                "ML-3",
                plan(
                    res(
                        WORKSPACE,
                        **{**PRIVATE_WORKSPACE, "managedNetwork": {"isolationMode": "AllowInternetOutbound"}},
                    )
                ),
            ),
            ("ML-9", plan(res(WORKSPACE, **{**PRIVATE_WORKSPACE, "hbiWorkspace": False}))),
        ],
    ),
    Case(
        "ml-workspace-own-dependencies",
        plan(res(WORKSPACE, **OWN_DEPENDENCIES)),
        [("ML-8", plan(res(WORKSPACE, **{**OWN_DEPENDENCIES, "containerRegistry": None})))],
    ),
    Case(
        "ml-workspace-datastore-auth",
        plan(
            res(STORAGE, "st", allowSharedKeyAccess=False),
            res(WORKSPACE, "ws", deps=((STORAGE, "st"),), systemDatastoresAuthMode="Identity"),
        ),
        [
            (
                "ML-7",
                plan(
                    res(STORAGE, "st", allowSharedKeyAccess=False),
                    res(WORKSPACE, "ws", deps=((STORAGE, "st"),), systemDatastoresAuthMode="AccessKey"),
                ),
            ),
            (
                "ML-7",
                plan(
                    res(STORAGE, "st", allowSharedKeyAccess=False),
                    res(WORKSPACE, "ws", deps=((STORAGE, "st"),)),
                ),
            ),
        ],
    ),
    Case(
        "registry-groups-in-the-shared-stack",
        plan(
            res(ML_REGISTRY, "registry", registryName="mlr-churn-weu"),
            res(ASSIGNMENT, "group", principalType="Group", scope=REGISTRY_ID),
            res(ASSIGNMENT, "identity", principalType="ServicePrincipal", scope=REGISTRY_ID),
        ),
        [
            ("RB-11", plan(res(ASSIGNMENT, "group", principalType="Group", scope=REGISTRY_ID))),
        ],
    ),
    Case(
        "storage-secure-transport",
        plan(res(STORAGE, minimumTlsVersion="TLS1_2", enableHttpsTrafficOnly=True)),
        [
            ("ST-4", plan(res(STORAGE, minimumTlsVersion="TLS1_0", enableHttpsTrafficOnly=True))),
            ("ST-4", plan(res(STORAGE, enableHttpsTrafficOnly=True))),
            ("ST-5", plan(res(STORAGE, minimumTlsVersion="TLS1_2", enableHttpsTrafficOnly=False))),
        ],
    ),
    Case(
        "storage-no-public-blob-access",
        plan(res(STORAGE, allowBlobPublicAccess=False), res(CONTAINER, publicAccess="None")),
        [
            ("ST-1", plan(res(STORAGE, allowBlobPublicAccess=True))),
            ("ST-1", plan(res(STORAGE))),
            ("ST-1", plan(res(CONTAINER, publicAccess="Container"))),
        ],
    ),
    Case(
        "storage-production-access",
        plan(res(STORAGE, allowSharedKeyAccess=False, publicNetworkAccess="Disabled")),
        [
            ("ST-3", plan(res(STORAGE, publicNetworkAccess="Disabled"))),
            (
                "ST-2",
                plan(
                    res(
                        STORAGE,
                        allowSharedKeyAccess=False,
                        publicNetworkAccess="Enabled",
                        networkRuleSet={"defaultAction": "Allow"},
                    )
                ),
            ),
        ],
    ),
    Case(
        "key-vault-rbac",
        plan(res(VAULT, properties={"enableRbacAuthorization": True})),
        [
            ("KV-1", plan(res(VAULT, properties={"enableRbacAuthorization": False}))),
            (
                "KV-1",
                plan(
                    res(
                        VAULT,
                        properties={"enableRbacAuthorization": True, "accessPolicies": [{"objectId": "x"}]},
                    )
                ),
            ),
        ],
    ),
    Case(
        "key-vault-production-protection",
        plan(res(VAULT, properties={"enablePurgeProtection": True, "publicNetworkAccess": "Disabled"})),
        [
            ("KV-2", plan(res(VAULT, properties={"publicNetworkAccess": "Disabled"}))),
            (
                "KV-4",
                plan(
                    res(
                        VAULT,
                        properties={
                            "enablePurgeProtection": True,
                            "publicNetworkAccess": "Enabled",
                            "networkAcls": {"defaultAction": "Allow"},
                        },
                    )
                ),
            ),
        ],
    ),
    Case(
        "registry-no-local-auth",
        plan(res(REGISTRY, adminUserEnabled=False, anonymousPullEnabled=False)),
        [
            ("ACR-1", plan(res(REGISTRY, adminUserEnabled=True, anonymousPullEnabled=False))),
            ("ACR-2", plan(res(REGISTRY, adminUserEnabled=False, anonymousPullEnabled=True))),
        ],
    ),
    Case(
        "registry-production-private",
        plan(res(REGISTRY, publicNetworkAccess="Disabled", sku={"name": "Premium"})),
        [
            ("ACR-3", plan(res(REGISTRY, publicNetworkAccess="Disabled", sku={"name": "Basic"}))),
            ("ACR-3", plan(res(REGISTRY, publicNetworkAccess="Enabled", sku={"name": "Premium"}))),
        ],
    ),
    Case(
        "production-resources-protected",
        plan(*[res(type_, protect=True) for type_ in STATEFUL_TYPES]),
        [("PU-3", plan(res(type_, protect=False))) for type_ in STATEFUL_TYPES],
    ),
    Case(
        "role-assignment-least-privilege",
        plan(
            res(
                ASSIGNMENT,
                "reader",
                roleDefinitionId=ROLE + "acdd72a7-3385-48ef-bd42-f606fba81ae7",
                principalType="Group",
            ),
            # Contributor is a deployment identity's role, never a human's (section (c) of the reference).
            res(ASSIGNMENT, "ci", roleDefinitionId=ROLE + rbac.CONTRIBUTOR, principalType="ServicePrincipal"),
            res(
                ASSIGNMENT,
                "delegate",
                roleDefinitionId=ROLE + rbac.RBAC_ADMINISTRATOR,
                principalType="ServicePrincipal",
                condition="((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'}))) ",
            ),
        ),
        [
            (
                "RB-1",
                plan(res(ASSIGNMENT, roleDefinitionId=ROLE + rbac.OWNER, principalType="ServicePrincipal")),
            ),
            (
                "RB-1",
                plan(
                    res(
                        ASSIGNMENT,
                        roleDefinitionId=ROLE + rbac.USER_ACCESS_ADMINISTRATOR,
                        principalType="Group",
                    )
                ),
            ),
            ("RB-1", plan(res(ASSIGNMENT, roleDefinitionId=ROLE + rbac.CONTRIBUTOR, principalType="Group"))),
            (
                "RB-8",
                plan(
                    res(
                        ASSIGNMENT,
                        roleDefinitionId=ROLE + rbac.RBAC_ADMINISTRATOR,
                        principalType="ServicePrincipal",
                    )
                ),
            ),
        ],
    ),
    Case(
        "role-assignment-principal-type",
        plan(res(ASSIGNMENT, principalType="Group")),
        [("RB-5", plan(res(ASSIGNMENT))), ("RB-5", plan(res(ASSIGNMENT, principalType="group")))],
    ),
    Case(
        "federated-credential-subject",
        plan(
            res(APP_FIC, "legacy", subject="repo:contoso/churn-mlops:environment:prod", **FIC),
            res(UAI_FIC, "immutable", subject="repo:contoso@123/churn-mlops@456:environment:prod", **FIC),
        ),
        [
            ("ID-3", plan(res(APP_FIC, subject="repo:contoso/*:*", **FIC))),
            ("ID-3", plan(res(UAI_FIC, subject="environment:prod", **FIC))),
            ("ID-4", plan(res(APP_FIC, subject="repo:contoso/churn-mlops:ref:refs/heads/main", **FIC))),
            ("ID-4", plan(res(APP_FIC, subject="repo:contoso/churn-mlops:pull_request", **FIC))),
            (
                "ID-2",
                plan(
                    res(
                        APP_FIC,
                        subject="repo:contoso/churn-mlops:environment:prod",
                        issuer=GITHUB,
                        audiences=["x"],
                    )
                ),
            ),
        ],
    ),
    Case(
        "client-secret-expiry",
        plan(res(PASSWORD, endDate=days(365))),
        [
            ("ID-1", plan(res(PASSWORD, applicationId="/applications/x"))),
            ("ID-1", plan(res(PASSWORD, endDate=days(3650)))),
            ("ID-1", plan(res(PASSWORD, endDate="next year"))),
        ],
    ),
    Case(
        "github-environment-gated",
        plan(res(GITHUB_ENVIRONMENT, **GATED_ENVIRONMENT)),
        [
            ("GH-2", plan(res(GITHUB_ENVIRONMENT, **{**GATED_ENVIRONMENT, "reviewers": []}))),
            ("GH-2", plan(res(GITHUB_ENVIRONMENT, **{**GATED_ENVIRONMENT, "canAdminsBypass": True}))),
            ("GH-2", plan(res(GITHUB_ENVIRONMENT, **{**GATED_ENVIRONMENT, "preventSelfReview": False}))),
            ("GH-3", plan(res(GITHUB_ENVIRONMENT, **{**GATED_ENVIRONMENT, "deploymentBranchPolicy": None}))),
            (
                "GH-3",
                plan(
                    res(
                        GITHUB_ENVIRONMENT,
                        **{
                            **GATED_ENVIRONMENT,
                            "deploymentBranchPolicy": {
                                "protectedBranches": True,
                                "customBranchPolicies": True,
                            },
                        },
                    )
                ),
            ),
        ],
    ),
    Case(
        "azure-devops-approvals",
        _ado(APPROVAL),
        [
            ("ADO-3", _ado(None)),
            ("ADO-3", _ado(APPROVAL, None)),
            ("ADO-3", _ado({**APPROVAL, "requesterCanApprove": True})),
            ("ADO-3", _ado({**APPROVAL, "approvers": []})),
        ],
    ),
    Case(
        "production-diagnostic-settings",
        _logged(),
        [
            ("ML-6", _logged(missing="vault")),
            ("KV-5", _logged(missing="blob")),
            ("ML-6", _logged(logs=[{"category": "AuditEvent", "enabled": True}])),
            ("KV-5", _logged(logs=[{"categoryGroup": "allLogs", "enabled": False}])),
            ("ML-6", _logged(workspaceId=None)),
        ],
    ),
    Case(
        "production-resources-locked",
        _locked(),
        [
            ("PU-3", _locked(missing=VAULT)),
            ("PU-3", _locked(level="NotSpecified")),
        ],
    ),
    Case(
        "no-secret-outputs",
        plan(outputs={"workspaceName": "mlw-churn-prod-weu", "clientId": "c1", "subscriptionId": "s"}),
        [
            ("PU-2", plan(outputs={"storageKey": "abc"})),
            ("PU-2", plan(outputs={"clientSecret": "abc"})),
            (
                "ST-12",
                plan(outputs={"endpoint": "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=Zm9v"}),
            ),
        ],
    ),
]
FAILING = [
    pytest.param(case, code, document, id=f"{case.policy}-{index}")
    for case in CASES
    for index, (code, document) in enumerate(case.failing)
]


def direct(policy, document: dict, production: bool, customer_managed_keys: bool = False) -> list[str]:
    """Run one policy the way the analyzer does (pulumi_policy/policy.py `Analyze`, `AnalyzeStack`)."""
    messages: list[str] = []

    def report(message, urn=None):
        messages.append(message)

    config = {"production": production, **({"customerManagedKeys": True} if customer_managed_keys else {})}

    def options(resource):
        return PolicyResourceOptions(
            resource["protect"], [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None
        )

    def props(resource):
        raw = document["outputs"] if resource["type"] == STACK else resource["inputs"]
        return unknown_checking_proxy(raw)

    if isinstance(policy, ResourceValidationPolicy):
        for resource in document["resources"]:
            args = ResourceValidationArgs(
                resource["type"],
                props(resource),
                resource["urn"],
                resource["name"],
                options(resource),
                None,
                config,
            )
            policy.validate(args, report)
        return messages
    nodes = {
        r["urn"]: PolicyResource(r["type"], props(r), r["urn"], r["name"], options(r), None, None, [], {})
        for r in document["resources"]
    }
    for r in document["resources"]:
        nodes[r["urn"]].dependencies = [nodes[d] for d in r["dependencies"]]
    policy.validate(StackValidationArgs(list(nodes.values()), config), report)
    return messages


def through_check(document: dict, production: bool, customer_managed_keys: bool = False):
    config = pack_config(pack.POLICIES, production=production, customer_managed_keys=customer_managed_keys)
    return check_plan(document, PROJECT_DIR, "live", config)


def test_every_policy_has_a_passing_and_a_failing_fixture():
    assert {case.policy for case in CASES} == set(POLICIES)
    assert all(case.failing for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.policy)
def test_passing_fixture_passes(case):
    traits = (case.production, case.customer_managed_keys)
    assert direct(POLICIES[case.policy], case.passing, *traits) == []
    assert [v for v in through_check(case.passing, *traits) if v.policy == case.policy] == []


@pytest.mark.parametrize(("case", "code", "document"), FAILING)
def test_failing_fixture_fails(case, code, document):
    traits = (case.production, case.customer_managed_keys)
    messages = direct(POLICIES[case.policy], document, *traits)
    assert messages and any(code in message for message in messages)
    found = [v for v in through_check(document, *traits) if v.policy == case.policy]
    assert [v.message for v in found] == messages
    assert {v.level for v in found} == {"mandatory"}


def test_customer_managed_keys_are_checked_only_where_the_catalog_requires_them():
    """Without the catalog's customerManagedKeys trait Microsoft-managed keys are a choice, not a violation."""
    document = _encrypted(ws={}, st={}, cr={})
    for production in (True, False):
        assert direct(POLICIES["customer-managed-keys"], document, production) == []
    assert direct(POLICIES["customer-managed-keys"], document, False, customer_managed_keys=True)


def test_the_policy_config_carries_the_customer_managed_keys_trait(tmp_path):
    """`mlinfra policy-config` reads the trait from the catalog: the policy is mandatory in that
    stage and gets the trait as a property; other policies keep the stage's own level."""
    document = pack_config(pack.POLICIES, production=False, customer_managed_keys=True)
    assert document["customer-managed-keys"] == {
        "production": False,
        "enforcementLevel": "mandatory",
        "customerManagedKeys": True,
    }
    assert document["all"] == "advisory"
    assert "customerManagedKeys" not in document["storage-secure-transport"]


def test_enforcement_is_advisory_outside_production():
    """T-54: the stage's config flips the same violation from mandatory to advisory."""
    document = plan(res(STORAGE, minimumTlsVersion="TLS1_0", enableHttpsTrafficOnly=True))
    assert {v.level for v in through_check(document, production=True)} == {"mandatory"}
    assert {v.level for v in through_check(document, production=False)} == {"advisory"}


@pytest.mark.parametrize(
    "case",
    [
        case
        for case in CASES
        if case.policy
        in {
            "ml-workspace-production-isolation",
            "storage-production-access",
            "key-vault-production-protection",
            "registry-production-private",
            "production-resources-protected",
            "github-environment-gated",
            "azure-devops-approvals",
        }
    ],
    ids=lambda case: case.policy,
)
def test_production_rules_do_not_apply_outside_production(case):
    for _, document in case.failing:
        assert direct(POLICIES[case.policy], document, production=False) == []


def test_branch_subjects_are_allowed_outside_production():
    """ID-4 is a production rule; wildcards (ID-3) are refused everywhere."""
    policy = POLICIES["federated-credential-subject"]
    branch = plan(res(APP_FIC, subject="repo:contoso/churn-mlops:ref:refs/heads/feature", **FIC))
    assert direct(policy, branch, production=False) == []
    wildcard = plan(res(APP_FIC, subject="repo:contoso/churn-mlops:*", **FIC))
    assert direct(policy, wildcard, production=False)


def test_unknown_inputs_are_reported_as_preview_limits_not_violations():
    """An input computed from a resource not yet created is unknown in a preview: reading it
    raises UnknownValueError, which the analyzer reports as an advisory "can't run policy ... during
    preview" (pulumi_policy/policy.py `Analyze`); a presence check never reads it."""
    document = plan(
        res(STORAGE, minimumTlsVersion="[unknown]", enableHttpsTrafficOnly=True),
        res(WORKSPACE, "ws", **{**OWN_DEPENDENCIES, "storageAccount": "[unknown]"}),
    )
    violations = through_check(document, production=True)
    assert [(v.policy, v.level) for v in violations if "during preview" in v.message] == [
        ("storage-secure-transport", "advisory")
    ]
    assert not [v for v in violations if v.policy == "ml-workspace-own-dependencies"]


def test_fails_when_the_policy_config_lacks_production():
    """Every policy requires `production` (no default), as the CLI's config validation would
    (pulumi/pulumi pkg/resource/analyzer/config.go, validatePolicyPackConfig)."""
    with pytest.raises(PackConfigError, match="production is required"):
        resolve(pack.POLICIES, {"all": "mandatory"})


def test_fails_when_the_policy_config_has_a_bad_enforcement_level():
    with pytest.raises(PackConfigError, match="not an enforcement level"):
        resolve(pack.POLICIES, {**pack_config(pack.POLICIES, production=True), "all": "strict"})


def test_config_resolves_like_the_cli():
    """`all` sets every policy's level, a policy's own entry overrides it, properties merge
    (pulumi/pulumi pkg/resource/analyzer/config.go, applyConfig)."""
    document = pack_config(pack.POLICIES, production=True)
    document["key-vault-rbac"] = {"enforcementLevel": "disabled", "production": True}
    resolved = resolve(pack.POLICIES, document)
    assert resolved["storage-secure-transport"].level.value == "mandatory"
    assert resolved["key-vault-rbac"].level.value == "disabled"
    assert resolved["key-vault-rbac"].properties == {"production": True}
    disabled = plan(res(VAULT, properties={"enableRbacAuthorization": False}))
    assert not [v for v in evaluate(disabled, pack.POLICIES, resolved) if v.policy == "key-vault-rbac"]


def test_pack_constants_match_the_project():
    """The pack runs in its own venv without the project's code, so it carries copies of a few
    constants; they must equal the project's (reference section (c) GUIDs, T-55)."""
    from mlinfra.access.deployment_identity import TOKEN_EXCHANGE_AUDIENCE
    from mlinfra.access.github_environment import GITHUB_OIDC_ISSUER
    from mlinfra.config.rules.consistency import CLIENT_SECRET_MAX_DAYS
    from mlinfra.facts.roles import ROLES

    assert ROLES["Owner"].guid == rbac.OWNER
    assert ROLES["User Access Administrator"].guid == rbac.USER_ACCESS_ADMINISTRATOR
    assert ROLES["Contributor"].guid == rbac.CONTRIBUTOR
    assert ROLES["Role Based Access Control Administrator"].guid == rbac.RBAC_ADMINISTRATOR
    assert identity.SECRET_MAX_DAYS == CLIENT_SECRET_MAX_DAYS
    assert identity.GITHUB_ISSUER == GITHUB_OIDC_ISSUER
    assert identity.TOKEN_EXCHANGE_AUDIENCE == TOKEN_EXCHANGE_AUDIENCE
    assert set(protection.STATEFUL) == set(STATEFUL_TYPES)


def test_wire_values_the_policies_compare_with_are_the_sdks():
    """Enum values the policies compare with, as the installed SDKs send them
    (pulumi_azure_native storage/_enums.py, machinelearningservices/_enums.py,
    containerregistry/_enums.py, authorization/_enums.py)."""
    from pulumi_azure_native import authorization, containerregistry, storage
    from pulumi_azure_native import machinelearningservices as mls

    assert storage.MinimumTlsVersion.TLS1_2.value == "TLS1_2"
    assert mls.SystemDatastoresAuthMode.IDENTITY.value == "Identity"
    assert mls.IsolationMode.ALLOW_ONLY_APPROVED_OUTBOUND.value == "AllowOnlyApprovedOutbound"
    assert mls.PublicNetworkAccessType.DISABLED.value == "Disabled"
    assert containerregistry.SkuName.PREMIUM.value == "Premium"
    assert set(rbac.PRINCIPAL_TYPES) == {member.value for member in authorization.PrincipalType}


def test_policy_options_carry_no_retain_on_delete():
    """Why the pack checks `protect` only (PU-3): pulumi_policy 1.21's PolicyResourceOptions has no
    retainOnDelete (pulumi_policy/policy.py), so that half stays with the components' unit tests."""
    import inspect

    assert "retain_on_delete" not in inspect.signature(PolicyResourceOptions).parameters
    assert "protect" in inspect.signature(PolicyResourceOptions).parameters


REASON = "vendor scoring needs HBI off until the 2027-06 contract"


def test_a_relaxed_rule_is_advisory_with_its_reason():
    """production_rules.py: a production stage may break a rule it names in productionRelaxations
    with a reason, which its config then accepts; the pack (RELAXED_POLICIES) runs the policies of
    that rule advisory for the stage and each message carries the reason. CrossGuard takes a
    per-policy `enforcementLevel` over `all` (pulumi/pulumi pkg/resource/analyzer/config.go,
    ReconcilePolicyPackConfig)."""
    document = plan(res(WORKSPACE, **{**PRIVATE_WORKSPACE, "hbiWorkspace": False}))
    config = pack_config(pack.POLICIES, production=True, relaxations={"highBusinessImpact": REASON})
    found = [
        v
        for v in check_plan(document, PROJECT_DIR, "live", config)
        if v.policy == "ml-workspace-production-isolation"
    ]
    assert found and {v.level for v in found} == {"advisory"}
    assert all(f"productionRelaxations.highBusinessImpact: {REASON}" in v.message for v in found)


def test_a_relaxation_leaves_the_other_policies_mandatory():
    document = plan(res(STORAGE, minimumTlsVersion="TLS1_0", enableHttpsTrafficOnly=True))
    config = pack_config(pack.POLICIES, production=True, relaxations={"highBusinessImpact": REASON})
    assert {v.level for v in check_plan(document, PROJECT_DIR, "live", config)} == {"mandatory"}


def test_without_a_relaxation_the_same_violation_is_mandatory():
    document = plan(res(WORKSPACE, **{**PRIVATE_WORKSPACE, "hbiWorkspace": False}))
    found = [
        v for v in through_check(document, production=True) if v.policy == "ml-workspace-production-isolation"
    ]
    assert found and {v.level for v in found} == {"mandatory"}
    assert all("relaxed" not in v.message for v in found)


def test_every_production_rule_names_the_policies_that_enforce_it():
    """The pack's RELAXED_POLICIES covers exactly the keys of productionRelaxations, and names
    policies the pack has."""
    from mlinfra.config.rules.production_rules import ProductionRule
    from mlinfra_policy.config import RELAXED_POLICIES

    assert set(RELAXED_POLICIES) == {str(rule) for rule in ProductionRule}
    assert {name for names in RELAXED_POLICIES.values() for name in names} <= set(POLICIES)


def test_the_stage_config_carries_the_stack_files_relaxations(tmp_path):
    """mlinfra policy-config reads mlinfra:productionRelaxations from the stack file."""
    import shutil

    from mlinfra.review.check_config import config_for
    from tests.conftest import PRODUCTION_STACK as prod

    shutil.copy(PROJECT_DIR / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copytree(PROJECT_DIR / "policy", tmp_path / "policy", ignore=shutil.ignore_patterns("__pycache__"))
    text = (PROJECT_DIR / f"Pulumi.{prod}.yaml").read_text()
    text += f"  mlinfra:productionRelaxations:\n    highBusinessImpact: {REASON}\n"
    (tmp_path / f"Pulumi.{prod}.yaml").write_text(text)
    document = config_for(tmp_path, prod)
    assert document["ml-workspace-production-isolation"]["enforcementLevel"] == "advisory"
    assert document["ml-workspace-production-isolation"]["relaxations"] == {"highBusinessImpact": REASON}
    assert "enforcementLevel" not in document["storage-production-access"]
