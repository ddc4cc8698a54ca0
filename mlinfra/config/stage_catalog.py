"""The stage catalog: the project's ordered list of stages, declared once in `Pulumi.yaml` as the
project-level config key `mlinfra:stages` (its `default`), in delivery order.

Each entry names a stage, gives it the three-character code of the compact resource names and two
traits: `production` (the production rules of `mlinfra.config.rules.production_rules` apply) and
`dataScience` (data scientists may hold roles there, RB-7). Nothing else in the program names a
stage: config rules, naming, the planner, the tests and the delivery files all read this list.
"""

import copy
import functools
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import Field, StrictBool, StrictStr

from mlinfra.config.cli_yaml import YamlRefused
from mlinfra.config.cli_yaml import parse as parse_yaml
from mlinfra.config.config_error import ConfigError
from mlinfra.facts.stack_names import SHARED_STACK, is_shared_stack, split_stack_name
from mlinfra.settings.settings_base import Settings

NAMESPACE = "mlinfra"
"""The config namespace, whatever the Pulumi project is called (a rename must not drop settings)."""
CATALOG_KEY = "stages"
PROJECT_FILE = Path(__file__).resolve().parents[2] / "Pulumi.yaml"


class StageDefinition(Settings):
    """One stage of the catalog."""

    name: Annotated[StrictStr, Field(pattern=r"^[a-z][a-z0-9]{1,11}$")]
    """2-12 lowercase letters and digits starting with a letter. The stage's name: the stack name
    (or its part after `<workload>-`), the `stage` tag and part of every resource name."""
    code: Annotated[StrictStr, Field(pattern=r"^[a-z0-9]{3}$")]
    """3 lowercase letters or digits. The stage in compact names (storage, key vault, registry)."""
    production: StrictBool
    """true for a stage with production data: the production rules apply (docs/stages.md, "Production rules")."""
    data_science: StrictBool
    """true for a stage with non-production data, the only kind where data scientists get roles (RB-7)."""
    customer_managed_keys: StrictBool = False
    """true where the organization requires encryption with its own keys in this stage: the stage's
    stack must set encryption.customerManagedKey (ML-4), and the policy pack checks it. Default false."""


def catalog_problems(stages: list[StageDefinition]) -> list[str]:
    """Rules across entries: names and codes each once, at least one stage."""
    problems = []
    if any(stage.name == SHARED_STACK for stage in stages):
        problems.append(f"name {SHARED_STACK} is the shared stack's; a stage needs another name")
    if not stages:
        problems.append("expected at least one stage")
    for stage in stages:
        if stage.production and stage.data_science:
            # The two traits pull opposite ways: production keeps data scientists out (RB-7) and
            # holds every production rule; data science is where they get roles without a reason,
            # and where a production stage may share a workspace (WS-2). One stage cannot be both.
            problems.append(
                f"stage {stage.name} is both production and dataScience; a production stage keeps data "
                "scientists out (RB-7) and a data-science stage lets them in, so set one of the two "
                "(one stage per kind of data)"
            )
    for attribute in ("name", "code"):
        values = [getattr(stage, attribute) for stage in stages]
        twice = sorted({value for value in values if values.count(value) > 1})
        if twice:
            problems.append(
                f"{attribute} {', '.join(twice)} appears twice; each stage needs its own {attribute}"
            )
    return problems


def project_document(project_file: Path = PROJECT_FILE) -> dict[str, Any]:
    """`Pulumi.yaml` parsed (a copy the caller may change). Every run of the program reads it (the
    catalog, the stage guard) and the planner runs the program hundreds of times in one process:
    the YAML is parsed once per content, which was most of the time of a run refused by config."""
    return copy.deepcopy(_parse_project(project_file.read_text()))


@functools.lru_cache(maxsize=8)
def _parse_project(text: str) -> dict[str, Any]:
    try:  # the CLI's scalars (yes/no stay strings) and its YAML library's limits
        document = parse_yaml(text)
    except (YamlRefused, yaml.YAMLError) as error:  # the planner refuses it first; under the CLI, one line
        raise ConfigError(f"{PROJECT_FILE.name}: {' '.join(str(error).split())}") from None
    return document if isinstance(document, dict) else {}


def declared_catalog(project_file: Path = PROJECT_FILE) -> list[dict]:
    """The catalog as `Pulumi.yaml` declares it (the `default` of `mlinfra:stages`), unvalidated."""
    document = project_document(project_file)
    declaration = (document.get("config") or {}).get(f"{NAMESPACE}:{CATALOG_KEY}")
    if isinstance(declaration, dict):
        declaration = declaration.get("default", declaration.get("value"))
    return declaration if isinstance(declaration, list) else []


def load_catalog(project_file: Path = PROJECT_FILE) -> list[StageDefinition]:
    """The validated catalog of a project file (for tools that run outside a Pulumi program)."""
    stages = [
        StageDefinition.model_validate(entry, by_name=False) for entry in declared_catalog(project_file)
    ]
    problems = catalog_problems(stages)
    if problems:
        raise ValueError(f"{project_file.name}: {NAMESPACE}:{CATALOG_KEY}: " + "; ".join(problems))
    return stages


def deployment_order(stacks: list[str], project_file: Path = PROJECT_FILE) -> list[str]:
    """`stacks` in the order they deploy: the shared stacks first (the stages read them), then each
    stage in catalog order, a workload's stack next to the bare stage's."""
    order = {stage.name: index for index, stage in enumerate(load_catalog(project_file))}

    def rank(stack: str) -> tuple[int, int, str]:
        workload, stage = split_stack_name(stack)
        if is_shared_stack(stack):
            return (0, 0, stack)
        return (1, order.get(stage, len(order)), workload or "")

    return sorted(stacks, key=rank)
