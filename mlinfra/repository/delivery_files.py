"""`python -m mlinfra.repository.delivery_files [--write]` (`make workflows`): the stage lists and matrices of
`.github/workflows/*`, `azure-pipelines*.yml` and `templates/`, generated from the stage catalog
(`mlinfra:stages` in Pulumi.yaml) and the stack files that exist.

Only the regions between `# BEGIN GENERATED <region>` and `# END GENERATED <region>` are
rewritten; the rest of each file is hand-written. `--write` also regenerates docs/identities.md's permission
tables (`mlinfra permissions --write`), which have one table per stack file. Without `--write` it lists the files whose
regions disagree with the catalog and exits 1 (what the test checks).
"""

import re
import sys
from pathlib import Path

from mlinfra.config.stage_catalog import load_catalog
from mlinfra.facts.stack_names import SHARED_STACK, is_shared_stack, split_stack_name
from mlinfra.planner.stackfile import available_stacks

ROOT = Path(__file__).resolve().parents[2]
BEGIN = "# BEGIN GENERATED {region} (make workflows: from the stage catalog in Pulumi.yaml; do not edit)"
END = "# END GENERATED {region}"


def stacks_by_stage(project_dir: Path = ROOT) -> list[tuple[str, list[str]]]:
    """Each catalog stage in delivery order with its stack files (`<stage>`, `<workload>-<stage>`),
    after the shared stack (the registry the stages reference), which deploys first."""
    catalog = [stage.name for stage in load_catalog(project_dir / "Pulumi.yaml")]
    stacks = available_stacks(project_dir)
    shared = [stack for stack in stacks if is_shared_stack(stack)]
    stacks = [stack for stack in stacks if stack not in shared]
    strays = [stack for stack in stacks if split_stack_name(stack)[1] not in catalog]
    if strays:
        raise ValueError(
            f"Pulumi.{strays[0]}.yaml: the stack's stage is not in mlinfra:stages ({', '.join(catalog)})"
        )
    stages = [
        (stage, [stack for stack in stacks if split_stack_name(stack)[1] == stage]) for stage in catalog
    ]
    return [(SHARED_STACK, shared), *stages] if shared else stages


def _flat(stages: list[tuple[str, list[str]]]) -> list[str]:
    return [stack for _, stacks in stages for stack in stacks]


def _deploy_jobs(stages: list[tuple[str, list[str]]]) -> list[str]:
    lines, previous = [], []
    for _stage, stacks in stages:
        if not stacks:
            continue
        for stack in stacks:
            lines.append(f"  up-{stack}:")
            if previous:
                lines.append(f"    needs: [{', '.join(f'up-{name}' for name in previous)}]")
            else:
                lines += [
                    "    # workflow_dispatch can pick any branch; only main deploys (the environments' branch",
                    "    # policies enforce the same).",
                    "    if: github.ref == 'refs/heads/main'",
                ]
            lines += [
                "    uses: ./.github/workflows/pulumi-up.yml",
                "    # What the called job needs, and no more: a caller caps the reusable workflow's token.",
                "    permissions:",
                "      contents: read",
                "      id-token: write",
                "    with:",
                f"      stack: {stack}",
                f"      environment: infra-{stack}",
                "",
            ]
        previous = stacks
    return lines[:-1]


def _pulumi_up_inputs(stacks: list[str]) -> list[str]:
    return [
        "      stack:",
        f"        description: Pulumi stack to update ({' or '.join([', '.join(stacks[:-1]), stacks[-1]] if len(stacks) > 1 else stacks)}).",
        "        type: string",
        "        required: true",
        "      environment:",
        "        description: GitHub environment that gates the update (infra-<stack>).",
        "        type: string",
        "        required: true",
    ]


def _pipeline_stages(stages: list[tuple[str, list[str]]]) -> list[str]:
    lines, previous = [], ["validate"]
    for _, stacks in stages:
        if not stacks:
            continue
        for stack in stacks:
            lines += [
                "  - template: templates/pulumi-up.yml",
                "    parameters:",
                f"      stage: {stack}",
                f"      dependsOn: [{', '.join(previous)}]",
                "",
            ]
        previous = [f"deploy_{stack.replace('-', '_')}" for stack in stacks]
    return lines[:-1]


def regions(project_dir: Path = ROOT) -> dict[tuple[str, str], list[str]]:
    """(file relative to the project, region) -> the region's generated lines."""
    stages = stacks_by_stage(project_dir)
    stacks = _flat(stages)
    return {
        (".github/workflows/deploy.yml", "deploy-jobs"): _deploy_jobs(stages),
        (".github/workflows/pull-request.yml", "preview-matrix"): [f"        stack: [{', '.join(stacks)}]"],
        (".github/workflows/pulumi-up.yml", "inputs"): _pulumi_up_inputs(stacks),
        ("azure-pipelines.yml", "deploy-stages"): _pipeline_stages(stages),
        ("templates/pulumi-up.yml", "stacks"): [f"    values: [{', '.join(stacks)}]"],
        (".github/workflows/drift.yml", "drift-matrix"): [f"        stack: [{', '.join(stacks)}]"],
        ("azure-pipelines-drift.yml", "drift-matrix"): [
            line
            for stack in stacks
            for line in (f"        {stack.replace('-', '_')}:", f"          STACK: {stack}")
        ],
    }


def render(text: str, region: str, lines: list[str]) -> str:
    """`text` with the region's body replaced by `lines`; the markers keep their indentation."""
    pattern = re.compile(
        rf"^(?P<indent>[ ]*){re.escape(BEGIN.format(region=region))}\n.*?^[ ]*{re.escape(END.format(region=region))}$",
        re.S | re.M,
    )
    match = pattern.search(text)
    if match is None:
        raise ValueError(f"no generated region {region!r}: restore its BEGIN/END GENERATED markers")
    indent = match["indent"]
    body = "\n".join([indent + BEGIN.format(region=region), *lines, indent + END.format(region=region)])
    return text[: match.start()] + body + text[match.end() :]


def stale_files(project_dir: Path = ROOT, write: bool = False) -> list[str]:
    """Files whose generated regions disagree with the catalog (rewritten when `write`)."""
    by_file: dict[str, list[tuple[str, list[str]]]] = {}
    for (name, region), lines in regions(project_dir).items():
        by_file.setdefault(name, []).append((region, lines))
    stale = []
    for name, parts in by_file.items():
        path = project_dir / name
        text = path.read_text(encoding="utf-8")
        new = text
        for region, lines in parts:
            new = render(new, region, lines)
        if new != text:
            stale.append(name)
            if write:
                path.write_text(new, encoding="utf-8")
    return stale


def main(argv: list[str]) -> int:
    write = "--write" in argv
    try:
        stale = stale_files(ROOT, write)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for name in stale:
        print(f"{'regenerated' if write else 'out of date (run make workflows)'}: {name}")
    # The per-stack permission tables (docs/identities.md) list every stack file: a new stage adds one.
    if write:
        from mlinfra.review.permissions_command import write_page

        write_page(ROOT)
        print("regenerated: docs/identities.md (permission tables)")
    return 0 if write or not stale else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
