"""Delivery findings (EV-6..EV-9): every environment and service connection a job uses exists,
every deployed stack has an identity and state, jobs run in the order of the stack references,
and every stack is deployed, previewed and drift-checked."""

from __future__ import annotations

from mlinfra.estate.delivery import Run
from mlinfra.estate.findings import Finding
from mlinfra.estate.identities import Bootstrap
from mlinfra.estate.inventory import StackPlan
from mlinfra.estate.prerequisites import Prerequisites

OPERATIONS = ("up", "preview", "refresh")


def _created_ado(stacks: list[StackPlan]) -> set[str]:
    names = set()
    for stack in stacks:
        for resource in stack.plan.resources:
            if resource.type == "azuredevops:index/environment:Environment":
                names.add(str(resource.inputs.get("name")))
            if resource.type == "azuredevops:index/serviceEndpointAzureRM:ServiceEndpointAzureRM":
                names.add(str(resource.inputs.get("serviceEndpointName")))
    return names


def referenced_stacks(stack: StackPlan) -> list[str]:
    """Stacks this one reads through `pulumi.StackReference` (the last part of the name)."""
    names = [
        str(r.inputs.get("id") or r.inputs.get("name") or "")
        for r in stack.plan.of_type("pulumi:pulumi:StackReference")
    ]
    return sorted({name.rsplit("/", 1)[-1] for name in names if name})


def _upstream(run: Run, runs: list[Run]) -> set[str]:
    """Jobs `run` waits for, directly or through other jobs of its file."""
    jobs = {r.job: r for r in runs if r.file == run.file}
    seen: set[str] = set()
    todo = list(run.needs)
    while todo:
        job = todo.pop()
        if job in seen:
            continue
        seen.add(job)
        if job in jobs:
            todo.extend(jobs[job].needs)
    return seen


def check_delivery(
    stacks: list[StackPlan], runs: list[Run], bootstrap: Bootstrap, prerequisites: Prerequisites
) -> list[Finding]:
    findings: list[Finding] = []
    declared = {env for item in prerequisites.items for env in item.environments}
    ado_created = _created_ado(stacks) | declared
    by_environment = {env for identity in bootstrap.identities.values() for env in identity.environments}
    reported: set[tuple[str, str]] = set()

    def once(kind: str, name: str) -> bool:
        if (kind, name) in reported:
            return False
        reported.add((kind, name))
        return True

    for run in runs:
        if run.platform == "github":
            env = str(run.environment)
            if (
                run.environment
                and env not in bootstrap.environments
                and env not in declared
                and once("env", env)
            ):
                findings.append(
                    Finding(
                        "EV-6",
                        run.stack,
                        f"{run.where} runs in GitHub environment {env}, which no stack creates and no prerequisite declares",
                        identity=env,
                    )
                )
            elif (
                run.environment
                and env in bootstrap.environments
                and env not in by_environment
                and once("id", env)
            ):
                findings.append(
                    Finding(
                        "EV-7",
                        run.stack,
                        f"GitHub environment {env} ({run.where}) names no identity: no AZURE_CLIENT_ID variable of an identity bootstrap creates",
                        identity=env,
                    )
                )
        else:
            for kind, name in (
                ("environment", run.environment),
                ("service connection", run.service_connection),
            ):
                if name and name not in ado_created and once(kind, name):
                    findings.append(
                        Finding(
                            "EV-6",
                            run.stack,
                            f"{run.where} uses Azure DevOps {kind} {name}, which no stack creates and no prerequisite declares",
                            identity=name,
                        )
                    )
            connection = run.service_connection
            if (
                connection
                and connection in ado_created
                and connection not in declared
                and connection not in by_environment
                and once("id", connection)
            ):
                findings.append(
                    Finding(
                        "EV-7",
                        run.stack,
                        f"Azure DevOps service connection {connection} ({run.where}) names no identity: it federates with no identity bootstrap creates",
                        identity=connection,
                    )
                )
        if (
            run.operation == "up"
            and run.stack not in bootstrap.initialized_stacks
            and once("state", run.stack)
        ):
            findings.append(
                Finding(
                    "EV-7",
                    run.stack,
                    f"{run.where} deploys stack {run.stack}, which bootstrap's stackInitCommands never create on the state backend",
                )
            )

    by_name = {s.stack: s for s in stacks if s.kind != "bootstrap"}
    for run in (r for r in runs if r.operation == "up"):
        stack = by_name.get(run.stack)
        if stack is None:
            continue
        upstream = _upstream(run, runs)
        for referenced in referenced_stacks(stack):
            deployers = [
                r for r in runs if r.file == run.file and r.operation == "up" and r.stack == referenced
            ]
            if deployers and not any(r.job in upstream for r in deployers):
                findings.append(
                    Finding(
                        "EV-8",
                        run.stack,
                        f"{run.where} deploys {run.stack} without waiting for {deployers[0].job}, which deploys {referenced} that {run.stack} references",
                    )
                )
            elif not deployers:
                findings.append(
                    Finding(
                        "EV-8",
                        run.stack,
                        f"{run.file} deploys {run.stack} but no job of it deploys {referenced}, which {run.stack} references",
                    )
                )

    for stack in by_name.values():
        for operation in OPERATIONS:
            if not any(r.stack == stack.stack and r.operation == operation for r in runs):
                findings.append(
                    Finding("EV-9", stack.stack, f"no pipeline job runs {operation} of stack {stack.stack}")
                )
    return findings
