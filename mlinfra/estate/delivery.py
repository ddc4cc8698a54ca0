"""Who runs what, from the delivery files: every pipeline job that runs `pulumi up`, `preview` or
a drift refresh of a stack, with the CI environment or service connection that gives it its
identity, and the jobs it waits for.

GitHub: the jobs of `.github/workflows/*.yml`, a reusable-workflow call per stack
(`with: {stack, environment}`) or a job with a `stack` matrix. Azure DevOps: the stages of
`azure-pipelines*.yml`, through the stage template they instantiate (`templates/*.yml`,
`${{ parameters.x }}` substituted), or a job with a `STACK` matrix. Files are read with PyYAML's
safe loader: the keys read here are plain strings, whatever YAML version reads them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

WORKFLOWS = Path(".github") / "workflows"
ADO_PIPELINES = ("azure-pipelines.yml", "azure-pipelines-drift.yml")
_PARAMETER = re.compile(r"\$\{\{\s*parameters\.(\w+)\s*\}\}")
_REPLACE = re.compile(r"\$\{\{\s*replace\(parameters\.(\w+),\s*'([^']*)',\s*'([^']*)'\)\s*\}\}")


@dataclass(frozen=True)
class Run:
    platform: str
    """`github` or `azure-devops`."""
    file: str
    job: str
    stack: str
    operation: str
    """`up`, `preview` or `refresh`."""
    environment: str | None
    """The GitHub environment or Azure DevOps environment the job runs in."""
    service_connection: str | None = None
    """Azure DevOps: the service connection that gives the job its Azure identity."""
    needs: tuple[str, ...] = ()
    """Jobs (GitHub) or pipeline stages (Azure DevOps) of the same file this one waits for."""

    @property
    def where(self) -> str:
        return f"{self.file} job {self.job}"


def _operation(text: str) -> str | None:
    if "--refresh" in text or "expect-no-changes" in text:
        return "refresh"
    if re.search(r"command\"?:\s*\"?up\b|pulumi up\b", text):
        return "up"
    if re.search(r"command\"?:\s*\"?preview\b|pulumi preview\b", text):
        return "preview"
    return None


def _load(path: Path) -> dict:
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return document if isinstance(document, dict) else {}


def _as_tuple(value) -> tuple[str, ...]:
    if value is None:
        return ()
    return (str(value),) if isinstance(value, str) else tuple(str(v) for v in value)


def github_runs(root: Path) -> list[Run]:
    runs: list[Run] = []
    for path in sorted((root / WORKFLOWS).glob("*.yml")):
        relative = str(path.relative_to(root))
        for job_id, job in (_load(path).get("jobs") or {}).items():
            if not isinstance(job, dict):
                continue
            needs = _as_tuple(job.get("needs"))
            uses = job.get("uses")
            if isinstance(uses, str) and uses.startswith("./"):
                called = root / uses[2:]
                parameters = job.get("with") or {}
                operation = _operation(called.read_text(encoding="utf-8")) if called.is_file() else None
                if "stack" in parameters and operation:
                    runs.append(
                        Run(
                            "github",
                            relative,
                            job_id,
                            str(parameters["stack"]),
                            operation,
                            parameters.get("environment"),
                            None,
                            needs,
                        )
                    )
                continue
            stacks = ((job.get("strategy") or {}).get("matrix") or {}).get("stack")
            operation = _operation(json.dumps(job.get("steps") or []))
            if isinstance(stacks, list) and operation:
                environment = job.get("environment")
                if isinstance(environment, dict):
                    environment = environment.get("name")
                runs.extend(
                    Run("github", relative, job_id, str(stack), operation, environment, None, needs)
                    for stack in stacks
                )
    return runs


def _substitute(text: str, parameters: dict) -> str:
    text = _REPLACE.sub(lambda m: str(parameters.get(m[1], "")).replace(m[2], m[3]), text)
    return _PARAMETER.sub(lambda m: str(parameters.get(m[1], "")), text)


def _ado_jobs(document: dict) -> list[dict]:
    jobs = list(document.get("jobs") or [])
    for stage in document.get("stages") or []:
        if isinstance(stage, dict):
            jobs.extend(stage.get("jobs") or [])
    return [job for job in jobs if isinstance(job, dict)]


def _service_connection(node) -> str | None:
    """The first `azureSubscription` input found under `node`."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "azureSubscription" and isinstance(value, str):
                return value
            found = _service_connection(value)
            if found:
                return found
    elif isinstance(node, list):
        for item in node:
            found = _service_connection(item)
            if found:
                return found
    return None


def azure_devops_runs(root: Path) -> list[Run]:
    runs: list[Run] = []
    for name in ADO_PIPELINES:
        path = root / name
        if not path.is_file():
            continue
        document = _load(path)
        for entry in document.get("stages") or []:
            if not isinstance(entry, dict) or "template" not in entry:
                continue
            template = root / str(entry["template"])
            parameters = entry.get("parameters") or {}
            if not template.is_file() or "stage" not in parameters:
                continue
            text = _substitute(template.read_text(encoding="utf-8"), parameters)
            instantiated = yaml.safe_load(text) or {}
            operation = _operation(text)
            for stage in instantiated.get("stages") or []:
                for job in stage.get("jobs") or []:
                    runs.append(
                        Run(
                            "azure-devops",
                            name,
                            str(stage.get("stage")),
                            str(parameters["stage"]),
                            operation or "up",
                            job.get("environment"),
                            _service_connection(job),
                            _as_tuple(parameters.get("dependsOn")),
                        )
                    )
        for job in _ado_jobs(document):
            matrix = (job.get("strategy") or {}).get("matrix") or {}
            operation = _operation(json.dumps(job.get("steps") or []))
            if not isinstance(matrix, dict) or not operation:
                continue
            for leg in matrix.values():
                if isinstance(leg, dict) and "STACK" in leg:
                    runs.append(
                        Run(
                            "azure-devops",
                            name,
                            str(job.get("job")),
                            str(leg["STACK"]),
                            operation,
                            job.get("environment"),
                            _service_connection(job),
                        )
                    )
    return runs


def delivery_runs(root: Path) -> list[Run]:
    return github_runs(root) + azure_devops_runs(root)
