"""Renders a Plan as JSON (the contract described in docs/planner.md, "What the planner is", version 1) or as a `pulumi preview`-like text tree."""

import json
import shutil
import textwrap
from collections import Counter
from typing import Any

from mlinfra.planner.mock_cloud import ARM_TYPES, physical_name
from mlinfra.planner.plan_summary import summarize, summary_lines
from mlinfra.planner.recorder import Plan, Resource
from mlinfra.planner.views import (
    SCOPE_ORDER,
    access_view,
    environments_view,
    network_view,
    principal_label,
    sharing_view,
)

NOISE_INPUTS = ("location", "tags", "resourceGroupName")
"""Inputs the text tree leaves out: the same on every resource of a stage (the JSON has them)."""


def to_json(plan: Plan) -> str:
    document = plan.to_json()
    outputs = document.pop("outputs")
    document["access"] = access_view(plan)
    document["environments"] = environments_view(plan)
    document["network"] = network_view(plan)
    document["outputs"] = outputs
    return json.dumps(document, indent=2) + "\n"


def to_markdown(plan: Plan) -> str:
    """The Markdown plan (mlinfra/planner/render_markdown.py); its folded tree is the text plan at 120 columns."""
    from mlinfra.planner.render_markdown import to_markdown as markdown

    return markdown(plan, to_text(plan, width=120))


def terminal_width() -> int:
    """The terminal's width, COLUMNS when set (a pipe has no terminal), else 120."""
    return max(60, shutil.get_terminal_size((120, 24)).columns)


def to_text(plan: Plan, width: int | None = None) -> str:
    """The summary first (what a reviewer weighs), then the tree wrapped to `width` columns."""
    width = width or terminal_width()
    lines = [
        f"Plan of stack '{plan.stack}' (project '{plan.project}'): offline, mock engine, nothing is created.",
        "",
        *_summary(plan, width),
        *_sharing_warning(plan),
    ]
    lines += _tree(plan, width)
    lines += ["", f"Resources: {len(plan.resources)} to create"]
    counts = Counter(resource.type for resource in plan.resources)
    for type_, count in sorted(counts.items()):
        lines.append(f"  {count:>3}  {type_}")
    lines += _access_matrix(plan)
    lines += _environment_table(plan)
    lines += _network_table(plan)
    if plan.outputs:
        lines += ["", "Outputs:"]
        width = max(len(name) for name in plan.outputs)
        lines += [f"    {name:<{width}}: {_scalar(value)}" for name, value in plan.outputs.items()]
    return "\n".join(lines) + "\n"


def _summary(plan: Plan, width: int) -> list[str]:
    lines = ["Summary:"]
    for heading, entries in summary_lines(summarize(plan), plan.stack):
        lines.append(f"  {heading}:")
        for entry in entries:
            lines += textwrap.wrap(
                entry, width, initial_indent="    ", subsequent_indent="      ", break_long_words=False
            )
    return [*lines, ""]


def _tree(plan: Plan, width: int) -> list[str]:
    """The resources as `pulumi preview` draws them: columns when they fit in `width`, otherwise
    the name and physical name on a line of their own; inputs wrap (an ARM id stays whole)."""
    rows = _tree_rows(plan)
    type_width = max(len(prefix + r.type) for prefix, _, r in rows)
    name_width = max(len(r.name) for _, _, r in rows)
    widest = max(len(physical_name(r.type, r.inputs) or "") for _, _, r in rows)
    columns = 4 + type_width + 2 + name_width + 2 + widest + 20 <= width
    lines = [
        f"    {'Type':<{type_width}}  {'Name':<{name_width}}  Physical name"
        if columns
        else "    Type / Name  Physical name"
    ]
    for prefix, detail_prefix, resource in rows:
        flags = " ".join(
            flag
            for flag, on in (("[protect]", resource.protect), ("[retain]", resource.retain_on_delete))
            if on
        )
        physical = physical_name(resource.type, resource.inputs) or ""
        if columns:
            lines.append(
                f" +  {prefix + resource.type:<{type_width}}  {resource.name:<{name_width}}  {physical} {flags}".rstrip()
            )
        else:
            lines.append(f" +  {prefix}{resource.type}")
            lines += textwrap.wrap(
                f"{resource.name}  {physical} {flags}".rstrip(),
                width,
                initial_indent=f"    {detail_prefix} ",
                subsequent_indent=f"    {detail_prefix}   ",
                break_long_words=False,
                break_on_hyphens=False,
            )
        for key, value in _interesting_inputs(resource):
            lines += textwrap.wrap(
                f"{key}: {_scalar(value)}",
                width,
                initial_indent=f"    {detail_prefix}    ",
                subsequent_indent=f"    {detail_prefix}      ",
                break_long_words=False,
                break_on_hyphens=False,
            )
    return lines


def _sharing_warning(plan: Plan) -> list[str]:
    """The stages on a shared workspace and the personas whose roles there hold for all (RB-10)."""
    sharing = sharing_view(plan)
    if sharing is None:
        return []
    stages = sharing["stages"]
    lines = [
        f"WARNING: stages {' and '.join(stages)} share one Azure ML workspace ({sharing['workspace']}, owned by "
        f"stack {sharing['ownerStack']}):",
        "  every role granted on its scopes, by either stage, holds in both (RB-10). Personas affected:",
    ]
    by_persona: dict[str, list[str]] = {}
    for stage in stages:
        for persona, entry in (sharing["personas"].get(stage) or {}).items():
            roles = "; ".join(f"{', '.join(roles)} on {kind}" for kind, roles in entry["roles"].items())
            by_persona.setdefault(persona, []).append(f"{stage}: {roles}")
    width = max((len(persona) for persona in by_persona), default=0)
    lines += [
        f"    {persona:<{width}}  {' | '.join(grants)}" for persona, grants in sorted(by_persona.items())
    ]
    if not by_persona:
        lines.append("    none yet")
    if sharing.get("reason"):
        lines.append(f"  Acknowledged (workspace.sharedWithDataScienceReason): {sharing['reason']}")
    return [*lines, ""]


def _access_matrix(plan: Plan) -> list[str]:
    """Who can do what: rows are principals, columns scopes, cells the roles."""
    entries = access_view(plan)
    if not entries:
        return ["", "Access: no role assignments"]
    kinds = [kind for kind in SCOPE_ORDER if any(e["scopeKind"] == kind for e in entries)]
    kinds += sorted({e["scopeKind"] or "other" for e in entries} - set(kinds))
    shared = {entry["scopeKind"] for entry in entries if entry["sharedWith"]}
    cells: dict[str, dict[str, list[str]]] = {}
    for entry in entries:
        row = cells.setdefault(principal_label(entry), {})
        row.setdefault(entry["scopeKind"] or "other", []).append(entry["role"] or entry["roleId"])
    first = max(len("Principal"), *(len(label) for label in cells))
    header = {kind: f"{kind} [shared]" if kind in shared else kind for kind in kinds}
    widths = {
        kind: max(len(header[kind]), *(len(role) for row in cells.values() for role in row.get(kind, [])))
        for kind in kinds
    }
    lines = ["", f"Access ({len(entries)} role assignments):", ""]
    if shared:
        stages = next(entry["sharedWith"] for entry in entries if entry["sharedWith"])
        lines[-1:] = [f"  [shared]: a scope of the workspace {' and '.join(stages)} share (RB-10)", ""]
    lines.append(
        "  "
        + " | ".join(
            [f"{'Principal':<{first}}", *(f"{header[kind]:<{widths[kind]}}" for kind in kinds)]
        ).rstrip()
    )
    lines.append("  " + "-+-".join(["-" * first, *("-" * widths[kind] for kind in kinds)]))
    for label, row in cells.items():
        height = max(len(roles) for roles in row.values())
        for line in range(height):
            parts = [f"{label if line == 0 else '':<{first}}"]
            parts += [
                f"{(row.get(kind, [])[line] if line < len(row.get(kind, [])) else ''):<{widths[kind]}}"
                for kind in kinds
            ]
            lines.append("  " + " | ".join(parts).rstrip())
    return lines


def _environment_table(plan: Plan) -> list[str]:
    """One block per CI environment: what gates a deployment and what trusts it."""
    views = environments_view(plan)
    if not views:
        return ["", "CI environments: none (the deployment identity trusts nobody)"]
    lines = ["", f"CI environments of stage '{plan.stack}':"]
    for view in views:
        rows = [("platform", view["platform"]), ("environment", view["name"])]
        if view["platform"] == "github":
            reviewers = view["reviewers"]["users"] + [f"team {t}" for t in view["reviewers"]["teams"]]
            policy = view["branchPolicy"]
            rows += [
                ("repository", view["repository"]),
                ("reviewers", ", ".join(reviewers) or "none"),
                (
                    "branch policy",
                    policy
                    if isinstance(policy, str)
                    else ", ".join([*policy["branches"], *(f"tag {t}" for t in policy["tags"])]),
                ),
                ("protection", ", ".join(f"{k}={_scalar(v)}" for k, v in view["checks"].items())),
            ]
        else:
            connection = view["serviceConnection"]
            rows += [
                (
                    "service connection",
                    f"{connection['name']} ({connection['authenticationScheme']}, scope {connection['scope']})",
                ),
                ("approvers", ", ".join(view["approvers"]) or "none"),
                ("branch policy", view["branchPolicy"] or "none"),
                ("checks", ", ".join(f"{c['type']} on {c['on']}" for c in view["checks"]) or "none"),
                ("pipelines", ", ".join(str(p) for p in view["pipelines"]) or "none authorized"),
            ]
        rows += [
            ("secrets", ", ".join(view["secrets"]) or "none"),
            ("variables", ", ".join(f"{k}={v}" for k, v in view["variables"].items()) or "none"),
        ]
        federation = view["federatedCredential"]
        if federation:
            rows += [
                ("trust issuer", federation["issuer"]),
                ("trust subject", federation["subject"]),
                ("trust audience", ", ".join(federation["audiences"] or [])),
            ]
        width = max(len(key) for key, _ in rows)
        lines += [""] + [f"  {key:<{width}}  {value}" for key, value in rows]
    return lines


def _network_table(plan: Plan) -> list[str]:
    view = network_view(plan)
    sharing = sharing_view(plan)
    if sharing is not None and not view["exposure"]:
        return [
            "",
            f"Network: nothing of its own; the shared workspace's is stack {sharing['ownerStack']}'s (ML-16)",
        ]
    lines = ["", "Network:", ""]
    width = max([len(e["resource"] or "") for e in view["exposure"]] + [8])
    for entry in view["exposure"]:
        state = "PUBLIC" if entry["publicNetworkAccess"] in ("Enabled", "enabled") else "private"
        lines.append(f"  {entry['resource']:<{width}}  {state}")
    if view["privateEndpoints"]:
        lines += ["", "  Private endpoints:"]
        for endpoint in view["privateEndpoints"]:
            zones = ", ".join(
                zone.rsplit("/", 1)[-1] if isinstance(zone, str) else str(zone)
                for zone in endpoint["dnsZones"]
            )
            lines.append(f"    {endpoint['name']}  [{endpoint['groupId']}]  zones: {zones or 'NONE'}")
    if view["createdDnsZones"]:
        lines.append(
            f"  DNS zones created and linked: {', '.join(z['name'] for z in view['createdDnsZones'])}"
        )
    return lines + _reachability_lines(view)


FIREWALL_NOTE = {
    "Standard": "Azure Firewall Standard, about USD 1.25/hour plus data processed",
    "Basic": "Azure Firewall Basic, about USD 0.40/hour plus data processed",
}


def _reachability_lines(view: dict) -> list[str]:
    """Subnets, peering, managed-network outbound rules, compute IPs and the monitoring scope."""
    lines = []
    if view["subnets"]:
        lines += ["", "  Subnets:"]
        for subnet in view["subnets"]:
            extras = [f"delegated to {', '.join(subnet['delegations'])}"] if subnet["delegations"] else []
            extras += [f"GitHub network settings {', '.join(subnet['githubNetworkSettings'])}"] * bool(
                subnet["githubNetworkSettings"]
            )
            nsg = "NSG (Internet inbound denied)" if subnet["nsg"] else "NO NSG"
            lines.append(
                f"    {subnet['name']}  {subnet['addressPrefix']}  {nsg}  {'; '.join(extras)}".rstrip()
            )
    for peering in view["peerings"]:
        lines.append(f"  Peering {peering['name']}: {peering['from']} -> {peering['to']}")
    request = view["hubPeeringRequest"] or {}
    hub_side, grant = request.get("hubSide"), request.get("grant")
    if hub_side:
        lines.append(
            f"  NOTE: the hub team must create peering {hub_side['peeringName']} on {hub_side['virtualNetworkId']} "
            f"to {hub_side['remoteVirtualNetworkId']} (output hubPeeringRequest.hubSide)"
        )
    if grant:
        lines.append(
            f"  NOTE: no peering to the hub yet: the hub team must grant {grant['principal']} {grant['action']} "
            f"on {grant['scope']} (output hubPeeringRequest.grant)"
        )
    for step in request.get("then") or []:
        lines.append(f"  NOTE: then {step}")
    managed = view["managedNetwork"]
    if managed["isolationMode"]:
        lines += ["", f"  Managed network: {managed['isolationMode']}"]
        if managed["firewallSku"]:
            lines.append(
                f"    firewall for FQDN rules: {FIREWALL_NOTE.get(managed['firewallSku'], managed['firewallSku'])}"
            )
        for rule in managed["outboundRules"]:
            lines.append(f"    outbound {rule['type']:<15} {rule['name']}: {rule['destination']}")
    for compute in view["compute"]:
        ip = "public node IPs" if compute["nodePublicIp"] else "no public node IP"
        lines.append(f"  Compute {compute['name']}: {ip}")
    for scope in view["monitoringScopes"]:
        lines.append(
            f"  Monitoring private link scope {scope['name']}: ingestion {scope['ingestionAccessMode']}, "
            f"query {scope['queryAccessMode']}; scoped: {', '.join(scope['scopedResources'])}"
        )
    return lines


def _tree_rows(plan: Plan) -> list[tuple[str, str, Resource]]:
    """(tree prefix, prefix for detail lines, resource) in plan order, drawn like `pulumi preview`."""
    known = {resource.urn for resource in plan.resources}
    children: dict[str | None, list[Resource]] = {}
    for resource in plan.resources:
        children.setdefault(resource.parent if resource.parent in known else None, []).append(resource)
    rows: list[tuple[str, str, Resource]] = []

    def visit(parent: str | None, indent: str, top: bool) -> None:
        siblings = children.get(parent, [])
        for index, resource in enumerate(siblings):
            last = index == len(siblings) - 1
            branch = "" if top else ("└─ " if last else "├─ ")
            below = indent if top else indent + ("   " if last else "│  ")
            has_children = bool(children.get(resource.urn))
            rows.append((indent + branch, below + ("│  " if has_children else "   "), resource))
            visit(resource.urn, below, False)

    visit(None, "", True)
    return rows


def _interesting_inputs(resource: Resource) -> list[tuple[str, Any]]:
    arm = ARM_TYPES.get(resource.type)
    skip = set(NOISE_INPUTS) | ({arm.name_input} if arm else set())  # the name has its own column
    flat: list[tuple[str, Any]] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict) and value:
            for key in sorted(value):
                walk(f"{prefix}.{key}" if prefix else key, value[key])
        elif isinstance(value, list) and value and any(isinstance(item, (dict, list)) for item in value):
            for index, item in enumerate(value):
                walk(f"{prefix}[{index}]", item)
        else:
            flat.append((prefix, value))

    for key in sorted(resource.inputs):
        if key not in skip:
            walk(key, resource.inputs[key])
    return flat


def _scalar(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
