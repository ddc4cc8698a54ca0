"""The plan as Markdown, for a PR comment or a job summary: the summary as lists, who can do what as
a table, and the resource tree (a drawing, so a code block) folded under `<details>`."""

from mlinfra.planner.plan_summary import summarize, summary_lines
from mlinfra.planner.recorder import Plan
from mlinfra.planner.views import SCOPE_ORDER, access_view, principal_label


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _access_table(plan: Plan) -> list[str]:
    entries = access_view(plan)
    if not entries:
        return ["_No role assignments._"]
    kinds = [kind for kind in SCOPE_ORDER if any(e["scopeKind"] == kind for e in entries)]
    kinds += sorted({e["scopeKind"] or "other" for e in entries} - set(kinds))
    cells: dict[str, dict[str, list[str]]] = {}
    for entry in entries:
        row = cells.setdefault(principal_label(entry), {})
        row.setdefault(entry["scopeKind"] or "other", []).append(entry["role"] or entry["roleId"])
    lines = ["| Principal | " + " | ".join(kinds) + " |", "|---" * (len(kinds) + 1) + "|"]
    for label, row in cells.items():
        roles = [_escape("<br>".join(row.get(kind, []))) for kind in kinds]
        lines.append(f"| {_escape(label)} | " + " | ".join(roles) + " |")
    return lines


def to_markdown(plan: Plan, tree: str) -> str:
    """`tree` is the text plan (mlinfra/planner/render.py), shown folded after the summary."""
    lines = [
        f"### Plan of stack `{plan.stack}` (project `{plan.project}`)",
        "",
        "_Offline, mock engine, nothing is created._",
    ]
    for heading, entries in summary_lines(summarize(plan), plan.stack):
        lines += ["", f"**{heading}**", ""] + [f"- {_escape(entry)}" for entry in entries]
    lines += ["", f"**Access ({len(access_view(plan))} role assignments)**", "", *_access_table(plan)]
    lines += [
        "",
        f"<details><summary>Resources, environments, network and outputs ({len(plan.resources)} resources)</summary>",
        "",
        "```text",
        tree.rstrip("\n").replace("```", "'''"),
        "```",
        "",
        "</details>",
    ]
    return "\n".join(lines) + "\n"
