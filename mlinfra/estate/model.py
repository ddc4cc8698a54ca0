"""`build()`: the estate model of a repository (or of one example directory) and its findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mlinfra.estate import inventory, prerequisites, providers, reachability
from mlinfra.estate.delivery import Run, delivery_runs
from mlinfra.estate.delivery_checks import check_delivery
from mlinfra.estate.findings import Finding
from mlinfra.estate.identities import Bootstrap, read_bootstrap
from mlinfra.estate.inventory import StackPlan
from mlinfra.estate.rights import check_rights


@dataclass
class Estate:
    name: str
    stacks: list[StackPlan]
    runs: list[Run]
    bootstrap: Bootstrap | None
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What this estate's model leaves out, and why (an example without bootstrap)."""

    def to_json(self) -> dict:
        return {
            "estate": self.name,
            "stacks": [
                {
                    "stack": s.label,
                    "kind": s.kind,
                    "project": s.plan.project,
                    "resources": len(s.plan.resources),
                }
                for s in self.stacks
            ],
            "identities": [
                i.to_json() for i in (self.bootstrap.identities.values() if self.bootstrap else [])
            ],
            "runs": [
                {
                    "platform": r.platform,
                    "file": r.file,
                    "job": r.job,
                    "stack": r.stack,
                    "operation": r.operation,
                    "environment": r.environment,
                    "serviceConnection": r.service_connection,
                }
                for r in self.runs
            ],
            "findings": [f.to_json() for f in self.findings],
            "notes": self.notes,
        }


def _verify(estate: Estate, declared: prerequisites.Prerequisites) -> Estate:
    network = reachability.build_network(estate.stacks, declared)
    found: list[Finding] = []
    if estate.bootstrap is not None:
        found += check_delivery(estate.stacks, estate.runs, estate.bootstrap, declared)
        found += check_rights(estate.stacks, estate.runs, estate.bootstrap)
    found += reachability.check_paths(estate.stacks, network)
    found += reachability.check_dns(
        estate.stacks, network, declared.landing_zone.monitor_private_link_scope_id
    )
    found += reachability.check_compute_data(estate.stacks)
    if estate.bootstrap is not None:
        # prerequisites.yaml registers resource providers in the repository's subscriptions; an
        # example's stacks deploy to subscriptions of their own (see build_example's note).
        found += providers.check_registrations(estate.stacks, declared)
    estate.findings = sorted(set(found), key=lambda f: (int(f.rule.split("-")[1]), f.stack, f.message))
    return estate


def verify(
    stacks: list[StackPlan], runs: list[Run], declared: prerequisites.Prerequisites, name: str = "repository"
) -> Estate:
    """The estate of planned `stacks`, the pipeline `runs` and the `declared` prerequisites, with
    its findings: what `build` does after planning and reading the files. Tests and `mlinfra diff`
    call it with plans and runs they have already (edited, or read from another revision)."""
    bootstrap = read_bootstrap([s for s in stacks if s.kind == "bootstrap"], declared)
    return _verify(Estate(name, stacks, runs, bootstrap), declared)


def build(root: Path) -> Estate:
    """The repository's own estate: bootstrap, shared, every stage stack, and the delivery files."""
    declared = prerequisites.load(root)
    return verify(inventory.plan_estate(root), delivery_runs(root), declared)


def build_example(root: Path, directory: Path) -> Estate:
    """An example directory's stacks as an estate of their own: networks, DNS and compute rights
    are verified; identities and delivery are not, since an example ships no bootstrap or pipelines."""
    declared = prerequisites.load(root)
    estate = Estate(str(directory.relative_to(root)), inventory.plan_example(root, directory), [], None)
    estate.notes.append(
        "identities and delivery not verified: the example has no bootstrap stack or pipelines of its own"
    )
    estate.notes.append(
        "resource provider registrations not verified: prerequisites.yaml registers them in the "
        "repository's subscriptions (EV-15)"
    )
    return _verify(estate, declared)


def example_directories(root: Path) -> list[Path]:
    return sorted(d for d in (root / "examples").iterdir() if d.is_dir() and any(d.glob("Pulumi.*.yaml")))
