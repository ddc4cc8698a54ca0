"""`mlinfra diff` shows first the estate findings a change introduces (mlinfra/diff/estate.py,
issue 26): the working tree's findings the base's estate does not have, each revision verified by
its own planner, and those the change resolves."""

import json
import subprocess
import sys

import pytest

from mlinfra.diff.compare import StackDiff
from mlinfra.diff.estate import EstateChange, compare
from mlinfra.diff.render import diff_json, diff_markdown, diff_text
from tests.conftest import STACKS, copy_repository


def finding(rule: str, stack: str, message: str) -> dict[str, str]:
    return {
        "rule": rule,
        "stack": stack,
        "message": message,
        "resource": "",
        "identity": "",
        "scope": "",
        "action": "",
    }


KEPT = finding("EV-9", "s1", "no pipeline job runs up of stack s1")
NEW = finding("EV-6", "s2", "job x runs in GitHub environment e, which no stack creates")
GONE = finding("EV-2", "s1", "deployer lacks peer/action on the hub")


def test_introduced_and_resolved_are_matched_by_rule_stack_and_message():
    change = compare([KEPT, GONE], [KEPT, NEW], "main")
    assert (change.introduced, change.resolved, change.note) == ([NEW], [GONE], None)
    moved = dict(NEW, resource="another resource")  # the key is rule, stack and message
    assert compare([NEW], [moved], "main").introduced == []


def test_a_base_that_cannot_verify_its_estate_shows_every_finding_with_a_note():
    """A base older than the verifier (its planner has no `estate` command) or one that fails."""
    change = compare("error: argument command: invalid choice: 'estate'", [KEPT], "main")
    assert change.introduced == [KEPT] and "main cannot verify its estate" in str(change.note)


def test_fails_soft_when_the_working_tree_cannot_verify_its_estate():
    change = compare([KEPT], "ConfigError: bad", "main")
    assert (
        change.introduced == []
        and change.note == "the working tree's estate cannot be verified: ConfigError: bad"
    )


def test_the_estate_comes_first_in_every_format():
    estate = EstateChange(introduced=[NEW], resolved=[GONE])
    diffs = [StackDiff("s1")]
    text = diff_text("main", "0" * 40, diffs, estate)
    line = "   + s2: job x runs in GitHub environment e, which no stack creates [EV-6]"
    assert line in text and text.index(line) < text.index("== stack s1")
    assert "   - resolved: s1: deployer lacks peer/action on the hub [EV-2]" in text
    markdown = diff_markdown("main", "0" * 40, diffs, estate)
    assert markdown.index("#### Estate findings") < markdown.index("| Stack |")
    assert "- **introduced** s2: job x runs in GitHub environment e" in markdown
    document = json.loads(diff_json("main", "0" * 40, diffs, estate))
    assert document["estate"] == {"introduced": [NEW], "resolved": [GONE], "note": None}
    assert document["changed"] is True  # an introduced finding is a change (--exit-code)
    assert json.loads(diff_json("main", "0" * 40, diffs))["estate"] is None


@pytest.fixture(scope="module")
def repository(tmp_path_factory, stack_plans):
    """This project as a git repository with one commit (its stacks planned first: the copy's
    code is this checkout's, so the diff's children read every plan from the plan cache)."""
    root = copy_repository(tmp_path_factory.mktemp("repo"))
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=root, check=True)
    return root


@pytest.mark.long
def test_a_change_that_introduces_an_estate_finding_shows_it_first(repository):
    """The edit changes no plan: a deploying job moved to an environment nothing creates
    (review-3-identity-ci B2, EV-6). Every stack diff is empty; the estate part names the one
    finding at the working tree and not at the base, and --exit-code exits 1 on it. A diff of
    chosen stacks (`--stack`) does not cover the estate and says nothing of it."""
    workflow = repository / ".github" / "workflows" / "deploy.yml"
    original = workflow.read_text()
    environment = next(
        line for line in original.splitlines() if line.strip().startswith("environment: infra-")
    )
    workflow.write_text(original.replace(environment, environment.split(":")[0] + ": infra-nowhere", 1))
    try:
        result = subprocess.run(
            [sys.executable, "-m", "mlinfra", "diff", "--base", "HEAD", "--format", "json", "--exit-code"],
            cwd=repository,
            capture_output=True,
            text=True,
        )
        chosen = subprocess.run(
            [
                sys.executable,
                "-m",
                "mlinfra",
                "diff",
                "--base",
                "HEAD",
                "--format",
                "json",
                "--stack",
                STACKS[0],
            ],
            cwd=repository,
            capture_output=True,
            text=True,
        )
    finally:
        workflow.write_text(original)
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    assert not any(stack["resources"] or stack["findings"] for stack in document["stacks"])
    estate = document["estate"]
    assert [(f["rule"], f["identity"]) for f in estate["introduced"]] == [("EV-6", "infra-nowhere")]
    assert estate["resolved"] == [] and estate["note"] is None
    assert chosen.returncode == 0, chosen.stderr
    assert json.loads(chosen.stdout)["estate"] is None
