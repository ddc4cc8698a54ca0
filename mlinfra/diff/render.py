"""Plan diffs as text (terminal), Markdown (a PR comment) and JSON; the estate findings a change
introduces come first in each."""

import json

from mlinfra.diff.compare import Finding, StackDiff, shown_inputs, to_document
from mlinfra.diff.estate import EstateChange

COMMENT_MARKER = "<!-- mlinfra-plan-diff -->"
"""Lets a workflow find and update its one PR comment."""
COMMENT_LIMIT = 65_536
"""GitHub's maximum comment size; past it the Markdown drops resource details, then findings."""


def diff_json(
    base_ref: str, base_commit: str, diffs: list[StackDiff], estate: EstateChange | None = None
) -> str:
    return json.dumps(to_document(base_ref, base_commit, diffs, estate), indent=2) + "\n"


def _finding(finding: dict[str, str]) -> str:
    return f"{finding['stack']}: {finding['message']} [{finding['rule']}]"


def _estate_lines(estate: EstateChange | None) -> list[str]:
    """The estate part of the text report: introduced findings, then resolved ones, then the note."""
    if estate is None:
        return []
    lines = [
        "",
        f"== estate (mlinfra estate): {len(estate.introduced)} introduced, {len(estate.resolved)} resolved",
    ]
    lines += [f"   + {_finding(f)}" for f in estate.introduced]
    lines += [f"   - resolved: {_finding(f)}" for f in estate.resolved]
    return lines + ([f"   note: {estate.note}"] if estate.note else [])


def _category(finding: Finding) -> str:
    """A finding's label; a stateful resource replaced or deleted says so, as it comes first."""
    return "DATA LOSS: " + finding.category if finding.stateful else finding.category


def _value(value) -> str:
    return "(none)" if value is None else value if isinstance(value, str) else json.dumps(value)


def _input(change: dict) -> tuple[str, str]:
    """(path, "before -> after") of an input change; an added resource's input shows its value only."""
    who = f" ({change['who']})" if change.get("who") else ""
    if change["before"] is None and change.get("after") is not None:
        return change["path"], f"{_value(change['after'])}{who}"
    return change["path"], f"{_value(change['before'])} -> {_value(change['after'])}{who}"


def diff_text(
    base_ref: str, base_commit: str, diffs: list[StackDiff], estate: EstateChange | None = None
) -> str:
    lines = [f"Plan diff against {base_ref} ({base_commit[:12]}): offline, mock engine."]
    lines += _estate_lines(estate)
    for diff in diffs:
        counts = diff.counts()
        lines += [
            "",
            f"== stack {diff.stack}: "
            + (", ".join(f"{n} {k}" for k, n in counts.items()) if diff.changed else "no changes"),
        ]
        if diff.note:
            lines += [f"   note: {line}" for line in diff.note.splitlines()]  # one line per problem
        if diff.findings:
            lines.append("   Security-relevant:")
            lines += [f"   ! [{_category(f)}] {f.text}" for f in diff.findings]
        for resource in diff.resources:
            lines.append(
                f"   {'+-~~'[['added', 'removed', 'changed', 'replaced'].index(resource.change)]} {resource.change:<8} {resource.type}  {resource.name}"
            )
            lines += [f"        why: {reason}" for reason in resource.reasons]
            lines += ["        {}: {}".format(*_input(c)) for c in shown_inputs(resource)]
    return "\n".join(lines) + "\n"


def diff_markdown(
    base_ref: str,
    base_commit: str,
    diffs: list[StackDiff],
    estate: EstateChange | None = None,
    limit: int = COMMENT_LIMIT,
) -> str:
    """The PR comment; shortened to fit `limit` characters, findings kept longest."""
    for detail in ("full", "counts", "findings-capped"):
        text = _markdown(base_ref, base_commit, diffs, estate, detail, limit)
        if len(text) <= limit:
            return text
    return (
        text[: limit - 200]
        + "\n\n_…cut to fit a GitHub comment; see the job summary artifact for the rest._\n"
    )


def _markdown_estate(estate: EstateChange | None, budget: int | None) -> list[str]:
    if estate is None or not (estate.introduced or estate.resolved or estate.note):
        return []
    lines = ["", "#### Estate findings (`mlinfra estate`)", ""]
    if estate.note:
        lines += [f"> {_escape(estate.note)}", ""]
    shown = estate.introduced[:budget] if budget else estate.introduced
    lines += [f"- **introduced** {_escape(_finding(f))}" for f in shown]
    if len(shown) < len(estate.introduced):
        lines.append(f"- … {len(estate.introduced) - len(shown)} more in the job summary artifact")
    resolved = estate.resolved[:budget] if budget else estate.resolved
    lines += [f"- resolved: {_escape(_finding(f))}" for f in resolved]
    return lines


def _markdown(
    base_ref: str,
    base_commit: str,
    diffs: list[StackDiff],
    estate: EstateChange | None,
    detail: str,
    limit: int,
) -> str:
    budget = max(20, limit // 200) if detail == "findings-capped" else None
    lines = [
        COMMENT_MARKER,
        f"### Plan diff against `{base_ref}` (`{base_commit[:12]}`)",
        *_markdown_estate(estate, budget),
        "",
        "| Stack | Security-relevant | Added | Changed | Replaced | Removed |",
        "|---|---|---|---|---|---|",
    ]
    for diff in diffs:
        c = diff.counts()
        lines.append(
            f"| `{diff.stack}` | {c['security']} | {c['added']} | {c['changed']} | {c['replaced']} | {c['removed']} |"
        )
    if not any(diff.changed for diff in diffs):
        lines += ["", "No changes: every stack plans the same as the base."]
    for diff in diffs:
        if not diff.changed and not diff.note:
            continue
        lines += ["", f"#### `{diff.stack}`"]
        if diff.note:
            lines += ["", *(f"> {line}  " for line in diff.note.splitlines())]  # hard breaks: a line each
        if diff.findings:
            lines += ["", "**Security-relevant changes**", ""]
            shown = diff.findings[:budget] if budget else diff.findings
            lines += [f"- **{_category(f)}**: {_escape(f.text)}" for f in shown]
            if len(shown) < len(diff.findings):
                lines.append(f"- … {len(diff.findings) - len(shown)} more in the job summary artifact")
        if diff.resources and detail == "full":
            lines += [
                "",
                f"<details><summary>Resource changes ({len(diff.resources)})</summary>",
                "",
                "| Change | Type | Name | Inputs |",
                "|---|---|---|---|",
            ]
            for resource in diff.resources:
                inputs = "<br>".join(
                    [f"_why_: {_escape(reason)}" for reason in resource.reasons]
                    + [
                        f"`{path}`: {_escape(text.replace(' -> ', ' → '))}"
                        for path, text in map(_input, shown_inputs(resource))
                    ]
                )
                lines.append(f"| {resource.change} | `{resource.type}` | `{resource.name}` | {inputs} |")
            lines += ["", "</details>"]
        elif diff.resources:
            counts = diff.counts()
            lines += [
                "",
                f"_Resource details left out to fit the comment: {counts['added']} added, {counts['changed']} changed, "
                f"{counts['replaced']} replaced, {counts['removed']} removed._",
            ]
    return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
