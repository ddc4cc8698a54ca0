"""`prerequisites.yaml`: what people do by hand, as data (DESIGN.md, "Prerequisites are data").

Read with the planner's own YAML reader (the Pulumi CLI's rules); a malformed file is a
`PrerequisitesError` naming the key, the value and what is allowed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from mlinfra.planner.stackfile import read_document

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
class Registration:
    """Resource providers registered in one subscription (`az provider register`)."""

    subscription: str
    """The subscription id (a GUID), lower case."""
    namespaces: tuple[str, ...]
    """Resource provider namespaces, as written (`Microsoft.Network`, `GitHub.Network`)."""


@dataclass(frozen=True)
class Prerequisite:
    id: str
    title: str
    owner: str
    done: bool
    grants: tuple[DeclaredGrant, ...] = ()
    environments: tuple[str, ...] = ()
    """CI environments or service connections this prerequisite creates by hand."""
    resource_providers: tuple[Registration, ...] = ()
    """Resource providers this prerequisite registers, per subscription (EV-15)."""


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

    def registrations(self) -> dict[str, set[str]]:
        """Subscription id -> the namespaces (lower case) registered there, over every prerequisite."""
        found: dict[str, set[str]] = {}
        for item in self.items:
            for registration in item.resource_providers:
                found.setdefault(registration.subscription, set()).update(
                    n.lower() for n in registration.namespaces
                )
        return found


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


GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
NAMESPACE = re.compile(r"^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)+$")
"""A resource provider namespace: dotted words (`Microsoft.MachineLearningServices`)."""


def _registrations(where: str, value) -> tuple[Registration, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise PrerequisitesError(f"{FILE_NAME}: {where}.resourceProviders must be a list, got {value!r}")
    found: list[Registration] = []
    for index, entry in enumerate(value):
        at = f"{where}.resourceProviders[{index}]"
        if not isinstance(entry, dict) or set(entry) != {"subscription", "namespaces"}:
            raise PrerequisitesError(
                f"{FILE_NAME}: {at} must be a mapping with exactly subscription and namespaces, got {entry!r}"
            )
        subscription = entry["subscription"]
        if not isinstance(subscription, str) or not GUID.match(subscription):
            raise PrerequisitesError(
                f"{FILE_NAME}: {at}.subscription must be a subscription id (a GUID), got {subscription!r}"
            )
        namespaces = _strings(at, entry["namespaces"], key="namespaces")
        bad = [n for n in namespaces if not NAMESPACE.match(n)]
        if not namespaces or bad:
            raise PrerequisitesError(
                f"{FILE_NAME}: {at}.namespaces must list resource provider namespaces such as "
                f"'Microsoft.Network', got {list(namespaces)!r}"
            )
        if any(r.subscription == subscription.lower() for r in found):
            raise PrerequisitesError(f"{FILE_NAME}: {at}.subscription {subscription!r} is listed twice")
        found.append(Registration(subscription.lower(), namespaces))
    return tuple(found)


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
                _registrations(where, entry.get("resourceProviders")),
            )
        )
    return Prerequisites(landing_zone, tuple(items))
