"""`prerequisites.yaml`: what people do by hand, as data (DESIGN.md, "Prerequisites are data").

Read with the planner's own YAML reader (the Pulumi CLI's rules); a malformed file is a
`PrerequisitesError` naming the key, the value and what is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from planner.stackfile import read_document

FILE_NAME = "prerequisites.yaml"


class PrerequisitesError(Exception):
    """prerequisites.yaml is malformed."""


@dataclass(frozen=True)
class DeclaredGrant:
    principal: str
    """`deployer:<stack>` or `preview`."""
    scope: str
    actions: tuple[str, ...] = ()
    data_actions: tuple[str, ...] = ()
    role: str | None = None
    """A built-in role name, instead of (or besides) the actions."""


@dataclass(frozen=True)
class Prerequisite:
    id: str
    title: str
    owner: str
    done: bool
    grants: tuple[DeclaredGrant, ...] = ()
    environments: tuple[str, ...] = ()
    """CI environments or service connections this prerequisite creates by hand."""


@dataclass(frozen=True)
class LandingZone:
    hub_virtual_network_id: str | None = None
    spoke_virtual_network_ids: tuple[str, ...] = ()
    private_dns_zone_ids: tuple[str, ...] = ()
    monitor_private_link_scope_id: str | None = None
    """The hub's Azure Monitor private link scope: the one scope of the landing zone's DNS namespace."""


@dataclass(frozen=True)
class Prerequisites:
    landing_zone: LandingZone = field(default_factory=LandingZone)
    items: tuple[Prerequisite, ...] = ()


def _strings(where: str, value, *, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise PrerequisitesError(f"{FILE_NAME}: {where}.{key} must be a list of strings, got {value!r}")
    return tuple(value)


def _optional_text(where: str, entry: dict, key: str) -> str | None:
    value = entry.get(key)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise PrerequisitesError(f"{FILE_NAME}: {where}.{key}: expected a resource id, got {value!r}")
    return value


def _text(where: str, entry: dict, key: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise PrerequisitesError(f"{FILE_NAME}: {where}.{key} must be a non-empty string, got {value!r}")
    return value


def _grant(where: str, entry) -> DeclaredGrant:
    if not isinstance(entry, dict):
        raise PrerequisitesError(f"{FILE_NAME}: {where} must be a mapping, got {entry!r}")
    principal = _text(where, entry, "principal")
    if principal != "preview" and not principal.startswith("deployer:"):
        raise PrerequisitesError(
            f"{FILE_NAME}: {where}.principal must be 'deployer:<stack>' or 'preview', got {principal!r}"
        )
    grant = DeclaredGrant(
        principal,
        _text(where, entry, "scope"),
        _strings(where, entry.get("actions"), key="actions"),
        _strings(where, entry.get("dataActions"), key="dataActions"),
        entry.get("role"),
    )
    if not (grant.actions or grant.data_actions or grant.role):
        raise PrerequisitesError(f"{FILE_NAME}: {where} grants nothing: give actions, dataActions or role")
    return grant


def load(root: Path) -> Prerequisites:
    """The prerequisites of the repository at `root` (none when it has no prerequisites.yaml)."""
    path = root / FILE_NAME
    if not path.is_file():
        return Prerequisites()
    document = read_document(path) or {}
    if not isinstance(document, dict):
        raise PrerequisitesError(f"{FILE_NAME}: must be a mapping with landingZone and prerequisites")
    unknown = sorted(set(document) - {"landingZone", "prerequisites"})
    if unknown:
        raise PrerequisitesError(
            f"{FILE_NAME}: unknown top-level key {unknown[0]!r}; allowed: landingZone, prerequisites"
        )
    zone = document.get("landingZone") or {}
    if not isinstance(zone, dict):
        raise PrerequisitesError(f"{FILE_NAME}: landingZone must be a mapping, got {zone!r}")
    landing_zone = LandingZone(
        zone.get("hubVirtualNetworkId"),
        _strings("landingZone", zone.get("spokeVirtualNetworkIds"), key="spokeVirtualNetworkIds"),
        _strings("landingZone", zone.get("privateDnsZoneIds"), key="privateDnsZoneIds"),
        _optional_text("landingZone", zone, "monitorPrivateLinkScopeId"),
    )
    items = []
    entries = document.get("prerequisites") or []
    if not isinstance(entries, list):
        raise PrerequisitesError(f"{FILE_NAME}: prerequisites must be a list, got {entries!r}")
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        where = f"prerequisites[{index}]"
        if not isinstance(entry, dict):
            raise PrerequisitesError(f"{FILE_NAME}: {where} must be a mapping, got {entry!r}")
        identifier = _text(where, entry, "id")
        if identifier in seen:
            raise PrerequisitesError(f"{FILE_NAME}: {where}.id {identifier!r} is declared twice")
        seen.add(identifier)
        done = entry.get("done", False)
        if not isinstance(done, bool):
            raise PrerequisitesError(f"{FILE_NAME}: {where}.done must be true or false, got {done!r}")
        grants = entry.get("grants") or []
        if not isinstance(grants, list):
            raise PrerequisitesError(f"{FILE_NAME}: {where}.grants must be a list, got {grants!r}")
        items.append(
            Prerequisite(
                identifier,
                _text(where, entry, "title"),
                _text(where, entry, "owner"),
                done,
                tuple(_grant(f"{where}.grants[{i}]", grant) for i, grant in enumerate(grants)),
                _strings(where, entry.get("environments"), key="environments"),
            )
        )
    return Prerequisites(landing_zone, tuple(items))
