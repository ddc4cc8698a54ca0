"""Checks of GitHub Actions workflows and Azure Pipelines files against the security rules.

Each check is one function that takes a file (a path) or its parsed YAML (a dict, from `load`)
and returns a list of human-readable problems; an empty list means the file passes. Rule IDs
(GH-*, ADO-*, PU-*, T-*) are defined in docs/security-model.md. `github_workflow_problems` and
`azure_pipeline_problems` run every check that applies and return the ones that found something.

Two checks run validators that the venv installs from uv.lock and that need no
network: `check-jsonschema` (its built-in GitHub workflow and Azure Pipelines schemas; its command
line run in this process) and `actionlint` (with `shellcheck` for the `run:` scripts).
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

FORK_GUARD = "github.event.pull_request.head.repo.full_name == github.repository"
"""The job condition that skips a job on pull requests from forks (GH-11)."""

PINS_FILE = Path(__file__).with_name("action-pins.md")
"""The table of approved actions and their commit SHAs (GH-9), kept beside this module."""

_PIN_ROW = re.compile(r"^\|\s*([\w.-]+/[\w.-]+)\s*\|\s*(v[\w.]+)\s*\|\s*([0-9a-f]{40})\s*\|", re.MULTILINE)


def read_pins(path: str | Path) -> dict[str, tuple[str, str]]:
    """The `| owner/repo | tag | sha | ... |` rows of a pins table, by lower-case `owner/repo`:
    (commit SHA, release tag). A file with no such row, or one action listed twice, is an error."""
    pins: dict[str, tuple[str, str]] = {}
    for action, tag, sha in _PIN_ROW.findall(Path(path).read_text(encoding="utf-8")):
        if action.lower() in pins:
            raise ValueError(f"{path}: {action} is listed twice")
        pins[action.lower()] = (sha, tag)
    if not pins:
        raise ValueError(f"{path}: no `| owner/repo | tag | 40-hex sha |` rows")
    return pins


PINNED_ACTIONS: Mapping[str, tuple[str, str]] = read_pins(PINS_FILE)
"""The only actions allowed, by lower-case `owner/repo`: (commit SHA, release tag), from `PINS_FILE`."""

AZURE_LOGIN = "azure/login"
PULUMI_ACTION = "pulumi/actions"
GITHUB_SCRIPT = "actions/github-script"
CHECKOUT = "actions/checkout"
SETUP_UV = "astral-sh/setup-uv"

_PINNED_REF = re.compile(r"^[\w.-]+/[\w.-]+(/[^@\s]+)?@[0-9a-f]{40}$")
_EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
_UNTRUSTED = re.compile(r"\bgithub\s*(\.\s*(event|head_ref)\b|\[\s*['\"](event|head_ref)['\"]\s*\])")
_SECRET_REFERENCE = re.compile(r"\bsecrets\s*(?:\.\s*|\[\s*['\"])(\w+)")
_INPUT_FORWARD = re.compile(r"^\$\{\{\s*inputs\.([\w-]+)\s*\}\}$")
_PARAMETER = re.compile(r"\$\{\{\s*parameters\.([\w-]+)\s*\}\}")
_USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*['\"]?([^'\"\s#]+)['\"]?\s*(?:#\s*(\S+))?")


# --- reading files ------------------------------------------------------------------------------


def load(path: str | Path) -> dict[str, Any]:
    """The parsed YAML of a workflow or pipeline file (an empty dict for an empty file)."""
    with open(path, encoding="utf-8") as stream:
        return yaml.safe_load(stream) or {}


def is_github_workflow(path: str | Path) -> bool:
    """Whether `path` lies in a `.github/workflows` folder (otherwise it is Azure Pipelines YAML)."""
    parts = Path(path).parts
    return any(a == ".github" and b == "workflows" for a, b in itertools.pairwise(parts))


def triggers(doc: Mapping[Any, Any]) -> set[str]:
    """The events of a GitHub workflow. PyYAML reads the key `on` as the boolean True (YAML 1.1)."""
    on = doc.get("on", doc.get(True))
    if isinstance(on, str):
        return {on}
    if isinstance(on, (list, dict)):
        return {str(event) for event in on}
    return set()


def jobs(doc: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The jobs of a GitHub workflow by id (GitHub's `jobs:` is a mapping, Azure Pipelines' a list)."""
    found = doc.get("jobs")
    return (
        {str(name): job for name, job in found.items() if isinstance(job, dict)}
        if isinstance(found, dict)
        else {}
    )


def _steps(job: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [step for step in job.get("steps") or [] if isinstance(step, dict)]


def _action(uses: Any) -> str:
    """`owner/repo` of a `uses:` value, lower-case (GitHub owners and repos are case-insensitive)."""
    name = str(uses).split("@", 1)[0].lower()
    return "/".join(name.split("/")[:2])


def _step_uses(job: Mapping[str, Any], action: str) -> list[dict[str, Any]]:
    return [step for step in _steps(job) if "uses" in step and _action(step["uses"]) == action]


def _is_true(value: Any) -> bool:
    return value is True or str(value).strip().lower() == "true"


def _is_false(value: Any) -> bool:
    return value is False or str(value).strip().lower() == "false"


def _remote_uses(doc: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, uses) for every action and reusable workflow that is neither local nor a container."""
    for name, job in jobs(doc).items():
        candidates = [(f"job {name}", job.get("uses"))]
        candidates += [
            (f"job {name} step {index + 1}", step.get("uses")) for index, step in enumerate(_steps(job))
        ]
        for where, uses in candidates:
            if uses is not None and not str(uses).startswith(("./", "docker://")):
                yield where, str(uses)


def _tool(name: str) -> str:
    """The venv's own copy of a command (next to the interpreter), else the first one on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"`{name}` is neither next to {sys.executable} nor on PATH; run `make deps`")
    return found


# --- validators ---------------------------------------------------------------------------------


def schema_problems(path: str | Path) -> list[str]:
    """The file against the JSON schema of its kind (the GitHub workflow schema for files under
    `.github/workflows`, the Azure Pipelines schema otherwise), with check-jsonschema's built-in
    copies: no network. Azure Pipelines `${{ }}` template expressions are unnested first."""
    if is_github_workflow(path):
        options = ["--builtin-schema", "vendor.github-workflows"]
    else:
        # The Azure Pipelines schema's patterns are not valid in unicode-mode ECMAScript regexes.
        options = [
            "--builtin-schema",
            "vendor.azure-pipelines",
            "--data-transform",
            "azure-pipelines",
            "--regex-variant",
            "nonunicode",
        ]
    result = _check_jsonschema(["--output-format", "JSON", *options, str(path)])
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        return [f"{path}: check-jsonschema failed: {(result.stderr or result.stdout).strip()}"]
    problems = [f"{path}: {error['message']}" for error in report.get("parse_errors", [])]
    for error in report.get("errors", []):
        # A failed `oneOf` at the root says little; its deepest match names the offending key.
        detail = error.get("best_deep_match") if error.get("has_sub_errors") else None
        detail = detail or error
        problems.append(f"{path}: {detail['path']}: {detail['message']}")
    if result.returncode != 0 and not problems:
        problems.append(f"{path}: check-jsonschema exited {result.returncode}: {result.stderr.strip()}")
    return problems


def _check_jsonschema(arguments: list[str]) -> subprocess.CompletedProcess:
    """check-jsonschema's command line run in this process, as its console script would run it:
    starting a Python process for it cost more than the check itself (docs/benchmarks.md)."""
    from check_jsonschema import main as check_jsonschema

    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            check_jsonschema.main(args=arguments, prog_name="check-jsonschema")
            returncode = 0
        except SystemExit as exit_:  # click ends every run with one
            returncode = exit_.code if isinstance(exit_.code, int) else 1
    return subprocess.CompletedProcess(
        ["check-jsonschema", *arguments], returncode, stdout.getvalue(), stderr.getvalue()
    )


def actionlint_problems(path: str | Path) -> list[str]:
    """actionlint's findings on a GitHub workflow (expressions, contexts, reusable-workflow inputs,
    untrusted input in scripts, and shellcheck on every `run:`). Local reusable workflows are read
    from the repository around the file (the nearest folder with a `.git`)."""
    command = [
        _tool("actionlint"),
        "-no-color",
        "-oneline",
        "-shellcheck",
        _tool("shellcheck"),
        "-pyflakes",
        "",
        str(path),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode == 0:
        return []
    if result.returncode == 1:  # 1: problems found; 2 and 3: bad usage or a crash
        return result.stdout.strip().splitlines()
    return [f"{path}: actionlint exited {result.returncode}: {(result.stderr or result.stdout).strip()}"]


# --- GitHub workflow rules ----------------------------------------------------------------------


def unpinned_actions(doc: Mapping[str, Any]) -> list[str]:
    """GH-9, T-51: every action and reusable workflow that is not local (`./`) or a container
    (`docker://`) is pinned to a full commit SHA, `owner/repo[/path]@<40 hex digits>`."""
    return [
        f"{where}: `{uses}` is not pinned to a full 40-character commit SHA (GH-9)"
        for where, uses in _remote_uses(doc)
        if not _PINNED_REF.match(uses)
    ]


def unapproved_actions(doc: Mapping[str, Any]) -> list[str]:
    """GH-9: a SHA-pinned action is one of `PINNED_ACTIONS`, at exactly the SHA listed there.
    Refs that are not SHAs are left to `unpinned_actions`."""
    problems = []
    for where, uses in _remote_uses(doc):
        if not _PINNED_REF.match(uses):
            continue
        action, sha = _action(uses), uses.rsplit("@", 1)[1]
        if action not in PINNED_ACTIONS:
            problems.append(
                f"{where}: `{action}` is not an approved action; allowed: {', '.join(sorted(PINNED_ACTIONS))}"
            )
        elif sha != PINNED_ACTIONS[action][0]:
            problems.append(
                f"{where}: `{action}` is pinned to {sha}; the approved commit is {PINNED_ACTIONS[action][0]}"
            )
    return problems


def pin_comment_problems(path: str | Path) -> list[str]:
    """GH-9: a SHA pin carries its release tag in a trailing comment (`@<sha> # v7.0.1`), and for
    an approved action that tag is the one of `PINNED_ACTIONS`. Reads the text: YAML drops comments."""
    problems = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        match = _USES_LINE.match(line)
        if not match or not _PINNED_REF.match(match.group(1)):
            continue
        uses, tag = match.groups()
        expected = PINNED_ACTIONS.get(_action(uses), (None, None))[1]
        if tag is None:
            problems.append(f"{path}:{number}: `{uses}` has no `# <tag>` comment naming its release")
        elif expected is not None and tag != expected:
            problems.append(f"{path}:{number}: `{uses}` is commented `{tag}`; that commit is {expected}")
    return problems


def _write_scopes(permissions: Any) -> list[str]:
    """The scopes a `permissions:` value grants write on (`write-all` counts as every scope)."""
    if permissions == "write-all":
        return ["write-all"]
    if isinstance(permissions, dict):
        return [str(scope) for scope, level in permissions.items() if level == "write"]
    return []


def _grant(scope: str) -> str:
    return scope if scope == "write-all" else f"{scope}: write"


def _signs_in_to_azure(job: Mapping[str, Any]) -> bool:
    return bool(_step_uses(job, AZURE_LOGIN) or _step_uses(job, PULUMI_ACTION))


def _script(step: Mapping[str, Any]) -> str:
    return str((step.get("with") or {}).get("script", ""))


def _comments_on_pull_requests(job: Mapping[str, Any]) -> bool:
    pulumi_comments = any(
        _is_true((step.get("with") or {}).get("comment-on-pr")) for step in _step_uses(job, PULUMI_ACTION)
    )
    # A github-script step comments on the pull request when it addresses one (context.issue, a
    # comment call); one that only opens or edits issues (drift reports) does not.
    script_comments = any(
        re.search(r"context\.issue\b|Comment\(|payload\.pull_request", _script(step))
        for step in _step_uses(job, GITHUB_SCRIPT)
    )
    return pulumi_comments or script_comments


def _opens_issues(job: Mapping[str, Any]) -> bool:
    """A github-script step that creates or edits an issue (drift reports)."""
    return any(
        re.search(r"issues\.(create|update)\(", _script(step)) for step in _step_uses(job, GITHUB_SCRIPT)
    )


def permission_problems(doc: Mapping[str, Any]) -> list[str]:
    """GH-8, T-49, T-51: least-privilege `GITHUB_TOKEN`.

    - the workflow's own `permissions:` is absent, `{}`, `read-all` or read-only scopes;
    - `contents: write` and `write-all` never appear;
    - `id-token: write` only on jobs that use Azure/login or pulumi/actions, and every job that
      logs in with Azure/login through OIDC (no `creds:`) has it;
    - `pull-requests: write` only on jobs that comment (actions/github-script, or pulumi/actions
      with `comment-on-pr`), and every such job has it (T-49: otherwise "Resource not accessible
      by integration");
    - no other scope is written;
    - a job that calls a reusable workflow may grant what the callee needs (the callee's own jobs
      are checked in its file), except `contents: write` and `write-all`.
    """
    top = doc.get("permissions")
    problems = [
        f"workflow permissions grant {_grant(scope)} (GH-8: read-only at the top)"
        for scope in _write_scopes(top)
    ]
    for name, job in jobs(doc).items():
        granted = job.get("permissions", top)
        for scope in _write_scopes(job.get("permissions")):
            if scope in ("write-all", "contents"):
                problems.append(f"job {name}: {_grant(scope)} is never needed here (GH-8)")
            elif "uses" in job:
                continue
            elif scope == "id-token" and not _signs_in_to_azure(job):
                problems.append(
                    f"job {name}: id-token: write, but the job uses neither Azure/login nor pulumi/actions (GH-8)"
                )
            elif scope == "pull-requests" and not _comments_on_pull_requests(job):
                problems.append(f"job {name}: pull-requests: write, but the job does not comment (GH-8)")
            elif scope == "issues" and not _opens_issues(job):
                problems.append(f"job {name}: issues: write, but the job opens no issue (GH-8)")
            elif scope not in ("id-token", "pull-requests", "issues"):
                problems.append(f"job {name}: {scope}: write is not needed by any job here (GH-8)")
        oidc_logins = [
            step for step in _step_uses(job, AZURE_LOGIN) if "creds" not in (step.get("with") or {})
        ]
        if oidc_logins and "id-token" not in _write_scopes(granted):
            problems.append(f"job {name}: logs in to Azure with OIDC but lacks id-token: write")
        if _comments_on_pull_requests(job) and "pull-requests" not in _write_scopes(granted):
            problems.append(f"job {name}: comments on the pull request but lacks pull-requests: write (T-49)")
        if _opens_issues(job) and "issues" not in _write_scopes(granted):
            problems.append(f"job {name}: opens or edits issues but lacks issues: write")
    return problems


def _has_fork_guard(condition: Any) -> bool:
    """Whether a job's `if:` requires `FORK_GUARD`: it is the condition, or one of its `&&` terms
    (no `||`, which could let a fork through)."""
    if not isinstance(condition, str):
        return False
    expression = condition.strip()
    if expression.startswith("${{") and expression.endswith("}}"):
        expression = expression[3:-2]
    if "||" in expression:
        return False
    terms = {" ".join(term.strip().strip("()").split()) for term in expression.split("&&")}
    return FORK_GUARD in terms


def _fork_sensitive(job: Mapping[str, Any]) -> list[str]:
    """Why a job cannot run for a fork's pull request: what it uses that forks do not get."""
    reasons = []
    # GITHUB_TOKEN is the one secret a fork's run gets (read-only).
    secrets = set(_SECRET_REFERENCE.findall(json.dumps(job, default=str))) - {"GITHUB_TOKEN"}
    if secrets or "secrets" in job:
        reasons.append("reads secrets")
    if "id-token" in _write_scopes(job.get("permissions")):
        reasons.append("requests an OIDC token")
    if _step_uses(job, PULUMI_ACTION):
        reasons.append("runs pulumi/actions")
    return reasons


def fork_guard_problems(doc: Mapping[str, Any]) -> list[str]:
    """GH-10, GH-11, T-50: no `pull_request_target` trigger; on `pull_request`, a job that reads
    secrets (other than GITHUB_TOKEN), requests an OIDC token or runs pulumi/actions carries the
    fork guard in its `if:`, so that it is skipped, not failed, on forks."""
    events = triggers(doc)
    problems = []
    if "pull_request_target" in events:
        problems.append(
            "triggered by pull_request_target, which runs fork code with the base repository's secrets (GH-10)"
        )
    if "pull_request" not in events:
        return problems
    for name, job in jobs(doc).items():
        reasons = _fork_sensitive(job)
        if reasons and not _has_fork_guard(job.get("if")):
            problems.append(f"job {name} {' and '.join(reasons)} but lacks `if: {FORK_GUARD}` (GH-11)")
    return problems


def injection_problems(doc: Mapping[str, Any]) -> list[str]:
    """GH-10: no `${{ github.event.* }}` or `${{ github.head_ref }}` inside a `run:` script (nor
    in an actions/github-script `script:`, which is code too); pass such values through `env:`."""
    problems = []
    for name, job in jobs(doc).items():
        for index, step in enumerate(_steps(job)):
            scripts = [("run", step.get("run"))]
            if _action(step.get("uses", "")) == GITHUB_SCRIPT:
                scripts.append(("script", (step.get("with") or {}).get("script")))
            for key, script in scripts:
                for expression in _EXPRESSION.findall(str(script or "")):
                    if _UNTRUSTED.search(expression):
                        problems.append(
                            f"job {name} step {index + 1}: `${{{{{expression}}}}}` is interpolated into `{key}:`; "
                            "pass it through env: (GH-10)"
                        )
    return problems


def checkout_problems(doc: Mapping[str, Any]) -> list[str]:
    """GH-10: actions/checkout runs with `persist-credentials: false`, so later steps cannot reuse
    the token left in `.git/config`."""
    return [
        f"job {name}: actions/checkout without persist-credentials: false (GH-10)"
        for name, job in jobs(doc).items()
        for step in _step_uses(job, CHECKOUT)
        if not _is_false((step.get("with") or {}).get("persist-credentials"))
    ]


def concurrency_problems(doc: Mapping[str, Any]) -> list[str]:
    """GH-12, T-42, PU-11: a job that changes a stack (pulumi/actions `up`, `update`, `refresh`,
    `destroy`) sits in a concurrency group named after that stack, with `cancel-in-progress: false`:
    runs of one stack queue, none is cancelled half-way."""
    problems = []
    for name, job in jobs(doc).items():
        for step in _step_uses(job, PULUMI_ACTION):
            inputs = step.get("with") or {}
            if str(inputs.get("command")) not in ("up", "update", "refresh", "destroy"):
                continue
            command, stack = inputs.get("command"), str(inputs.get("stack-name", ""))
            concurrency = job.get("concurrency", doc.get("concurrency"))
            group = concurrency.get("group") if isinstance(concurrency, dict) else concurrency
            if not group or stack not in str(group):
                problems.append(
                    f"job {name}: `pulumi {command}` is not in a concurrency group named after its stack {stack} (GH-12)"
                )
            elif isinstance(concurrency, dict) and not _is_false(
                concurrency.get("cancel-in-progress", False)
            ):
                problems.append(
                    f"job {name}: cancel-in-progress must be false for `pulumi {command}` (GH-12, PU-11)"
                )
    return problems


def pulumi_action_problems(doc: Mapping[str, Any]) -> list[str]:
    """PU-2, PU-8, PU-10: pulumi/actions pins the CLI with `pulumi-version-file` and runs with
    `suppress-outputs: true`; a `preview` of a pull-request workflow also comments on the PR (`comment-on-pr`,
    `edit-pr-comment`), keeps the summary of a trimmed comment (`always-include-summary`, T-48)
    and shows the `diff`."""
    problems = []
    for name, job in jobs(doc).items():
        for step in _step_uses(job, PULUMI_ACTION):
            inputs = step.get("with") or {}
            if not inputs.get("pulumi-version-file"):
                problems.append(f"job {name}: pulumi/actions without pulumi-version-file (PU-10)")
            required = ["suppress-outputs"]
            if inputs.get("command") == "preview" and "pull_request" in triggers(doc):
                required += ["comment-on-pr", "edit-pr-comment", "always-include-summary", "diff"]
            problems += [
                f"job {name}: pulumi/actions {inputs.get('command')} needs {key}: true (PU-2, PU-8)"
                for key in required
                if not _is_true(inputs.get(key))
            ]
    return problems


POLICY_PACK = "policy"
"""The repository's CrossGuard policy pack directory (policy/PulumiPolicy.yaml)."""
_PULUMI_RUN = re.compile(r"(?:^|[;&|(])\s*pulumi\s+(preview|up|update)\b", re.MULTILINE)
"""A `pulumi preview|up` command: at the start of a line or after `;`, `&&`, `|` or `$(`, not in prose."""


def policy_pack_problems(doc: Mapping[str, Any]) -> list[str]:
    """PU-5: every `pulumi preview` and `pulumi up` runs the policy pack with its config for the
    stage: pulumi/actions `policyPacks: policy` and `policyPackConfigs`, or in a script
    `--policy-pack policy --policy-pack-config <file>`."""
    problems = []
    for name, job in jobs(doc).items():
        for step in _step_uses(job, PULUMI_ACTION):
            inputs = step.get("with") or {}
            if inputs.get("command") not in ("preview", "up", "update"):
                continue
            packs = str(inputs.get("policyPacks") or "").replace(";", "\n").split()
            if POLICY_PACK not in packs or not inputs.get("policyPackConfigs"):
                problems.append(
                    f"job {name}: pulumi/actions {inputs.get('command')} without policyPacks: {POLICY_PACK} "
                    "and policyPackConfigs (PU-5)"
                )
    for script in _shell_scripts(doc):
        if not (match := _PULUMI_RUN.search(script)):
            continue
        if f"--policy-pack {POLICY_PACK}" not in script or "--policy-pack-config" not in script:
            problems.append(
                f"`pulumi {match[1]}` in a script without --policy-pack {POLICY_PACK} --policy-pack-config (PU-5)"
            )
    return problems


def _shell_scripts(node: Any) -> Iterator[str]:
    """Shell scripts of a workflow or pipeline: GitHub `run`, Azure `script`/`bash`/`inlineScript`.
    A GitHub step's `with:` holds action inputs, not shell (github-script's `script` is JavaScript),
    so it is not searched."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("script", "bash", "inlineScript", "run") and isinstance(value, str):
                yield value
            elif key != "with":
                yield from _shell_scripts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _shell_scripts(item)


# --- the Azure ML CLI extension (both platforms) ------------------------------------------------

_ML_EXTENSION_ADD = re.compile(r"\baz\s+extension\s+add\b(?:[^\n\\]|\\\n|\\)*")
"""An `az extension add` command with its backslash-continued lines."""
_ML_NAME = re.compile(r"(?:--name|-n)\s+[\"']?ml\b")
_VERSION = re.compile(r"--version\s+\S+")


def ml_extension_problems(doc: Mapping[str, Any]) -> list[str]:
    """`az extension add --name ml` names its version: an unpinned extension installs whatever is
    newest that day, so a release could run other commands than the ones reviewed (`az extension
    add --version`, Microsoft Learn, cli/azure/extension)."""
    problems = []
    for script in _shell_scripts(dict(doc)):
        for command in _ML_EXTENSION_ADD.findall(script):
            if _ML_NAME.search(command) and not _VERSION.search(command):
                problems.append(f"unpinned ml extension: `{' '.join(command.split())}` needs --version")
    return problems


# --- drift detection (both platforms) -----------------------------------------------------------

_PULUMI_CHANGES = re.compile(r"\bpulumi\s+(up|update|destroy|refresh|import)\b")
_PULUMI_PREVIEW = re.compile(r"\bpulumi\s+preview\b(?:[^\n\\]|\\\n|\\)*")
"""A `pulumi preview` command with its backslash-continued lines."""


def _drift_command_problems(where: str, script: str) -> list[str]:
    """A scheduled run never changes a stack, and every preview it runs is a drift check."""
    problems = []
    if match := _PULUMI_CHANGES.search(script):
        problems.append(f"{where}: a scheduled run must not change a stack (`{match.group(0)}`)")
    for preview in _PULUMI_PREVIEW.findall(script):
        missing = [flag for flag in ("--refresh", "--expect-no-changes") if flag not in preview]
        if missing:
            problems.append(f"{where}: drift preview without {' and '.join(missing)}")
    return problems


def drift_problems(doc: Mapping[str, Any]) -> list[str]:
    """Scheduled GitHub workflows detect drift only: no command that changes a stack; every
    `pulumi preview` runs with `--refresh --expect-no-changes` (pulumi/actions: `refresh` and
    `expect-no-changes` true); and a job that previews reports a failure in an issue (a
    github-script step, `if: failure() ...`, that opens or edits one, with `issues: write`)."""
    if "schedule" not in triggers(doc):
        return []
    problems = []
    for name, job in jobs(doc).items():
        previews = False
        for step in _steps(job):
            if "run" in step:
                script = str(step["run"])
                problems += _drift_command_problems(f"job {name}", script)
                previews = previews or bool(_PULUMI_PREVIEW.search(script))
        for step in _step_uses(job, PULUMI_ACTION):
            inputs = step.get("with") or {}
            command = inputs.get("command")
            if command is None:
                continue  # installs the CLI only
            if command != "preview":
                problems.append(
                    f"job {name}: a scheduled run must not change a stack (pulumi/actions {command})"
                )
            elif not (_is_true(inputs.get("refresh")) and _is_true(inputs.get("expect-no-changes"))):
                problems.append(f"job {name}: drift preview needs refresh: true and expect-no-changes: true")
            previews = True
        reports = [
            step
            for step in _step_uses(job, GITHUB_SCRIPT)
            if "failure()" in str(step.get("if", ""))
            and re.search(r"issues\.(create|update)\(", _script(step))
        ]
        if previews and not reports:
            problems.append(
                f"job {name}: drift is not reported; add an `if: failure()` step that opens or updates an issue"
            )
    return problems


def _pipeline_scripts(doc: Mapping[str, Any]) -> Iterator[tuple[dict[str, Any], str]]:
    for node in _walk(doc):
        for key in ("script", "bash", "pwsh", "powershell"):
            if isinstance(node.get(key), str):
                yield node, node[key]
        inputs = node.get("inputs")
        if isinstance(inputs, dict) and isinstance(inputs.get("inlineScript"), str):
            yield node, inputs["inlineScript"]


def azure_drift_problems(doc: Mapping[str, Any]) -> list[str]:
    """The same for a scheduled Azure pipeline (`schedules:`): no stack change, previews with
    `--refresh --expect-no-changes`, and a step with `condition: failed()` that reports the drift."""
    if not doc.get("schedules"):
        return []
    problems = []
    previews = False
    for node, script in _pipeline_scripts(doc):
        where = f"step {node.get('displayName', '?')}"
        problems += _drift_command_problems(where, script)
        previews = previews or bool(_PULUMI_PREVIEW.search(script))
    reports = [
        node
        for node in _walk(doc)
        if "failed()" in str(node.get("condition", "")) and ("script" in node or "task" in node)
    ]
    if previews and not reports:
        problems.append(
            "drift is not reported; add a step with `condition: failed()` that opens or updates an issue"
        )
    # Without `trigger: none` Azure Pipelines runs a pipeline on every push (its default CI trigger).
    if doc.get("trigger") != "none" or doc.get("pr") != "none":
        problems.append("a drift pipeline runs on its schedule only: set `trigger: none` and `pr: none`")
    return problems


def uv_setup_problems(doc: Mapping[str, Any]) -> list[str]:
    """This repository's dependency path: a job that runs `make` or pulumi/actions (whose CLI runs
    uv itself: Pulumi.yaml toolchain uv) first sets up uv with astral-sh/setup-uv, at the version
    pinned in pyproject.toml (`version-file`), and a cache it enables is keyed on `uv.lock` alone
    (`cache-dependency-glob`)."""
    problems = []
    for name, job in jobs(doc).items():
        setup_seen = False
        for index, step in enumerate(_steps(job)):
            if "uses" in step and _action(step["uses"]) == SETUP_UV:
                setup_seen = True
                inputs = step.get("with") or {}
                where = f"job {name} step {index + 1}"
                if str(inputs.get("version-file", "")).strip() != "pyproject.toml":
                    problems.append(f"{where}: setup-uv needs version-file: pyproject.toml (the locked uv)")
                cache = inputs.get("enable-cache", "auto")
                if not _is_false(cache) and str(inputs.get("cache-dependency-glob", "")).strip() != "uv.lock":
                    problems.append(
                        f"{where}: setup-uv's cache must be keyed on uv.lock (cache-dependency-glob)"
                    )
                continue
            runs_make = re.search(r"(^|[\s;&|(])make(\s|$)", str(step.get("run", ""))) is not None
            if (runs_make or _action(step.get("uses", "")) == PULUMI_ACTION) and not setup_seen:
                what = "runs make" if runs_make else "runs pulumi/actions"
                problems.append(f"job {name} step {index + 1} {what} before astral-sh/setup-uv has set up uv")
    return problems


# --- environments (both platforms) --------------------------------------------------------------


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every mapping in a parsed YAML document, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def _environment_name(environment: Any) -> str | None:
    if isinstance(environment, dict):
        environment = environment.get("name")
    return None if environment is None else str(environment)


def _named_environments(doc: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, name as written) for every environment a file names: a GitHub job's `environment:`
    and the `environment` input it hands a reusable workflow; an Azure Pipelines deployment job's
    `environment:` and the `environment` parameter it hands a template."""
    if isinstance(doc.get("jobs"), dict):
        for name, job in jobs(doc).items():
            if (environment := _environment_name(job.get("environment"))) is not None:
                yield f"job {name}", environment
            if "uses" in job and (
                environment := _environment_name((job.get("with") or {}).get("environment"))
            ):
                yield f"job {name} (with: environment)", environment
        return
    for node in _walk(doc):
        if "deployment" in node and (environment := _environment_name(node.get("environment"))) is not None:
            yield f"deployment {node['deployment']}", environment
        parameters = node.get("parameters")
        if "template" in node and isinstance(parameters, dict) and "environment" in parameters:
            yield f"template {node['template']} (parameters: environment)", str(parameters["environment"])


def _workflow_call_inputs(doc: Mapping[Any, Any]) -> set[str]:
    """The inputs of a GitHub workflow that runs only when another workflow calls it."""
    on = doc.get("on", doc.get(True))
    if triggers(doc) != {"workflow_call"} or not isinstance(on, dict):
        return set()
    return set((on.get("workflow_call") or {}).get("inputs") or {})


def _template_parameter_values(doc: Mapping[str, Any]) -> dict[str, list[Any]]:
    """The declared `values` of each parameter of an Azure Pipelines template."""
    parameters = doc.get("parameters")
    if not isinstance(parameters, list):
        return {}
    return {str(p.get("name")): list(p.get("values") or []) for p in parameters if isinstance(p, dict)}


def _resolve(name: str, doc: Mapping[str, Any]) -> list[str] | None:
    """The names an environment expression can take. None for a GitHub reusable workflow that
    only forwards its own input (`${{ inputs.x }}`): its callers are checked instead. An Azure
    Pipelines template's `${{ parameters.x }}` takes each of the parameter's declared `values`;
    a parameter without `values` leaves the expression as written (reported as uncheckable)."""
    forwarded = _INPUT_FORWARD.match(name)
    if forwarded and forwarded.group(1) in _workflow_call_inputs(doc):
        return None
    choices = _template_parameter_values(doc)
    names = [name]
    for parameter in dict.fromkeys(_PARAMETER.findall(name)):
        if not choices.get(parameter):
            return [name]
        reference = re.compile(r"\$\{\{\s*parameters\." + re.escape(parameter) + r"\s*\}\}")
        names = [
            reference.sub(lambda _, c=str(choice): c, candidate)
            for candidate in names
            for choice in choices[parameter]
        ]
    return names


def environment_names(doc: Mapping[str, Any]) -> set[str]:
    """Every concrete environment name a file can use (expressions resolved as in `_resolve`)."""
    found = set()
    for _, name in _named_environments(doc):
        found.update(_resolve(name, doc) or [])
    return found


def environment_problems(doc: Mapping[str, Any], allowed: set[str] | frozenset[str]) -> list[str]:
    """GH-1, T-17: every environment a job names is one of `allowed`, exact case. A name that does
    not exist would be created on first use with no protection and no secrets, and the federated
    credential's subject (case-sensitive) would not match. An expression that cannot be resolved
    to names is a problem too."""
    problems = []
    folded = {name.lower(): name for name in allowed}
    for where, written in _named_environments(doc):
        for name in _resolve(written, doc) or []:
            if "${{" in name or "$(" in name:
                problems.append(
                    f"{where}: environment `{name}` cannot be checked; name it, or forward a declared input (GH-1)"
                )
            elif name not in allowed:
                hint = ""
                if name.lower() in folded:
                    hint = (
                        f" (did you mean `{folded[name.lower()]}`? the federated subject is case-sensitive)"
                    )
                problems.append(
                    f"{where}: environment `{name}` is not one of {sorted(allowed)}{hint} (GH-1, T-17)"
                )
    return problems


def service_connection_problems(doc: Mapping[str, Any], pattern: str) -> list[str]:
    """ADO-1: a deployment job signs in only through its own stage's service connection:
    every `azureSubscription` under a deployment job with environment `<env>` equals
    `pattern.format(environment=<env>)` (for example `spn-aml-workspace-{environment}`)."""
    problems = []
    for node in _walk(doc):
        if "deployment" not in node:
            continue
        environment = _environment_name(node.get("environment"))
        expected = pattern.format(environment=environment)
        for inner in _walk(node.get("strategy")):
            inputs = inner.get("inputs")
            connection = inputs.get("azureSubscription") if isinstance(inputs, dict) else None
            if connection is not None and connection != expected:
                problems.append(
                    f"deployment {node['deployment']} (environment {environment}) signs in with `{connection}`; "
                    f"expected `{expected}` (ADO-1)"
                )
    return problems


# --- everything at once -------------------------------------------------------------------------


def github_workflow_problems(
    path: str | Path, allowed_environments: set[str] | frozenset[str]
) -> dict[str, list[str]]:
    """Every check that applies to a GitHub workflow, by check name; only the checks that found
    something are present, so a clean file gives `{}`."""
    doc = load(path)
    checks: dict[str, Callable[[], list[str]]] = {
        "schema": lambda: schema_problems(path),
        "actionlint": lambda: actionlint_problems(path),
        "unpinned_actions": lambda: unpinned_actions(doc),
        "unapproved_actions": lambda: unapproved_actions(doc),
        "pin_comments": lambda: pin_comment_problems(path),
        "permissions": lambda: permission_problems(doc),
        "fork_guard": lambda: fork_guard_problems(doc),
        "environments": lambda: environment_problems(doc, allowed_environments),
        "injection": lambda: injection_problems(doc),
        "checkout": lambda: checkout_problems(doc),
        "concurrency": lambda: concurrency_problems(doc),
        "pulumi_action": lambda: pulumi_action_problems(doc),
        "policy_pack": lambda: policy_pack_problems(doc),
        "drift": lambda: drift_problems(doc),
        "uv_setup": lambda: uv_setup_problems(doc),
        "ml_extension": lambda: ml_extension_problems(doc),
    }
    return {name: found for name, check in checks.items() if (found := check())}


def azure_pipeline_problems(
    path: str | Path, allowed_environments: set[str] | frozenset[str]
) -> dict[str, list[str]]:
    """Every check that applies to an Azure Pipelines file (schema and environments), as in
    `github_workflow_problems`."""
    doc = load(path)
    checks: dict[str, Callable[[], list[str]]] = {
        "schema": lambda: schema_problems(path),
        "environments": lambda: environment_problems(doc, allowed_environments),
        "policy_pack": lambda: policy_pack_problems(doc),
        "drift": lambda: azure_drift_problems(doc),
        "ml_extension": lambda: ml_extension_problems(doc),
    }
    return {name: found for name, check in checks.items() if (found := check())}
