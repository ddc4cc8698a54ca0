"""Workflows mint short-lived GitHub App installation tokens (actions/create-github-app-token,
SHA-pinned) and fall back to a PAT secret only when the App is not configured (issue 16)."""

from pathlib import Path

import pytest

from mlinfra.lint.workflows import PINNED_ACTIONS, jobs, load

ROOT = Path(__file__).resolve().parent.parent
APP_ACTION = "actions/create-github-app-token"


def _steps(path: str, job: str) -> list[dict]:
    return jobs(load(ROOT / ".github/workflows" / path))[job]["steps"]


def test_create_github_app_token_is_pinned_to_a_release_commit():
    """Tag v3.1.1 of github.com/actions/create-github-app-token points at this commit (read from a
    snapshot of the repository); its action.yml takes client-id, private-key, owner, repositories
    and permission-<name> inputs and outputs `token`."""
    assert PINNED_ACTIONS[APP_ACTION] == ("1b10c78c7865c340bc4f6099eb2f838309f1e8c3", "v3.1.1")


@pytest.mark.parametrize(
    ("path", "job", "fallback", "level"),
    [
        ("pulumi-up.yml", "up", "INFRA_GITHUB_TOKEN", "write"),
        ("pull-request.yml", "preview", "PREVIEW_GITHUB_TOKEN", "read"),
    ],
)
def test_github_token_comes_from_the_app(path, job, fallback, level):
    steps = _steps(path, job)
    (mint,) = [s for s in steps if str(s.get("uses", "")).startswith(APP_ACTION + "@")]
    assert mint["id"] == "github-app-token"
    assert mint["uses"].endswith("@" + PINNED_ACTIONS[APP_ACTION][0])
    assert "!= ''" in mint["if"]  # the PAT fallback applies only when the App is not configured
    permissions = {
        k.removeprefix("permission-"): v for k, v in mint["with"].items() if k.startswith("permission-")
    }
    assert permissions["administration"] == level and permissions["environments"] == level
    # R1: the stage program manages the repository's OIDC subject-claim template; GitHub's REST
    # "Set/Get the customization template for an OIDC subject claim for a repository"
    # (docs.github.com/rest/actions/oidc) needs the "Actions" repository permission (write/read).
    assert permissions["actions"] == level
    assert set(permissions.values()) <= {"read", "write"}
    if level == "read":
        assert "write" not in permissions.values()
    (pulumi,) = [s for s in steps if str(s.get("uses", "")).startswith("pulumi/actions@")]
    assert pulumi["env"]["GITHUB_TOKEN"] == (
        "${{ steps.github-app-token.outputs.token || secrets." + fallback + " }}"
    )
    assert steps.index(mint) < steps.index(pulumi)
