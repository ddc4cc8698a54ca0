"""`mlinfra todo`: what is left before the first real `pulumi up` of this repository,
offline and in a second: every placeholder per file and key, every declared prerequisite not yet
marked done, and stacks that copy another stack's subscription, address range or owners (a stack
file copied to start a new stage and not yet made its own).

Exit status: 0 (the list is the output; `--strict` exits 1 while anything is left), 2 on an
invalid file.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
from collections import defaultdict
from pathlib import Path

from mlinfra.config.stage_catalog import deployment_order
from mlinfra.estate.prerequisites import PrerequisitesError, load
from mlinfra.facts.stack_names import is_shared_stack
from mlinfra.planner.failures import config_failure
from mlinfra.planner.stackfile import StackFileError, available_stacks, load_stack_config
from mlinfra.repository.placeholders import placeholders


def _setting(values: dict, key: str):
    raw = values.get(key)
    try:
        return json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError:
        return raw


def _dig(node, *keys):
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def copies(root: Path) -> list[str]:
    """Stage stacks sharing what each stage needs of its own: its subscription (stage separation,
    RB-7), its address range (peering and routing refuse overlaps) and its app owners."""
    stacks = [
        s for s in deployment_order(available_stacks(root), root / "Pulumi.yaml") if not is_shared_stack(s)
    ]
    subscriptions: dict[str, list[str]] = defaultdict(list)
    owners: dict[tuple[str, ...], list[str]] = defaultdict(list)
    ranges: list[tuple[str, ipaddress.IPv4Network | ipaddress.IPv6Network]] = []
    for stack in stacks:
        values = load_stack_config(root, stack).values
        if subscription := values.get("azure-native:subscriptionId"):
            subscriptions[subscription.lower()].append(stack)
        identity = _setting(values, "mlinfra:deploymentIdentity") or {}
        if isinstance(identity, dict) and identity.get("owners"):
            owners[tuple(sorted(str(o).lower() for o in identity["owners"]))].append(stack)
        space = _dig(
            _setting(values, "mlinfra:network"), "privateEndpoints", "virtualNetwork", "addressSpace"
        )
        if isinstance(space, str):
            with contextlib.suppress(ValueError):  # the stage's own config check names a bad range
                ranges.append((stack, ipaddress.ip_network(space, strict=False)))
    found = [
        f"stacks {', '.join(names)} deploy into one subscription {subscription}; each stage needs its own"
        for subscription, names in subscriptions.items()
        if len(names) > 1
    ]
    found += [
        f"stacks {', '.join(names)} list the same owners {', '.join(key)}; the first owner is each stack's own deployer"
        for key, names in owners.items()
        if len(names) > 1
    ]
    for index, (stack, network) in enumerate(ranges):
        for other, other_network in ranges[index + 1 :]:
            if network.overlaps(other_network):  # type: ignore[arg-type]
                found.append(
                    f"stacks {stack} and {other} use overlapping address ranges {network} and {other_network}"
                )
    return found


def main(argv: list[str], project_dir: Path) -> int:
    parser = argparse.ArgumentParser(prog="mlinfra todo", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--strict", action="store_true", help="exit 1 while anything is left")
    args = parser.parse_args(argv)
    try:
        left = [f"placeholder  {p.file}: {p.key} = {p.value}" for p in placeholders(project_dir)]
        left += [f"by hand      {p.id} ({p.owner}): {p.title}" for p in load(project_dir).items if not p.done]
        left += [f"copied       {line}" for line in copies(project_dir)]
    except (StackFileError, PrerequisitesError) as error:
        return config_failure(error)
    if not left:
        print("Nothing left: every placeholder is replaced and every prerequisite is done.")
        return 0
    print(f"{len(left)} left before the first real pulumi up (docs/from-zero.md):")
    print("\n".join(f"  {line}" for line in left))
    return 1 if args.strict else 0
