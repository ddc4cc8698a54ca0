"""What doctor checks for a stack, derived from the estate model (`planner.estate.model.build`):
the rights its deployer needs at each scope (the estate verifier's own needs), the globally unique
names it will create, its compute clusters, its CI repository and service connection, and the
state backend every stack shares. No I/O: it reads an estate model already planned offline."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from planner.estate import needs as rules
from planner.estate.identities import Identity
from planner.estate.inventory import StackPlan
from planner.estate.model import Estate

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
            )
        )
    chosen = [t.deployer for t in targets if t.deployer is not None]
    if selected is None and "preview" in identities:
        chosen.append(identities["preview"])
    boot = next((s for s in estate.stacks if s.kind == "bootstrap"), None)
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
    )
