"""mlinfra/repository/network_diagram.py: the network pictures of docs/private-stages.md and
docs/model-promotion.md (the README's "Private stages" and "Model promotion" until issue 31 moved
them there) are generated from the estate verifier's model of the plans (issue 28: "README
'Private stages' and 'Model promotion' show the
network picture ... generated or checked against the plan by a test")."""

import dataclasses

import pytest

from mlinfra.estate import prerequisites, reachability
from mlinfra.estate.inventory import StackPlan, plan_estate
from mlinfra.repository import network_diagram
from mlinfra.repository.generated_sections import section
from tests.conftest import PROJECT_DIR

PEERING = "azure-native:network:VirtualNetworkPeering"


@pytest.fixture(scope="module")
def estate() -> list[StackPlan]:
    return plan_estate(PROJECT_DIR)


@pytest.fixture(scope="module")
def declared() -> prerequisites.Prerequisites:
    return prerequisites.load(PROJECT_DIR)


def test_the_guides_hold_the_current_generated_diagrams():
    """The network picture is in docs/private-stages.md, the registry paths in docs/model-promotion.md."""
    pages = [page for page, _, _, _ in network_diagram.blocks(PROJECT_DIR)]
    assert pages == [network_diagram.NETWORK_PAGE, network_diagram.PROMOTION_PAGE]
    for page, begin, end, block in network_diagram.blocks(PROJECT_DIR):
        text = (PROJECT_DIR / page).read_text(encoding="utf-8")
        assert section(text, begin, end) == block, (
            "run `venv/bin/python -m mlinfra.repository.network_diagram --write`"
        )


def test_every_path_the_verifier_proves_is_an_edge(estate, declared):
    """One edge per (stage, client) path to the registry that EV-12 finds, and none for another."""
    net = reachability.build_network(estate, declared)
    registries = reachability._registries(estate)
    paths = [
        p
        for s in estate
        if s.kind == "stage"
        for p in reachability.registry_paths(s, registries, net)
        if p.exists
    ]
    assert {p.client for p in paths} == {"runners", "managed network"}
    for text in (network_diagram.network(estate, declared), network_diagram.promotion(estate, declared)):
        edges = [line for line in text.splitlines() if "-->|" in line and "registry_" in line]
        assert len(edges) == len(paths)
        for path in paths:
            source = "runners_" if path.client == "runners" else "managed_"
            assert any(e.strip().startswith(f"{source}{path.stack.stack} ") for e in edges), path


def test_the_picture_follows_the_plans(estate, declared):
    """The hub, each stage network and spoke, their peerings, endpoints and the hub's zones are
    drawn from the plans and prerequisites.yaml: drop a stage's planned peering and its edge goes."""
    text = network_diagram.network(estate, declared)
    assert text.startswith("```mermaid\nflowchart LR\n") and text.endswith("```")
    hub = declared.landing_zone.hub_virtual_network_id or ""
    assert f'subgraph hub["hub network {hub.rsplit("/", 1)[-1]}"]' in text
    assert f"private DNS zones ({len(declared.landing_zone.private_dns_zone_ids)})" in text
    peered = next(s for s in estate if s.plan.of_type(PEERING))
    vnet = peered.plan.of_type("azure-native:network:VirtualNetwork")[0].inputs["virtualNetworkName"]
    node = network_diagram._id("net", vnet)
    assert f'{node} <-->|"peering"| hub' in text
    assert f'{network_diagram._id("pe", peered.stack, vnet)} -.->|"registers in"| hub_dns' in text
    unpeered = dataclasses.replace(
        peered,
        plan=dataclasses.replace(
            peered.plan, resources=[r for r in peered.plan.resources if r.type != PEERING]
        ),
    )
    changed = network_diagram.network([unpeered if s is peered else s for s in estate], declared)
    # Its endpoints still register in the hub's zones, so the verifier still counts it a spoke:
    # connected by the hub team, not by a peering of its own.
    assert f'{node} <-->|"peering"|' not in changed and f'{node} <-->|"peering (hub team)"| hub' in changed
    assert f'subgraph {node}["{peered.stack} network {vnet}"]' in changed


def test_the_picture_stays_readable(estate, declared):
    """A dozen or two nodes: one per network, endpoint group, pipeline, managed network and registry."""
    for text in (network_diagram.network(estate, declared), network_diagram.promotion(estate, declared)):
        nodes = [
            line
            for line in text.splitlines()
            if line.strip()
            and not line.strip().startswith(("subgraph", "end", "```", "flowchart"))
            and "--" not in line
            and "-.->" not in line
        ]
        assert 4 <= len(nodes) <= 24
