"""What a change to this repository would change in each stack, security first.

Compares two plan documents (the planner's JSON, version 1) of the same stack: resources
added, removed and changed (by URN, with the changed inputs), and the findings a reviewer
must see first: access granted or revoked, CI environment gates and federated trust,
network exposure, protection flags, and replacements of stateful resources.
"""

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from mlinfra.diff.replacements import refused, replacing
from mlinfra.planner.mock_cloud import ARM_TYPES

STATEFUL_TYPES = frozenset(
    {
        "azure-native:resources:ResourceGroup",
        "azure-native:storage:StorageAccount",
        "azure-native:keyvault:Vault",
        "azure-native:operationalinsights:Workspace",
        "azure-native:applicationinsights:Component",
        "azure-native:containerregistry:Registry",
        "azure-native:machinelearningservices:Workspace",
        "azure-native:managedidentity:UserAssignedIdentity",
    }
)
"""Resources whose replacement loses data, identity or history."""

EXPOSURE = re.compile(
    r"publicNetworkAccess|networkRuleSet|networkAcls|allowBlobPublicAccess|anonymousPullEnabled"
    r"|isolationMode|allowSharedKeyAccess|adminUserEnabled|ipRules|allowPublicAccessWhenBehindVnet"
    r"|disableLocalAuth|enableNodePublicIp|accessModeSettings|securityRules|remoteVirtualNetwork"
    r"|useRemoteGateways|^properties\.destination|firewallSku"
)
"""Input paths that decide who can reach a resource over the network or with keys."""

SECURITY_INPUTS = re.compile(
    EXPOSURE.pattern
    + r"|principalId|principalType|roleDefinitionId|^scope$|owners|issuer|subject|audiences|reviewers"
    r"|approvers|deploymentBranchPolicy|branchPattern|tagPattern|allowedBranches|verifyBranchProtection"
    r"|ignoreUnknownProtectionStatus|preventSelfReview|canAdminsBypass|requesterCanApprove"
    r"|serviceEndpointAuthenticationScheme|credentials|identity\.type|hbiWorkspace|enablePurgeProtection"
    r"|enableRbacAuthorization|softDeleteRetentionInDays|minimumTlsVersion|enableHttpsTrafficOnly"
    r"|systemDatastoresAuthMode|defaultToOAuthAuthentication|pipelineId|resourceId"
)
"""Inputs a reviewer must see on an added resource: exposure, who is granted what, trust, gates."""

CATEGORY_ORDER = (
    "relaxation",
    "access",
    "trust",
    "environment",
    "network",
    "refused",
    "protection",
    "replacement",
)
RELAXATION = "mlinfra:policy:ProductionRelaxation"
"""The record a production stage registers per relaxed production rule (mlinfra/stage/ml_stage.py)."""


@dataclass
class Finding:
    category: str
    """relaxation, access, trust, environment, network, refused, protection or replacement."""
    text: str
    urn: str | None = None
    stateful: bool = False
    """A stateful resource is replaced or deleted: data, identity or history is lost. Listed first."""


@dataclass
class ResourceChange:
    urn: str
    type: str
    name: str
    change: str
    """added, removed, changed or replaced."""
    inputs: list[dict[str, Any]] = field(default_factory=list)
    """[{"path", "before", "after"}] for changed resources; the inputs of added/removed ones. An
    input holding a principal's object id also has "who" (the persona or identity it belongs to)."""
    reasons: list[str] = field(default_factory=list)
    """Why a replaced resource is replaced: each create-only input that changed, with its source."""


@dataclass
class StackDiff:
    stack: str
    findings: list[Finding] = field(default_factory=list)
    resources: list[ResourceChange] = field(default_factory=list)
    note: str | None = None
    """Why the diff is partial (a side could not be planned, or the stack is new)."""

    @property
    def changed(self) -> bool:
        return bool(self.findings or self.resources)

    def counts(self) -> dict[str, int]:
        counts = {kind: 0 for kind in ("added", "changed", "replaced", "removed")}
        for resource in self.resources:
            counts[resource.change] += 1
        return {"security": len(self.findings), **counts}


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}.{key}" if prefix else key))
        return flat
    return {prefix: value}


def _input_changes(before: dict, after: dict) -> list[dict[str, Any]]:
    old, new = _flatten(before), _flatten(after)
    return [
        {"path": path, "before": old.get(path), "after": new.get(path)}
        for path in sorted(set(old) | set(new))
        if old.get(path) != new.get(path)
    ]


def _physical(resource: dict) -> str | None:
    arm = ARM_TYPES.get(resource["type"])
    inputs = resource.get("inputs", {})
    return (
        inputs.get(arm.name_input)
        if arm
        else inputs.get("name") or inputs.get("displayName") or inputs.get("environment")
    )


def diff_plans(stack: str, base: dict | None, head: dict | None) -> StackDiff:
    """The changes from `base` to `head` (plan documents; None when the stack file is absent)."""
    result = StackDiff(stack)
    old = {r["urn"]: r for r in (base or {}).get("resources", [])}
    new = {r["urn"]: r for r in (head or {}).get("resources", [])}
    renamed = _renamed(old, new)
    for urn in sorted(set(new) - set(old) - set(renamed.values())):
        resource = new[urn]
        result.resources.append(
            ResourceChange(
                urn,
                resource["type"],
                resource["name"],
                "added",
                [
                    {"path": p, "before": None, "after": v}
                    for p, v in _flatten(resource["inputs"]).items()
                    if p
                ],
            )
        )
        _exposure_of_new(result, resource)
    for urn in sorted(set(old) - set(new) - set(renamed)):
        resource = old[urn]
        result.resources.append(ResourceChange(urn, resource["type"], resource["name"], "removed"))
        if (finding := _relaxation(resource, "no longer relaxed")) is not None:
            result.findings.append(finding)
        if resource["type"] in STATEFUL_TYPES:
            fate = (
                "blocked: it is protected"
                if resource.get("protect")
                else "dropped from state only (retainOnDelete)"
                if resource.get("retainOnDelete")
                else "DELETED"
            )
            result.findings.append(
                Finding(
                    "replacement",
                    f"stateful {_label(resource)} removed from the program: {fate}",
                    urn,
                    stateful=fate == "DELETED",
                )
            )
    for old_urn, new_urn in sorted(renamed.items()):
        resource = new[new_urn]
        result.resources.append(
            ResourceChange(
                new_urn,
                resource["type"],
                resource["name"],
                "replaced",
                [{"path": "urn", "before": old_urn, "after": new_urn}],
            )
        )
        result.findings.append(
            Finding(
                "replacement",
                f"{_label(resource)} changes URN ({old[old_urn]['name']} -> "
                f"{resource['name']}): without an alias it is deleted and created again"
                + "".join(f"; {text}" for text in _consequences(old[old_urn], resource)),
                new_urn,
                stateful=resource["type"] in STATEFUL_TYPES,
            )
        )
    for urn in sorted(set(old) & set(new)):
        _compare(result, old[urn], new[urn])
    _compare_access(result, base or {}, head or {})
    _compare_environments(result, base or {}, head or {})
    _name_principals(result, base or {}, head or {})
    # What loses data first (a reviewer must not scroll past it), then by category.
    result.findings.sort(key=lambda f: (not f.stateful, CATEGORY_ORDER.index(f.category)))
    result.resources.sort(
        key=lambda r: not (r.change in ("replaced", "removed") and r.type in STATEFUL_TYPES)
    )
    return result


def _renamed(old: dict, new: dict) -> dict[str, str]:
    """old URN -> new URN for stateful resources that kept type and physical name but not URN."""
    gone = {
        (r["type"], _physical(r)): urn
        for urn, r in old.items()
        if urn not in new and r["type"] in STATEFUL_TYPES
    }
    return {
        gone[(r["type"], _physical(r))]: urn
        for urn, r in new.items()
        if urn not in old and (r["type"], _physical(r)) in gone and _physical(r)
    }


def _label(resource: dict) -> str:
    return f"{resource['type'].split(':')[-1]} {_physical(resource) or resource['name']}"


def _compare(result: StackDiff, before: dict, after: dict) -> None:
    changes = _input_changes(before.get("inputs", {}), after.get("inputs", {}))
    replaced_by = replacing(after["type"], changes)
    # A replacement creates a new resource, so nothing is sent to the old one for Azure to refuse.
    for change, rule in [] if replaced_by else refused(after["type"], changes):
        result.findings.append(
            Finding(
                "refused",
                f"{_label(after)}: {change['path']} {_show(change['before'])} -> {_show(change['after'])} "
                f"will be refused by Azure: {rule.reason} ({rule.source})",
                after["urn"],
            )
        )
    for flag in ("protect", "retainOnDelete"):
        if bool(before.get(flag)) != bool(after.get(flag)):
            state = "on" if after.get(flag) else "OFF"
            result.findings.append(
                Finding("protection", f"{flag} turned {state} for {_label(after)}", after["urn"])
            )
            changes.append(
                {"path": f"[{flag}]", "before": bool(before.get(flag)), "after": bool(after.get(flag))}
            )
    if not changes:
        return
    reasons = [f"create-only {path} changed ({source})" for path, source in replaced_by]
    kind = "replaced" if replaced_by else "changed"
    result.resources.append(
        ResourceChange(after["urn"], after["type"], after["name"], kind, changes, reasons)
    )
    if replaced_by:
        stateful = "stateful " if after["type"] in STATEFUL_TYPES else ""
        paths = ", ".join(dict.fromkeys(path for path, _ in replaced_by))
        result.findings.append(
            Finding(
                "replacement",
                f"{stateful}{_label(after)} is REPLACED (create-only {paths} changed)"
                + "".join(f"; {text}" for text in _consequences(before, after)),
                after["urn"],
                stateful=bool(stateful),
            )
        )
    for change in changes:
        if EXPOSURE.search(change["path"]):
            result.findings.append(
                Finding(
                    "network",
                    f"{_label(after)}: {change['path']} "
                    f"{_show(change['before'])} -> {_show(change['after'])}",
                    after["urn"],
                )
            )


def _consequences(before: dict, after: dict) -> list[str]:
    """What replacing `before` by `after` does beyond the new resource (Pulumi resource options)."""
    if before.get("protect"):
        # The engine refuses to delete a protected resource, and a replacement deletes the old one.
        return ["`pulumi up` will refuse: the resource is protected (unprotect it first to replace it)"]
    texts = []
    if after.get("deleteBeforeReplace"):
        texts.append("the old one is deleted before the new one is created (deleteBeforeReplace)")
    if before.get("retainOnDelete"):
        texts.append("the old one is left behind in Azure, outside Pulumi's state (retainOnDelete)")
    if after["type"] == "azure-native:keyvault:Vault":
        days = (before.get("inputs", {}).get("properties") or {}).get("softDeleteRetentionInDays", 90)
        held = "while it exists" if before.get("retainOnDelete") else f"for {days} days of soft delete"
        texts.append(f"the old vault's name {_physical(before)} stays reserved {held}")
    return texts


OPENS_A_PATH = {
    "azure-native:machinelearningservices:ManagedNetworkSettingsRule": "managed-network outbound rule",
    "azure-native:network:VirtualNetworkPeering": "network peering",
}
"""Resource types whose creation lets traffic go somewhere it could not before."""


def _relaxation(resource: dict, verb: str) -> Finding | None:
    """A production rule relaxed (or no longer), with the reason the stack file gives."""
    if resource["type"] != RELAXATION:
        return None
    inputs = resource.get("inputs", {})
    text = f"production rule {inputs.get('rule')} of stage {inputs.get('stage')} {verb}"
    if verb == "relaxed":
        text += f": {_show(inputs.get('reason'))}"
    return Finding("relaxation", text, resource["urn"])


def _exposure_of_new(result: StackDiff, resource: dict) -> None:
    if (finding := _relaxation(resource, "relaxed")) is not None:
        result.findings.append(finding)
    inputs = resource.get("inputs", {})
    if resource["type"] in OPENS_A_PATH:
        target = (inputs.get("properties") or {}).get("destination") or inputs.get("remoteVirtualNetwork")
        result.findings.append(
            Finding(
                "network",
                f"new {OPENS_A_PATH[resource['type']]} {_label(resource)} to {_show(target)}",
                resource["urn"],
            )
        )
    if ((inputs.get("properties") or {}).get("properties") or {}).get("enableNodePublicIp") is True:
        result.findings.append(
            Finding("network", f"new {_label(resource)} gives its nodes public IPs", resource["urn"])
        )
    for path, value in _flatten(inputs).items():
        if EXPOSURE.search(path) and value in ("Enabled", "Allow", True) and "publicNetworkAccess" in path:
            result.findings.append(
                Finding(
                    "network",
                    f"new {_label(resource)} is reachable from the internet ({path} = {_show(value)})",
                    resource["urn"],
                )
            )


def _access_change(verb: str, preposition: str, entry: dict) -> str:
    """One access row granted or revoked, in words (registry rows say publish/read)."""
    role = entry.get("role") or entry["roleId"]
    if entry.get("registryAccess"):
        return (
            f"{verb} {entry['registryAccess']} on registry {entry.get('scopeName')} "
            f"{preposition} {_holder(entry)} ({role})"
        )
    return f"{verb} {_holder(entry)}: {role} on {entry.get('scopeKind')} {entry.get('scopeName') or entry['scope']}"


def _holder(entry: dict) -> str:
    if entry.get("persona"):
        return f"persona {entry['persona']} ({entry['principalType']} {entry['principal']})"
    if entry.get("identity"):
        return f"identity {entry['identity']} ({entry['principalType']})"
    return f"{entry['principalType']} {entry['principal']}"


def _compare_access(result: StackDiff, base: dict, head: dict) -> None:
    def keyed(document: dict) -> dict:
        # The identity's principal id is a placeholder that follows its name; key it by label.
        return {
            (
                e.get("persona") or e.get("identity") or e["principal"],
                e["roleId"],
                e.get("scopeKind"),
                e.get("scopeName") or e["scope"],
            ): e
            for e in document.get("access", [])
        }

    old, new = keyed(base), keyed(head)
    for key in sorted(set(new) - set(old), key=str):
        result.findings.append(
            Finding("access", _access_change("GRANT", "to", new[key]), new[key].get("urn"))
        )
    for key in sorted(set(old) - set(new), key=str):
        result.findings.append(
            Finding("access", _access_change("REVOKE", "from", old[key]), old[key].get("urn"))
        )


def _compare_environments(result: StackDiff, base: dict, head: dict) -> None:
    old = {(e["platform"], e["name"]): e for e in base.get("environments", [])}
    new = {(e["platform"], e["name"]): e for e in head.get("environments", [])}
    for key in sorted(set(new) - set(old)):
        result.findings.append(
            Finding("environment", f"new {key[0]} environment {key[1]}", new[key].get("urn"))
        )
        trust = new[key].get("federatedCredential") or {}
        if trust:
            result.findings.append(
                Finding(
                    "trust", f"{key[0]} environment {key[1]} is trusted by subject {trust.get('subject')}"
                )
            )
    for key in sorted(set(old) - set(new)):
        result.findings.append(
            Finding("environment", f"{key[0]} environment {key[1]} is removed", old[key].get("urn"))
        )
    for key in sorted(set(old) & set(new)):
        before, after = old[key], new[key]
        where = f"{key[0]} environment {key[1]}"
        for path_change in _input_changes(
            {k: v for k, v in before.items() if k not in ("urn", "federatedCredential")},
            {k: v for k, v in after.items() if k not in ("urn", "federatedCredential")},
        ):
            result.findings.append(
                Finding(
                    "environment",
                    f"{where}: {path_change['path']} "
                    f"{_show(path_change['before'])} -> {_show(path_change['after'])}",
                    after.get("urn"),
                )
            )
        for path_change in _input_changes(
            before.get("federatedCredential") or {}, after.get("federatedCredential") or {}
        ):
            result.findings.append(
                Finding(
                    "trust",
                    f"{where}: federated credential {path_change['path']} "
                    f"{_show(path_change['before'])} -> {_show(path_change['after'])}",
                    after.get("urn"),
                )
            )


def _name_principals(result: StackDiff, base: dict, head: dict) -> None:
    """Put the persona or identity next to every principal object id the changes mention."""
    names = {
        entry["principal"]: (
            f"persona {entry['persona']}" if entry.get("persona") else f"identity {entry['identity']}"
        )
        for document in (base, head)
        for entry in document.get("access", [])
        if entry.get("persona") or entry.get("identity")
    }
    for resource in result.resources:
        for change in resource.inputs:
            values = [change["before"], change["after"]]
            flat = [v for value in values for v in (value if isinstance(value, list) else [value])]
            who = sorted({names[v] for v in flat if isinstance(v, str) and v in names})
            if who:
                change["who"] = ", ".join(who)


def shown_inputs(resource: ResourceChange) -> list[dict[str, Any]]:
    """The inputs a report lists: every change of a changed or replaced resource, and the
    security-relevant inputs of an added one."""
    if resource.change == "added":
        return [i for i in resource.inputs if SECURITY_INPUTS.search(i["path"])]
    return resource.inputs if resource.change in ("changed", "replaced") else []


def _show(value: Any) -> str:
    return "(none)" if value is None else value if isinstance(value, str) else json.dumps(value)


def to_document(
    base_ref: str, base_commit: str, diffs: list[StackDiff], estate: Any = None
) -> dict[str, Any]:
    """The JSON report; `estate` (a `mlinfra.diff.estate.EstateChange`, or None when the diff does
    not cover the estate) becomes `estate`: {"introduced", "resolved", "note"} or null."""
    return {
        "version": 1,
        "base": {"ref": base_ref, "commit": base_commit},
        "estate": estate.to_json() if estate is not None else None,
        "stacks": [
            {
                "stack": d.stack,
                "note": d.note,
                "counts": d.counts(),
                "findings": [asdict(f) for f in d.findings],
                "resources": [asdict(r) for r in d.resources],
            }
            for d in diffs
        ],
        "changed": any(d.changed for d in diffs) or bool(estate and estate.introduced),
    }
