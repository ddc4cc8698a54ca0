"""One program declaring N stages (synthetic stage configs: workloads w01..wNN across dev,
preprod and prod), recorded under the mock engine: `python -m bench.scaling <N>` prints the
resource count."""

import sys
from pathlib import Path

from components.config import StageConfig
from components.ml_stage import MlStage, MlStageArgs
from planner.recorder import main_program, record  # noqa: F401 (main_program: same import set as the planner)
from planner.stackfile import load_stack_config

PROJECT_DIR = Path(__file__).resolve().parent.parent


def synthetic_stages(count: int) -> list[StageConfig]:
    """Stage configs shaped like the shipped stack files, one workload per stage."""
    stacks = ("dev", "preprod", "prod")
    templates = {}
    for stack in stacks:
        values = load_stack_config(PROJECT_DIR, stack).values
        raw = {key.split(":", 1)[1]: value for key, value in values.items() if key.startswith("mlinfra:")}
        templates[stack] = raw, values
    configs = []
    for index in range(count):
        stack = stacks[index % 3]
        raw, values = templates[stack]
        import json

        data = {key: (value if key == "workload" else json.loads(value)) for key, value in raw.items()}
        data.update(workload=f"w{index:02d}", stage=stack, subscriptionId=values["azure-native:subscriptionId"],
                    tenantId=values["azure-native:tenantId"], location=values["azure-native:location"])
        configs.append(StageConfig.model_validate(data, by_name=False))
    return configs


def main(count: int) -> None:
    configs = synthetic_stages(count)
    plan = record(lambda: [MlStage(f"{c.workload}-{c.stage.value}", MlStageArgs(config=c)) for c in configs],
                  load_stack_config(PROJECT_DIR, "prod"))
    print(len(plan.resources))


if __name__ == "__main__":
    main(int(sys.argv[1]))
