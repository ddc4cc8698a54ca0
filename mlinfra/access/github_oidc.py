"""What GitHub writes into a job token's `sub` claim, and the repository setting that decides it.

The subject a federated credential trusts must be byte-equal to the one GitHub emits (Entra
compares case-sensitively, Azure/login#573). GitHub builds it from the repository's OIDC
subject-claim template ("OpenID Connect reference", "Customizing the subject claims for an
organization or repository", https://docs.github.com/en/actions/reference/security/oidc;
github/docs content/actions/reference/security/oidc.md):

- default template (`use_default: true`): `repo:OWNER/REPO:environment:ENV`, or, for a
  repository with immutable subject claims (created, renamed or transferred on or after
  2026-07-15, or opted in), `repo:OWNER@OWNER-ID/REPO@REPO-ID:environment:ENV`;
- custom template (`use_default: false`, `include_claim_keys`): `key:value` pairs in the
  template's order, `repo` in its short form, `context` as `environment:ENV`, every `:` inside a
  value written `%3A`; an immutable repository's `repo` segment keeps its ids.

So the program owns the template (`ActionsRepositoryOidcSubjectClaimCustomizationTemplate`,
integrations/terraform-provider-github github/resource_github_actions_repository_oidc_subject_claim_customization_template.go:
`use_default` required, `include_claim_keys` only with `use_default: false`), and reads the
repository through `GET /repos/{owner}/{repo}` (`get_rest_api`), which gives the canonical owner
login and name, both ids, the owner's type and the visibility in one call. `get_repository`
is not used: it also reads the Pages site of a repository that has one
(data_source_github_repository.go@v6.12.1 L419-427, `GetPagesInfo`), which a GitHub App token
without "Pages: read" is refused (review-3 R2).
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_github as github

from mlinfra.settings.ci_settings import GitHubOidcSubjectClaims, OidcClaimKey, OidcSubjectFormat

GITHUB_OIDC_ISSUER = "https://token.actions.githubusercontent.com"


@dataclass(frozen=True, kw_only=True)
class RepositoryFacts:
    """A repository as `GET /repos/{owner}/{repo}` answers (GitHub REST "Get a repository")."""

    owner: str
    """The owner's login in its real case."""
    owner_id: int
    owner_type: str
    """`User` or `Organization`."""
    name: str
    """The repository's name in its real case."""
    repository_id: int
    visibility: str
    """`public`, `private` or `internal`."""


def repository_facts(repository: str, code: int, body: str) -> RepositoryFacts:
    """The facts in a `GET repos/<repository>` answer; ValueError naming the repository otherwise.

    `get_rest_api` returns a 404 as a result, not an error (data_source_github_rest_api.go@v6.12.1
    L52-55), so a repository the token cannot see must be refused here, not trusted with id 0.
    """
    if code != 200:
        raise ValueError(
            f"GitHub answered {code} to GET repos/{repository} (ci.github.repository / github.repository "
            f"{repository!r}): the repository does not exist or the token cannot see it; the token needs "
            "Metadata: read on it"
        )
    answer = json.loads(body)
    owner = answer["owner"]
    return RepositoryFacts(
        owner=owner["login"],
        owner_id=int(owner["id"]),
        owner_type=owner.get("type", "Organization"),
        name=answer["full_name"].split("/", 1)[1],
        repository_id=int(answer["id"]),
        visibility=answer.get("visibility") or ("private" if answer.get("private") else "public"),
    )


def lookup_repository(repository: str, opts: pulumi.InvokeOutputOptions) -> pulumi.Output[RepositoryFacts]:
    answer = github.get_rest_api_output(endpoint=f"repos/{repository}", opts=opts)
    return pulumi.Output.all(answer.code, answer.body).apply(
        lambda parts: repository_facts(repository, int(parts[0]), str(parts[1]))
    )


def _escaped(value: str) -> str:
    # "Any `:` within the metadata values will be replaced with `%3A` in the subject claim."
    return value.replace(":", "%3A")


def _repo(facts: RepositoryFacts, immutable: bool) -> str:
    if immutable:
        return f"{facts.owner}@{facts.owner_id}/{facts.name}@{facts.repository_id}"
    return f"{facts.owner}/{facts.name}"


def github_subject(
    subject_format: OidcSubjectFormat,
    facts: RepositoryFacts,
    environment: str,
    claims: GitHubOidcSubjectClaims | None = None,
) -> str:
    """The `sub` of a job bound to `environment` in the repository of `facts` (ID-2, T-34)."""
    if subject_format == OidcSubjectFormat.CLASSIC:
        return f"repo:{_repo(facts, False)}:environment:{_escaped(environment)}"
    if subject_format == OidcSubjectFormat.IMMUTABLE:
        return f"repo:{_repo(facts, True)}:environment:{_escaped(environment)}"
    if claims is None:
        raise ValueError("the custom subject format needs its claim keys")
    values = {
        OidcClaimKey.REPO: _repo(facts, bool(claims.repository_ids)),
        OidcClaimKey.CONTEXT: f"environment:{_escaped(environment)}",
        OidcClaimKey.ENVIRONMENT: _escaped(environment),
        OidcClaimKey.REPOSITORY_OWNER: _escaped(facts.owner),
        OidcClaimKey.REPOSITORY_OWNER_ID: str(facts.owner_id),
        OidcClaimKey.REPOSITORY_ID: str(facts.repository_id),
        OidcClaimKey.REPOSITORY_VISIBILITY: facts.visibility,
        OidcClaimKey.JOB_WORKFLOW_REF: _escaped(claims.job_workflow_ref or ""),
    }
    parts = []
    for key in claims.claim_keys:
        # `context` carries its own key (`environment:ENV`), the others are `key:value`.
        parts.append(values[key] if key == OidcClaimKey.CONTEXT else f"{key.value}:{values[key]}")
    return ":".join(parts)


def template_inputs(
    subject_format: OidcSubjectFormat, claims: GitHubOidcSubjectClaims | None
) -> tuple[bool, Sequence[str] | None]:
    """`use_default` and `include_claim_keys` of the repository template for the format."""
    if subject_format == OidcSubjectFormat.CUSTOM and claims is not None:
        return False, [key.value for key in claims.claim_keys]
    # `use_default: true` is GitHub's default template, never the organization's: a repository
    # with `use_default: false` and no keys of its own takes the organization template instead.
    return True, None


def subject_claim_template(
    name: str,
    repository: str,
    subject_format: OidcSubjectFormat,
    claims: GitHubOidcSubjectClaims | None,
    opts: pulumi.ResourceOptions,
) -> github.ActionsRepositoryOidcSubjectClaimCustomizationTemplate:
    """The repository's subject-claim template, pinned to the configured format.

    Kept on delete: several stacks may serve one repository, and the provider's delete resets
    the template to the default (resource_..._template.go Delete), which would switch the
    subject of every other stack's credentials.
    """
    use_default, keys = template_inputs(subject_format, claims)
    return github.ActionsRepositoryOidcSubjectClaimCustomizationTemplate(
        name,
        repository=repository,
        use_default=use_default,
        include_claim_keys=keys,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(retain_on_delete=True)),
    )
