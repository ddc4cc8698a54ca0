"""mlinfra doctor's GitHub check (review-3 R1): the ids GitHub puts in `sub` against the
configured `oidcSubjectFormat`, over recorded answers of
`GET /repos/{owner}/{repo}/actions/oidc/customization/sub`.

Fields: `use_default` and `include_claim_keys` are GitHub REST's documented schema
("oidc-custom-sub-repo", docs.github.com/rest/actions/oidc). `use_immutable_subject` is the
repository setting behind "Immutable subject claims" (GitHub OpenID Connect reference). That it
is a field of this answer comes from review-3 R1 ("observed" on public repositories); GitHub's
REST reference does not list it yet [unverified], so its absence is CANNOT-CHECK, never OK.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlinfra.doctor.ci import github
from mlinfra.doctor.http import Client, replay_key
from mlinfra.doctor.report import CANNOT, OK, PROBLEM

ROOT = Path(__file__).resolve().parent.parent
REPOSITORY = "contoso/churn-mlops"
URL = f"{github.API}/repos/{REPOSITORY}/actions/oidc/customization/sub"


def recorded(tmp_path: Path, status: int, body: dict) -> Client:
    (tmp_path / replay_key("GET", URL)).write_text(json.dumps({"status": status, "body": body}))
    return Client(replay=tmp_path)


@pytest.mark.parametrize(
    ("immutable", "subject_format", "status"),
    [
        (True, "immutable", OK),
        (False, "classic", OK),
        (False, "legacy", OK),
        (True, "custom:ids", OK),
        (True, "custom", OK),  # custom without `repo`: the ids are not in the subject
        (True, "classic", PROBLEM),
        (False, "immutable", PROBLEM),
        (False, "custom:ids", PROBLEM),
    ],
)
def test_the_repositorys_ids_against_the_configured_format(tmp_path, immutable, subject_format, status):
    client = recorded(tmp_path, 200, {"use_default": True, "use_immutable_subject": immutable})
    result = github.oidc_subject(client, REPOSITORY, subject_format)
    assert result.status == status
    if status == PROBLEM:
        assert result.fix and "use_immutable_subject is" in result.detail


def test_cannot_check_without_the_field_or_the_permission(tmp_path):
    assert (
        github.oidc_subject(recorded(tmp_path, 200, {"use_default": True}), REPOSITORY, "classic").status
        == CANNOT
    )
    assert github.oidc_subject(recorded(tmp_path, 403, {}), REPOSITORY, "classic").status == CANNOT


def _run(*args):
    return subprocess.run(
        [sys.executable, "-m", "mlinfra", "doctor", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_doctor_names_a_repository_whose_subject_would_not_match(tmp_path):
    shutil.copytree(ROOT / "tests" / "data" / "doctor" / "healthy", tmp_path, dirs_exist_ok=True)
    recorded(tmp_path, 200, {"use_default": True, "use_immutable_subject": True})
    run = _run("--replay", str(tmp_path), "--github", f"{REPOSITORY}=classic", "--format", "json")
    assert run.returncode == 1, run.stderr
    [problem] = [r for r in json.loads(run.stdout)["results"] if r["status"] == PROBLEM]
    assert problem["check"] == github.CHECK and REPOSITORY in problem["subject"] and problem["fix"]


def test_fails_when_a_github_argument_is_malformed():
    run = _run("--github", "contoso=classic")
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "OWNER/NAME=FORMAT" in run.stderr
