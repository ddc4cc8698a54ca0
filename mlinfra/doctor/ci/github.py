"""GitHub checks: does the repository emit the subject the stage's credentials trust (review-3 R1)?

The program pins the repository's subject-claim template (`use_default`, `include_claim_keys`),
but whether the `repo` segment carries the owner and repository ids is a separate repository
setting that no provider resource manages: `use_immutable_subject` of
`GET /repos/{owner}/{repo}/actions/oidc/customization/sub` (a repository created, renamed or
transferred on or after 2026-07-15, or opted in, alone or through its organization; GitHub
"OpenID Connect reference", "Immutable subject claims"). That is what this check compares with the
configured `oidcSubjectFormat`. The template itself is reported, not judged: the next `pulumi up`
sets it.
"""

from __future__ import annotations

from mlinfra.doctor.http import Client
from mlinfra.doctor.report import CANNOT, OK, PROBLEM, Result, cannot

API = "https://api.github.com"
CHECK = "GitHub OIDC subject"
FORMATS = ("classic", "legacy", "immutable", "custom", "custom:ids")
"""`custom:ids`: a custom template whose `repo` segment carries the ids (`repositoryIds: true`)."""


def _emits(immutable: bool) -> str:
    return "repo:<owner>@<owner-id>/<repo>@<repo-id>:..." if immutable else "repo:<owner>/<repo>:..."


def oidc_subject(client: Client, repository: str, subject_format: str) -> Result:
    """One repository: the ids GitHub puts in `sub` against the ids the configured format expects."""
    reply = client.get(f"{API}/repos/{repository}/actions/oidc/customization/sub")
    subject = f"{repository} ({subject_format})"
    if reply.status != 200:
        return cannot(CHECK, subject, reply.status, reply.body)
    immutable = reply.body.get("use_immutable_subject")
    template = f"use_default {reply.body.get('use_default')}, include_claim_keys {reply.body.get('include_claim_keys')}"
    if not isinstance(immutable, bool):
        return Result(
            CHECK,
            subject,
            CANNOT,
            f"GitHub did not report use_immutable_subject ({template}); GitHub Enterprise Server has no "
            "immutable subjects",
        )
    expected = {"classic": False, "legacy": False, "immutable": True, "custom:ids": True}.get(subject_format)
    if expected is None:  # custom without `repo`: the ids do not appear in the subject
        return Result(CHECK, subject, OK, f"use_immutable_subject {immutable}; {template}")
    if immutable != expected:
        fix = (
            "set oidcSubjectFormat: immutable (repositoryIds: true for custom), or move without downtime "
            "(docs/ci-cd.md, 'Changing the subject format')"
            if immutable
            else "set oidcSubjectFormat: classic (repositoryIds: false for custom), or opt the repository in "
            "to immutable subjects"
        )
        return Result(
            CHECK,
            subject,
            PROBLEM,
            f"use_immutable_subject is {immutable}: GitHub emits {_emits(immutable)}, the credentials trust "
            f"{_emits(expected)}",
            fix,
        )
    return Result(CHECK, subject, OK, f"use_immutable_subject {immutable}; {template}")


def all_checks(client: Client, repositories: list[tuple[str, str]]) -> list[Result]:
    return [oidc_subject(client, repository, subject_format) for repository, subject_format in repositories]
