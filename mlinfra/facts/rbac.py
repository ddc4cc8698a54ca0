"""Azure RBAC evaluated offline: does a set of role assignments allow an action at a scope?

The rules follow Microsoft Learn, "Understand Azure role definitions":
- an action is allowed by a role when it matches one of the role's `actions` and none of the
  same permission block's `notActions` (data actions likewise, against `dataActions` and
  `notDataActions`); `notActions` is no deny: another role can still grant the action;
- matching ignores case, and `*` stands for any run of characters (`*/read`, `Microsoft.Storage/*`);
- a role assigned at a scope applies to that scope and every scope below it ("Understand scope
  for Azure RBAC").
Role-assignment conditions (ABAC) are evaluated for the one shape this project writes
(`bootstrap/abac.py`, Microsoft Learn "Examples to delegate Azure role assignment management with
conditions": constrain roles and principal types); any other condition is unknown and allows
nothing, so the verifier never assumes a right it cannot prove.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "builtin_roles.json"
"""Azure's built-in role definitions, vendored with their source (see its `source` key)."""


@dataclass(frozen=True)
class Permission:
    """One permission block of a role definition (`properties.permissions[]`)."""

    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    data_actions: tuple[str, ...] = ()
    not_data_actions: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, block: dict) -> Permission:
        return cls(
            tuple(block.get("actions") or ()),
            tuple(block.get("notActions") or ()),
            tuple(block.get("dataActions") or ()),
            tuple(block.get("notDataActions") or ()),
        )


@dataclass(frozen=True)
class RoleDefinition:
    guid: str
    name: str
    permissions: tuple[Permission, ...]
    source: str = ""


@functools.lru_cache(maxsize=4096)
def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(
        "".join(".*" if part == "*" else re.escape(part) for part in re.split(r"(\*)", text)), re.I
    )


def action_matches(pattern: str, action: str) -> bool:
    """Whether the role's action string `pattern` covers `action` (case-insensitive, `*` wildcards)."""
    return _pattern(pattern).fullmatch(action) is not None


def action_allowed(action: str, permissions: Iterable[Permission], *, data: bool = False) -> bool:
    """Whether any permission block allows `action` (a data action when `data`)."""
    for block in permissions:
        allowed, denied = (
            (block.data_actions, block.not_data_actions) if data else (block.actions, block.not_actions)
        )
        if any(action_matches(p, action) for p in allowed) and not any(
            action_matches(p, action) for p in denied
        ):
            return True
    return False


def normalize_scope(scope: str) -> str:
    return "/" + scope.strip("/").lower() if scope.strip("/") else "/"


def scope_covers(held: str, needed: str) -> bool:
    """Whether an assignment at `held` applies at `needed` (the same scope or one below it)."""
    held, needed = normalize_scope(held), normalize_scope(needed)
    return held == "/" or needed == held or needed.startswith(held + "/")


@functools.lru_cache(maxsize=1)
def builtin_roles() -> dict[str, RoleDefinition]:
    """Built-in role definitions by lower-case GUID."""
    document = json.loads(DATA.read_text(encoding="utf-8"))
    return {
        guid.lower(): RoleDefinition(
            guid.lower(),
            role["roleName"],
            tuple(Permission.from_json(block) for block in role["permissions"]),
            role.get("source", document.get("source", "")),
        )
        for guid, role in document["roles"].items()
    }


def role_guid(role_definition_id: str) -> str:
    """The GUID at the end of a `roleDefinitionId` (`/subscriptions/<s>/providers/.../roleDefinitions/<guid>`)."""
    return role_definition_id.rstrip("/").rsplit("/", 1)[-1].lower()


# --- conditions --------------------------------------------------------------------------------

_CLAUSE = re.compile(
    r"!\(ActionMatches\{'(?P<action>[^']+)'\}\)\s*\)\s*OR\s*\(\s*"
    r"@(?:Request|Resource)\[Microsoft\.Authorization/roleAssignments:RoleDefinitionId\]\s*"
    r"ForAnyOfAnyValues:GuidEquals\s*\{(?P<roles>[^}]*)\}\s*AND\s*"
    r"@(?:Request|Resource)\[Microsoft\.Authorization/roleAssignments:PrincipalType\]\s*"
    r"ForAnyOfAnyValues:StringEqualsIgnoreCase\s*\{(?P<types>[^}]*)\}",
    re.S,
)


@dataclass(frozen=True)
class ConditionClause:
    action: str
    roles: frozenset[str]
    principal_types: frozenset[str]


@dataclass(frozen=True)
class Condition:
    """A parsed role-assignment condition: per constrained action, the roles and principal types allowed."""

    clauses: tuple[ConditionClause, ...]
    text: str = field(default="", compare=False)

    def allows(self, action: str, attributes: dict[str, str]) -> bool:
        for clause in self.clauses:
            if not action_matches(clause.action, action):
                continue
            role = attributes.get("roleDefinitionId", "").lower()
            kind = attributes.get("principalType", "").lower()
            if role not in clause.roles or kind not in clause.principal_types:
                return False
        return True


def parse_condition(text: str) -> Condition | None:
    """The condition as `Condition`, or None when it is not of the one shape this project writes
    (such a condition allows nothing here)."""
    clauses = tuple(
        ConditionClause(
            match["action"],
            frozenset(guid.strip().lower() for guid in match["roles"].split(",") if guid.strip()),
            frozenset(kind.strip().strip("'").lower() for kind in match["types"].split(",") if kind.strip()),
        )
        for match in _CLAUSE.finditer(text)
    )
    expected = text.count("ActionMatches")
    if not clauses or len(clauses) != expected:
        return None
    return Condition(clauses, text)


# --- grants ------------------------------------------------------------------------------------

UNKNOWN_CONDITION = Condition((ConditionClause("*", frozenset(), frozenset()),), "unparsed")
"""What an unparseable condition becomes: it allows no action at all."""


@dataclass(frozen=True)
class Grant:
    """A role an identity holds at a scope, possibly under a condition, and where the grant comes from."""

    scope: str
    role: RoleDefinition
    condition: Condition | None = None
    origin: str = ""

    def allows(self, action: str, scope: str, *, data: bool = False, attributes: dict | None = None) -> bool:
        if not scope_covers(self.scope, scope):
            return False
        if not action_allowed(action, self.role.permissions, data=data):
            return False
        if self.condition is not None:
            if self.condition is UNKNOWN_CONDITION:
                return False
            return self.condition.allows(action, attributes or {})
        return True


def allowing(grants: Iterable[Grant], action: str, scope: str, *, data: bool = False, attributes=None):
    """The grants that allow `action` at `scope`, first one first (empty when none does)."""
    return [g for g in grants if g.allows(action, scope, data=data, attributes=attributes)]
