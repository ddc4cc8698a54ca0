"""prerequisites.yaml errors (mlinfra/estate/prerequisites.py): each a one-line error naming the
file, the key, the value received and what is allowed, and `mlinfra estate` exits 2 on it.

Source: docs/DESIGN Round 3, "Prerequisites are data, not prose"; STYLE.md (CDK guidelines:
error messages say what went wrong and show the value received).
"""

from pathlib import Path

import pytest

from mlinfra.estate import command, prerequisites
from mlinfra.estate.prerequisites import PrerequisitesError

SUB = "00000000-0000-0000-0000-000000000012"
GRANT = "{principal: preview, scope: /subscriptions/0000, actions: [Microsoft.Network/*/read]}"
CASES = {
    "top-level key": ("landingZones: {}\n", ("landingZones", "allowed: landingZone, prerequisites")),
    "landing zone not a mapping": ("landingZone: [a]\n", ("landingZone", "['a']")),
    "spokes not strings": (
        "landingZone: {spokeVirtualNetworkIds: [1]}\n",
        ("landingZone.spokeVirtualNetworkIds", "list of strings", "[1]"),
    ),
    "prerequisites not a list": ("prerequisites: {a: 1}\n", ("prerequisites must be a list", "{'a': 1}")),
    "missing title": (
        "prerequisites: [{id: a, owner: o}]\n",
        ("prerequisites[0].title", "non-empty string", "None"),
    ),
    "duplicate id": (
        "prerequisites: [{id: a, title: t, owner: o}, {id: a, title: t, owner: o}]\n",
        ("prerequisites[1].id", "'a'", "twice"),
    ),
    "done not boolean": (
        "prerequisites: [{id: a, title: t, owner: o, done: maybe}]\n",
        ("prerequisites[0].done", "true or false", "'maybe'"),
    ),
    "unknown principal": (
        "prerequisites: [{id: a, title: t, owner: o, grants: [{principal: me, scope: /s, role: Reader}]}]\n",
        ("prerequisites[0].grants[0].principal", "'deployer:<stack>' or 'preview'", "'me'"),
    ),
    "grant of nothing": (
        "prerequisites: [{id: a, title: t, owner: o, grants: [{principal: preview, scope: /s}]}]\n",
        ("prerequisites[0].grants[0]", "grants nothing", "actions, dataActions or role"),
    ),
    "resource providers not a list": (
        "prerequisites: [{id: a, title: t, owner: o, resourceProviders: {a: 1}}]\n",
        ("prerequisites[0].resourceProviders must be a list", "{'a': 1}"),
    ),
    "registration with an unknown key": (
        f"prerequisites: [{{id: a, title: t, owner: o, resourceProviders: [{{subscription: {SUB}, namespace: [A.B]}}]}}]\n",
        ("prerequisites[0].resourceProviders[0]", "exactly subscription and namespaces", "'namespace'"),
    ),
    "registration subscription not a GUID": (
        "prerequisites: [{id: a, title: t, owner: o, resourceProviders: [{subscription: dev, namespaces: [A.B]}]}]\n",
        ("prerequisites[0].resourceProviders[0].subscription", "a GUID", "'dev'"),
    ),
    "registration namespace malformed": (
        f"prerequisites: [{{id: a, title: t, owner: o, resourceProviders: [{{subscription: {SUB}, namespaces: [network]}}]}}]\n",
        ("prerequisites[0].resourceProviders[0].namespaces", "'Microsoft.Network'", "['network']"),
    ),
    "registration subscription twice": (
        f"prerequisites: [{{id: a, title: t, owner: o, resourceProviders: [{{subscription: {SUB}, namespaces: [A.B]}}, {{subscription: {SUB}, namespaces: [C.D]}}]}}]\n",
        ("prerequisites[0].resourceProviders[1].subscription", SUB, "twice"),
    ),
}


def _write(root: Path, text: str) -> Path:
    (root / prerequisites.FILE_NAME).write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize("case", sorted(CASES))
def test_fails_when_prerequisites_are_malformed(tmp_path, case):
    text, expected = CASES[case]
    with pytest.raises(PrerequisitesError) as raised:
        prerequisites.load(_write(tmp_path, text))
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"{prerequisites.FILE_NAME}: ")
    for part in expected:
        assert part in message


def test_fails_when_prerequisites_are_malformed_with_exit_2(tmp_path, capsys):
    """`mlinfra estate` reads prerequisites.yaml before planning: bad input is exit 2, one line."""
    _write(tmp_path, "landingZones: {}\n")
    assert command.main(["--project-dir", str(tmp_path)], tmp_path) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: prerequisites.yaml: unknown top-level key 'landingZones'")
    assert "\n" not in err


def test_valid_prerequisites_load(tmp_path):
    """A declared grant is read with its principal, scope and actions."""
    loaded = prerequisites.load(
        _write(tmp_path, f"prerequisites: [{{id: hub, title: t, owner: hub team, grants: [{GRANT}]}}]\n")
    )
    (grant,) = loaded.items[0].grants
    assert (grant.principal, grant.scope, grant.actions) == (
        "preview",
        "/subscriptions/0000",
        ("Microsoft.Network/*/read",),
    )


def test_resource_provider_registrations_load(tmp_path):
    """Registrations are per subscription (lower case), and merge over prerequisites."""
    text = (
        f"prerequisites: [{{id: a, title: t, owner: o, resourceProviders: [{{subscription: {SUB.upper()}, "
        "namespaces: [Microsoft.Network, GitHub.Network]}]}, "
        f"{{id: b, title: t, owner: o, resourceProviders: [{{subscription: {SUB}, namespaces: [Microsoft.Storage]}}]}}]\n"
    )
    loaded = prerequisites.load(_write(tmp_path, text))
    assert loaded.items[0].resource_providers[0].namespaces == ("Microsoft.Network", "GitHub.Network")
    assert loaded.registrations() == {SUB: {"microsoft.network", "github.network", "microsoft.storage"}}


def test_no_file_declares_nothing(tmp_path):
    assert prerequisites.load(tmp_path).items == ()
