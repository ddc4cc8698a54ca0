"""`mlinfra estate` (mlinfra/estate/command.py): its output, its JSON contract, its exit
statuses (0 clean, 1 findings, 2 bad input) and `--expected` (docs/estate.md).

The copies below edit a workflow only, which changes no plan: their plans are this checkout's,
read from the session's plan cache, so the command runs in this process (`planner_cli`)."""

import json
from pathlib import Path

import pytest

from mlinfra.estate import command
from tests.conftest import PROJECT_DIR, copy_repository, planner_cli

TOP_LEVEL = {"estate", "stacks", "identities", "runs", "findings", "notes"}
FINDING = {"rule", "stack", "resource", "identity", "scope", "action", "message"}
STACK = {"stack", "kind", "project", "resources"}
IDENTITY = {"id", "kind", "clientId", "principalId", "environments", "grants", "graphAppRoles"}


@pytest.fixture(scope="module")
def broken(tmp_path_factory) -> Path:
    """A copy whose first deploying GitHub job runs in an environment nothing creates (one EV-6)."""
    project = copy_repository(tmp_path_factory.mktemp("estate") / "project")
    path = project / ".github" / "workflows" / "deploy.yml"
    text = path.read_text()
    environment = next(line for line in text.splitlines() if line.strip().startswith("environment: infra-"))
    path.write_text(text.replace(environment, environment.split(":")[0] + ": infra-nowhere", 1))
    return project


def test_the_json_document_is_the_documented_contract(broken):
    """docs/estate.md, "JSON": the keys of the document, of each stack, identity and finding."""
    result = planner_cli("estate", "--format", "json", "--project-dir", str(broken), cwd=broken)
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    assert set(document) == TOP_LEVEL and document["estate"] == "repository"
    assert document["stacks"] and all(set(stack) == STACK for stack in document["stacks"])
    assert {stack["kind"] for stack in document["stacks"]} == {"bootstrap", "shared", "stage"}
    assert document["identities"] and all(set(identity) == IDENTITY for identity in document["identities"])
    (finding,) = document["findings"]
    assert set(finding) == FINDING and all(isinstance(value, str) for value in finding.values())
    assert (finding["rule"], finding["identity"]) == ("EV-6", "infra-nowhere")


def test_the_shipped_estate_exits_0_and_says_so():
    result = planner_cli("estate")
    assert result.returncode == 0, result.stdout + result.stderr
    (line,) = result.stdout.splitlines()
    assert line.startswith("estate repository: ") and line.endswith(", 0 findings")


def test_fails_with_exit_1_and_one_line_per_finding(broken):
    """Text output: a summary line per estate, then `  <stack>: <message> [<rule>]` per finding."""
    result = planner_cli("estate", "--project-dir", str(broken), cwd=broken)
    assert result.returncode == 1
    summary, finding = result.stdout.splitlines()
    assert summary.endswith(", 1 findings")
    assert finding.startswith("  ") and finding.endswith("[EV-6]") and "infra-nowhere" in finding


def test_expected_findings_exit_0_and_a_fixed_one_is_named(broken, tmp_path):
    """`--expected FILE`: exit 0 when the findings are exactly the file's lines (`#` comments
    skipped); a line no longer found exits 1 naming it, so the file only ever shrinks."""
    first = planner_cli("estate", "--format", "json", "--project-dir", str(broken), cwd=broken)
    (finding,) = json.loads(first.stdout)["findings"]
    line = f"repository: {finding['rule']} {finding['stack']}: {finding['message']}"
    expected = tmp_path / "expected.txt"
    expected.write_text(f"# adopted with one known finding\n{line}\n")
    result = planner_cli("estate", "--expected", str(expected), "--project-dir", str(broken), cwd=broken)
    assert result.returncode == 0, result.stderr
    stale = "repository: EV-9 gone: no pipeline job runs up of stack gone"
    expected.write_text(f"{line}\n{stale}\n")
    result = planner_cli("estate", "--expected", str(expected), "--project-dir", str(broken), cwd=broken)
    assert result.returncode == 1
    assert result.stderr.strip() == f"fixed, remove it from {expected}: {stale}"


def test_fails_with_exit_2_when_the_expected_file_is_missing(tmp_path, capsys):
    missing = tmp_path / "none.txt"
    assert command.main(["--expected", str(missing), "--project-dir", str(PROJECT_DIR)], PROJECT_DIR) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and str(missing) in err and "\n" not in err
