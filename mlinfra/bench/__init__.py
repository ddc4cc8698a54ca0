"""`make bench`: planner cost against the Pulumi runtime floor, scaling, deployment depth."""

import os
from pathlib import Path

from mlinfra.config.stage_catalog import deployment_order, load_catalog
from mlinfra.planner.plan_cache import CACHE_VARIABLE
from mlinfra.planner.stackfile import available_stacks

PROJECT_DIR = Path(__file__).resolve().parents[2]
STACKS = tuple(
    stage.name
    for stage in load_catalog(PROJECT_DIR / "Pulumi.yaml")
    if stage.name in available_stacks(PROJECT_DIR)
)
"""The catalog's stages that have a stack file, in delivery order."""
PROJECT_STACKS = tuple(deployment_order(available_stacks(PROJECT_DIR), PROJECT_DIR / "Pulumi.yaml"))
"""Every stack of the stage project (the shared stack first, then the stages): the planner/floor
table's rows, and with the bootstrap stack what "planning every stack" sums."""


def measure_without_plan_cache() -> None:
    """Each benchmark process measures planning, never a read of the plan cache
    (mlinfra/planner/plan_cache.py); child processes inherit the setting. Called by the entry points,
    not at import, so that importing `bench` (tests/test_bench.py) leaves the suite's cache on."""
    os.environ[CACHE_VARIABLE] = "off"
