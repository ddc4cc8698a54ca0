"""Derived views of a plan, next to the raw `resources`: what a reviewer reads first."""

from typing import Any

from components.grants import parse_description
from components.roles import role_from_definition_id
from planner.recorder import Plan

ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
SCOPE_ORDER = ("resourceGroup", "workspace", "storageAccount", "keyVault", "containerRegistry")


def access_view(plan: Plan) -> list[dict[str, Any]]:
    """Every role assignment as (principal, type, persona or identity, role, role GUID, scope)."""
    entries = []
    for resource in plan.of_type(ROLE_ASSIGNMENT):
        inputs = resource.inputs
        role = role_from_definition_id(inputs.get("roleDefinitionId", ""))
        about = parse_description(inputs.get("description")) or {}
        holder, label = about.get("holder"), about.get("label")
        entries.append(
            {
                "principal": inputs.get("principalId"),
                "principalType": inputs.get("principalType"),
                "persona": label if holder == "persona" else None,
                "identity": label if holder == "identity" else None,
                "role": role.name if role else None,
                "roleId": inputs.get("roleDefinitionId", "").rsplit("/", 1)[-1],
                "scope": inputs.get("scope"),
                "scopeKind": about.get("scope_kind"),
                "scopeName": about.get("scope_name"),
                "urn": resource.urn,
            }
        )
    return sorted(entries, key=_access_order)


def _access_order(entry: dict[str, Any]) -> tuple:
    kind = entry["scopeKind"]
    return (
        entry["persona"] is None,  # personas first, then identities
        entry["persona"] or entry["identity"] or entry["principal"] or "",
        SCOPE_ORDER.index(kind) if kind in SCOPE_ORDER else len(SCOPE_ORDER),
        entry["role"] or entry["roleId"],
    )


def principal_label(entry: dict[str, Any]) -> str:
    if entry["persona"]:
        return f"persona {entry['persona']} ({entry['principalType']})"
    if entry["identity"]:
        return f"identity {entry['identity']} ({entry['principalType']})"
    return f"{entry['principal']} ({entry['principalType']})"
