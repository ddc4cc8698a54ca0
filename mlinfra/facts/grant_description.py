"""The description every role assignment carries: "<holder> <label>: <role> on <kind> <name>
(managed by Pulumi)". The components write it (mlinfra/access/grants.py); the planner's access view
and `mlinfra permissions` read it back from the plan, so the format lives here, below both."""

import re

_DESCRIPTION = re.compile(
    r"(?P<holder>persona|identity) (?P<label>\S+): (?P<role>.+) on (?P<scope_kind>\S+) (?P<scope_name>\S+) \(managed by Pulumi\)$"
)


def format_description(holder: str, label: str, role_name: str, scope_kind: str, scope_name: str) -> str:
    """The description of `label`'s (a persona or an identity) role `role_name` on a scope."""
    return f"{holder} {label}: {role_name} on {scope_kind} {scope_name} (managed by Pulumi)"


def parse_description(text: str | None) -> dict[str, str] | None:
    """holder, label, role, scope_kind and scope_name of a description written by `format_description`."""
    match = _DESCRIPTION.match(text or "")
    return match.groupdict() if match else None
