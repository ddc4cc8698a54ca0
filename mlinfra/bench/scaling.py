"""One program declaring N stages (synthetic stage configs: workloads w00..wNN across dev,
preprod and prod), recorded under the mock engine: `python -m mlinfra.bench.scaling <N>` prints the
resource count. Every run first loads the SDK modules the stages use, so N=0 is the start-up
cost and (wall(N) - wall(0)) / resources is the cost per resource."""

import json
import sys
from pathlib import Path

from mlinfra.bench import STACKS, measure_without_plan_cache
from mlinfra.config.stage_config import StageConfig
from mlinfra.planner.recorder import record
from mlinfra.planner.stackfile import load_stack_config
from mlinfra.stage.ml_stage import MlStage, MlStageArgs

PROJECT_DIR = Path(__file__).resolve().parents[2]


def synthetic_stages(count: int) -> list[StageConfig]:
    """Stage configs shaped like the shipped stack files, one workload per stage."""
    stacks = STACKS  # the stages' stack files: the shared stack is not a stage
    templates = {}
    for stack in stacks:
        values = load_stack_config(PROJECT_DIR, stack).values
        raw = {key.split(":", 1)[1]: value for key, value in values.items() if key.startswith("mlinfra:")}
        templates[stack] = raw, values
    configs = []
    for index in range(count):
        stack = stacks[index % len(stacks)]
        raw, values = templates[stack]
        data = {key: _value(value) for key, value in raw.items()}
        data.update(
            workload=f"w{index:02d}",
            stage=stack,
            stack=stack,
            subscriptionId=values["azure-native:subscriptionId"],
            tenantId=values["azure-native:tenantId"],
            location=values["azure-native:location"],
        )
        configs.append(StageConfig.model_validate(data, by_name=False))
    return configs


def _value(raw: str):
    """A config value as the program reads it: structured values arrive as JSON, strings as they are."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def preload() -> None:
    """The SDK classes the synthetic stages register (loaded lazily by the program itself)."""
    import pulumi_azuread
    import pulumi_github
    from pulumi_azure_native import network, privatedns

    for cls in (
        network.PrivateEndpoint,
        network.VirtualNetwork,
        privatedns.PrivateZone,
        pulumi_azuread.Application,
        pulumi_github.RepositoryEnvironment,
    ):
        assert cls

    import mlinfra.access.github_environment  # noqa: F401


def main(count: int) -> None:
    preload()
    configs = synthetic_stages(count)

    def program() -> None:
        for c in configs:
            MlStage(f"{c.workload}-{c.stage}", MlStageArgs(config=c))

    plan = record(program, load_stack_config(PROJECT_DIR, "prod"))
    print(len(plan.resources))


if __name__ == "__main__":
    measure_without_plan_cache()
    main(int(sys.argv[1]))
