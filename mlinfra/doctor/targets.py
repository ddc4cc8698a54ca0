"""What doctor checks for a stack, derived from the estate model (`mlinfra.estate.model.build`):
the rights its deployer needs at each scope (the estate verifier's own needs), the globally unique
names it will create, its compute clusters and managed-network firewall, its CI repository, GitHub
environments and service connection, the identities Azure DevOps must know, and the state backend
every stack shares. No I/O: it reads an estate model already planned offline."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from mlinfra.estate import needs as rules
from mlinfra.estate.identities import Identity
from mlinfra.estate.inventory import StackPlan
from mlinfra.estate.model import Estate

NAMED_TYPES = {
    "azure-native:keyvault:Vault": ("key vault", "vaultName"),
    "azure-native:storage:StorageAccount": ("storage account", "accountName"),
    "azure-native:containerregistry:Registry": ("container registry", "registryName"),
    "azure-native:machinelearningservices:Workspace": ("AML workspace", "workspaceName"),
}
"""Planned resources whose name Azure may already hold: globally (key vault, storage, registry)
or by a soft-deleted predecessor (key vault, AML workspace)."""
COMPUTE = "azure-native:machinelearningservices:Compute"
RESOURCE_GROUP = "azure-native:resources:ResourceGroup"
WORKSPACE = "azure-native:machinelearningservices:Workspace"
OUTBOUND_RULE = "azure-native:machinelearningservices:ManagedNetworkSettingsRule"
AZURE_DEVOPS_TYPES = "azuredevops:"
"""Resources of the azuredevops provider: a stack that plans one makes Azure DevOps REST calls as
whoever runs it (its `up` creates them, a preview or drift refresh reads them)."""
INFRA_ENVIRONMENT = "infra-{stack}"
"""bootstrap/github_repository.py `environment_name`: the infra repository's environment of a stack."""
PREVIEW_ENVIRONMENT = "infra-preview"


@dataclass(frozen=True)
class PlannedName:
    kind: str
    """`key vault`, `storage account`, `container registry` or `AML workspace`."""
    name: str
    subscription: str
    location: str
    arm_id: str


@dataclass(frozen=True)
class Cluster:
    name: str
    vm_size: str
    max_nodes: int
    low_priority: bool
    subscription: str
    location: str


@dataclass(frozen=True)
class Firewall:
    """The Azure Firewall a workspace's managed network deploys for its FQDN outbound rules
    (how-to-managed-network.md, "Select an Azure Firewall version")."""

    workspace: str
    sku: str
    """`Standard` or `Basic` (`managedNetwork.firewallSku`); Standard when the plan sets none."""
    fqdn_rules: int
    location: str


@dataclass(frozen=True)
class GitHubEnvironment:
    """One GitHub environment the estate creates: a stage's own (its program, `ci.github`) or a
    stack's infra environment in the infra repository (bootstrap, `stages.<stack>`)."""

    stack: str
    repository: str
    environment: str
    users: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    wait_timer: int = 0
    configured_in: str = ""
    """Where its reviewers are configured (`Pulumi.prod.yaml mlinfra:ci.github.reviewers`)."""

    @property
    def protection_rules(self) -> list[str]:
        """The rules beyond deployment branches it asks for (GitHub "Managing environments for
        deployment": on Free, Pro and Team only public repositories get them)."""
        rules = []
        if self.users or self.teams:
            rules.append(f"{len(self.users) + len(self.teams)} required reviewer(s)")
        if self.wait_timer:
            rules.append(f"a {self.wait_timer}-minute wait timer")
        return rules


@dataclass(frozen=True)
class ScopeNeed:
    """The actions a deployer needs, checked at `scope`: the nearest scope that exists before the
    stack's first `up` (the need's own scope when the stack does not create it)."""

    scope: str
    actions: tuple[str, ...]
    data_actions: tuple[str, ...]
    needed_at: int
    """How many of the verifier's needs this scope stands for."""


@dataclass
class StackTarget:
    stack: StackPlan
    deployer: Identity | None
    scopes: list[ScopeNeed] = field(default_factory=list)
    names: list[PlannedName] = field(default_factory=list)
    clusters: list[Cluster] = field(default_factory=list)
    repository: tuple[str, str] | None = None
    """(owner/name, oidcSubjectFormat) of the stage's CI on GitHub."""
    service_connection: str | None = None
    """The Azure DevOps service connection its `up` runs through, when it has one."""
    firewalls: list[Firewall] = field(default_factory=list)
    environments: list[GitHubEnvironment] = field(default_factory=list)
    """Its stage's GitHub environment and its infra environment (`infra-<stack>`)."""
    azure_devops_resources: bool = False
    """Its plan has azuredevops resources."""

    @property
    def label(self) -> str:
        return self.stack.label


@dataclass(frozen=True)
class AzureDevOps:
    organization_url: str
    project: str


@dataclass
class EstateTarget:
    stacks: list[StackTarget]
    identities: list[Identity]
    """The identities whose Graph app roles to check: the selected stacks' deployers (and the preview
    identity with --estate)."""
    state_container: str | None
    secrets_key: str | None
    infra_repository: tuple[str, str] | None
    azure_devops: AzureDevOps | None
    principal_ids: dict[str, str] = field(default_factory=dict)
    """Identity id (`deployer:<stack>`, `preview`) -> its real object id, from bootstrap's outputs."""
    client_ids: dict[str, str] = field(default_factory=dict)
    github_environments: list[GitHubEnvironment] = field(default_factory=list)
    """Every selected stack's environments, and `infra-preview` with --estate."""
    azure_devops_users: dict[str, str] = field(default_factory=dict)
    """Identity id -> why Azure DevOps must know it: it runs a stack whose plan has azuredevops
    resources, so the provider calls Azure DevOps as that identity."""
    azure_devops_pipelines: dict[str, str] = field(default_factory=dict)
    """Identity id -> the service connection an Azure DevOps pipeline signs it in to Azure with,
    for the selected identities that Azure DevOps need not know (no azuredevops resource in what
    they run)."""


def parent_scope(scope: str) -> str:
    """The scope `scope` sits in: a resource's group (or parent resource, or the resource an
    extension resource extends), a group's subscription."""
    parts = scope.strip("/").split("/")
    if len(parts) <= 2:
        return "/" + "/".join(parts)
    parts = parts[:-2]
    if len(parts) >= 2 and parts[-2].lower() == "providers":
        parts = parts[:-2]
    return "/" + "/".join(parts)


def existing_scope(scope: str, planned: set[str]) -> str:
    """The nearest scope at or above `scope` that neither the stack nor any of its planned
    resources' children creates, so that it exists before the first `up` and ARM can answer
    permissions on it. A subscription is taken to exist."""
    chain = ["/" + scope.strip("/")]
    while chain[-1].count("/") > 2:
        chain.append(parent_scope(chain[-1]))
    highest = max((i for i, s in enumerate(chain) if s.lower() in planned), default=-1)
    return chain[highest + 1] if highest >= 0 else chain[0]


def _subject_format(github: dict) -> str:
    value = str(github.get("oidcSubjectFormat") or "classic")
    if value == "custom" and (github.get("oidcSubjectClaims") or {}).get("repositoryIds"):
        return "custom:ids"
    return value


def _scopes(stack: StackPlan, state: tuple[str | None, str | None]) -> list[ScopeNeed]:
    planned = {(stack.arm_id(r) or "").lower() for r in stack.plan.resources if r.custom}
    planned.discard("")
    spelled: dict[str, str] = {}
    held: dict[str, dict[bool, set[str]]] = defaultdict(lambda: {False: set(), True: set()})
    counts: dict[str, int] = defaultdict(int)
    for need in rules.deployer_needs(stack, state):
        if not need.scope.lower().startswith("/subscriptions/"):
            continue
        scope = existing_scope(need.scope, planned)
        key = scope.lower()
        spelled.setdefault(key, scope)
        held[key][need.data].add(need.action)
        counts[key] += 1
    return [
        ScopeNeed(spelled[key], tuple(sorted(held[key][False])), tuple(sorted(held[key][True])), counts[key])
        for key in sorted(held)
    ]


def _names(stack: StackPlan) -> list[PlannedName]:
    found = []
    location = str(stack.config.get("azure-native:location", ""))
    for resource in stack.plan.resources:
        kind = NAMED_TYPES.get(resource.type)
        if kind is None:
            continue
        name = str(resource.inputs.get(kind[1]) or "")
        if name:
            found.append(
                PlannedName(
                    kind[0],
                    name,
                    stack.subscription_id,
                    str(resource.inputs.get("location") or location),
                    stack.arm_id(resource) or "",
                )
            )
    return found


def _clusters(stack: StackPlan) -> list[Cluster]:
    found = []
    location = str(stack.config.get("azure-native:location", ""))
    for resource in stack.plan.of_type(COMPUTE):
        outer = resource.inputs.get("properties") or {}
        if outer.get("computeType") not in (None, "AmlCompute"):
            continue
        inner = outer.get("properties") or {}
        size = inner.get("vmSize")
        if not size:
            continue
        found.append(
            Cluster(
                str(resource.inputs.get("computeName") or resource.name),
                str(size),
                int((inner.get("scaleSettings") or {}).get("maxNodeCount") or 0),
                str(inner.get("vmPriority", "Dedicated")) == "LowPriority",
                stack.subscription_id,
                str(resource.inputs.get("location") or location),
            )
        )
    return found


def _firewalls(stack: StackPlan) -> list[Firewall]:
    """A workspace with FQDN outbound rules (separate rule resources or inline) gets a firewall;
    without one no firewall is deployed ("The firewall isn't created until you add an outbound
    FQDN rule")."""
    found = []
    location = str(stack.config.get("azure-native:location", ""))
    rules = stack.plan.of_type(OUTBOUND_RULE)
    for workspace in stack.plan.of_type(WORKSPACE):
        name = str(workspace.inputs.get("workspaceName") or workspace.name)
        network = workspace.inputs.get("managedNetwork") or {}
        inline = [r for r in (network.get("outboundRules") or {}).values() if (r or {}).get("type") == "FQDN"]
        separate = [
            r
            for r in rules
            if r.inputs.get("workspaceName") == name
            and (r.inputs.get("properties") or {}).get("type") == "FQDN"
        ]
        count = len(inline) + len(separate)
        if count:
            found.append(
                Firewall(
                    name,
                    str(network.get("firewallSku") or "Standard"),
                    count,
                    str(workspace.inputs.get("location") or location),
                )
            )
    return found


def _reviewers(section: object) -> tuple[tuple[str, ...], tuple[str, ...]]:
    reviewers = (section or {}).get("reviewers") if isinstance(section, dict) else None
    reviewers = reviewers if isinstance(reviewers, dict) else {}
    return tuple(str(u) for u in reviewers.get("users") or ()), tuple(
        str(t) for t in reviewers.get("teams") or ()
    )


def _stage_environment(stack: StackPlan) -> GitHubEnvironment | None:
    """The stage's own environment, named after the stack (mlinfra/stage/ml_stage.py)."""
    ci = stack.setting("mlinfra:ci") or {}
    github = ci.get("github") if isinstance(ci, dict) else None
    if not isinstance(github, dict) or not github.get("repository"):
        return None
    users, teams = _reviewers(github)
    file = stack.config_file.name if stack.config_file else f"Pulumi.{stack.stack}.yaml"
    return GitHubEnvironment(
        stack.label,
        str(github["repository"]),
        stack.stack,
        users,
        teams,
        int(github.get("waitTimer") or 0),
        f"{file} mlinfra:ci.github.reviewers",
    )


def _infra_environment(boot: StackPlan | None, stack: str | None) -> GitHubEnvironment | None:
    """`infra-<stack>` (or `infra-preview` when `stack` is None) in bootstrap's infra repository,
    its reviewers from `mlinfra-bootstrap:stages.<stack>` (bootstrap/settings.py)."""
    infra = boot.setting("mlinfra-bootstrap:github") if boot else None
    if boot is None or not isinstance(infra, dict) or not infra.get("repository"):
        return None
    if stack is None:
        return GitHubEnvironment("preview", str(infra["repository"]), PREVIEW_ENVIRONMENT)
    settings = (boot.setting("mlinfra-bootstrap:stages") or {}).get(stack) or {}
    users, teams = _reviewers(settings)
    return GitHubEnvironment(
        stack,
        str(infra["repository"]),
        INFRA_ENVIRONMENT.format(stack=stack),
        users,
        teams,
        int(settings.get("waitTimer") or 0) if isinstance(settings, dict) else 0,
        f"bootstrap/Pulumi.{boot.stack}.yaml mlinfra-bootstrap:stages.{stack}.reviewers",
    )


def _azure_devops_resources(stack: StackPlan) -> bool:
    return any(r.custom and r.type.startswith(AZURE_DEVOPS_TYPES) for r in stack.plan.resources)


def _azure_devops_identities(estate: Estate, chosen: list[Identity]) -> tuple[dict[str, str], dict[str, str]]:
    """Which chosen identities Azure DevOps must know (they run a stack with azuredevops resources,
    on either platform), and which merely sign in to Azure from an Azure DevOps pipeline."""
    by_environment = {env: i for i in chosen for env in i.environments}
    ado_stacks = {s.stack for s in estate.stacks if s.kind != "bootstrap" and _azure_devops_resources(s)}
    users: dict[str, list[str]] = defaultdict(list)
    pipelines: dict[str, str] = {}
    for run in estate.runs:
        # GitHub jobs sign in through their environment, Azure DevOps jobs through their connection.
        identity = by_environment.get(
            str(run.environment if run.platform == "github" else run.service_connection)
        )
        if identity is None:
            continue
        if run.stack in ado_stacks:
            verb = "creates" if run.operation == "up" else "reads"
            reason = f"its {run.operation} of {run.stack} {verb} Azure DevOps resources"
            if reason not in users[identity.id]:
                users[identity.id].append(reason)
        elif run.platform == "azure-devops" and run.service_connection:
            pipelines.setdefault(identity.id, run.service_connection)
    needed = {k: "; ".join(v) for k, v in users.items()}
    return needed, {k: v for k, v in pipelines.items() if k not in needed}


def load_outputs(path: Path | None) -> dict:
    """Bootstrap's stack outputs (`pulumi stack output --json --stack <s> --cwd bootstrap`): the
    real ids of the identities it created; the offline model only has the mock engine's."""
    if path is None or not path.is_file():
        return {}
    document = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise ValueError(f"{path}: expected the JSON object of `pulumi stack output --json`")
    return document


def build(estate: Estate, selected: list[str] | None, outputs: dict) -> EstateTarget:
    """The targets of the stacks in `selected` (None: every stack of the estate but bootstrap's)."""
    bootstrap = estate.bootstrap
    deployable = [s for s in estate.stacks if s.kind != "bootstrap"]
    known = [s.stack for s in deployable]
    if selected is not None:
        unknown = [s for s in selected if s not in known]
        if unknown:
            raise ValueError(f"--stack {unknown[0]!r}: not a stack of this estate; known: {', '.join(known)}")
    stacks = [s for s in deployable if selected is None or s.stack in selected]
    identities = bootstrap.identities if bootstrap else {}
    boot = next((s for s in estate.stacks if s.kind == "bootstrap"), None)
    state = (bootstrap.state_container, bootstrap.secrets_key) if bootstrap else (None, None)
    targets = []
    for stack in stacks:
        ci = stack.setting("mlinfra:ci") or {}
        github = ci.get("github") if isinstance(ci, dict) else None
        connection = next(
            (
                r.service_connection
                for r in estate.runs
                if r.stack == stack.stack and r.operation == "up" and r.service_connection
            ),
            None,
        )
        targets.append(
            StackTarget(
                stack,
                identities.get(f"deployer:{stack.stack}"),
                _scopes(stack, state),
                _names(stack),
                _clusters(stack),
                (str(github["repository"]), _subject_format(github))
                if isinstance(github, dict) and github.get("repository")
                else None,
                connection,
                _firewalls(stack),
                [
                    e
                    for e in (_stage_environment(stack), _infra_environment(boot, stack.stack))
                    if e is not None
                ],
                _azure_devops_resources(stack),
            )
        )
    chosen = [t.deployer for t in targets if t.deployer is not None]
    if selected is None and "preview" in identities:
        chosen.append(identities["preview"])
    environments = [e for t in targets for e in t.environments]
    preview_environment = _infra_environment(boot, None) if selected is None else None
    if preview_environment is not None:
        environments.append(preview_environment)
    ado_users, ado_pipelines = _azure_devops_identities(estate, chosen)
    infra = boot.setting("mlinfra-bootstrap:github") if boot else None
    ado = boot.setting("mlinfra-bootstrap:azureDevOps") if boot else None
    principal_ids = {f"deployer:{k}": str(v) for k, v in (outputs.get("deployerPrincipalIds") or {}).items()}
    client_ids = {f"deployer:{k}": str(v) for k, v in (outputs.get("deployerClientIds") or {}).items()}
    if outputs.get("previewPrincipalId"):
        principal_ids["preview"] = str(outputs["previewPrincipalId"])
    if outputs.get("previewClientId"):
        client_ids["preview"] = str(outputs["previewClientId"])
    return EstateTarget(
        targets,
        chosen,
        state[0],
        state[1],
        (str(infra["repository"]), _subject_format(infra))
        if isinstance(infra, dict) and infra.get("repository")
        else None,
        AzureDevOps(str(ado["organizationUrl"]).rstrip("/"), str(ado["project"]))
        if isinstance(ado, dict) and ado.get("organizationUrl") and ado.get("project")
        else None,
        principal_ids,
        client_ids,
        environments,
        ado_users,
        ado_pipelines,
    )
