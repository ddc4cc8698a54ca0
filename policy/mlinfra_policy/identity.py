"""Deployment identity rules (security-rules.md section G): what a federated credential trusts
and how long a client secret lives. Wire names are the azuread and azure-native inputs."""

import datetime
import re

from mlinfra_policy.common import get, present, resource_policy

FEDERATED_CREDENTIALS = (
    "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential",
    "azure-native:managedidentity:FederatedIdentityCredential",
)
PASSWORDS = (
    "azuread:index/applicationPassword:ApplicationPassword",
    "azuread:index/servicePrincipalPassword:ServicePrincipalPassword",
)
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
SECRET_MAX_DAYS = 730
"""Longest client secret lifetime accepted; the stack config allows the same (mlinfra/config/stage_config.py)."""

# repo:<owner>/<repo>:<claim>, or the immutable repo:<owner>@<id>/<repo>@<id>:<claim> (ID-2, T-34).
_GITHUB_SUBJECT = re.compile(r"^repo:[A-Za-z0-9_.-]+(@\d+)?/[A-Za-z0-9_.-]+(@\d+)?:(?P<claim>.+)$")
_ENVIRONMENT_CLAIM = re.compile(r"^environment:[^:]+$")
# A custom subject-claim template's subject: `key:value` pairs, `:` inside a value written %3A
# (docs.github.com/en/actions/reference/security/oidc, "Customizing the subject claims").
_CUSTOM_KEYS = frozenset(
    {
        "repo",
        "environment",
        "repository_owner",
        "repository_owner_id",
        "repository_id",
        "repository_visibility",
        "job_workflow_ref",
    }
)


def _custom_pairs(subject: str) -> list[tuple[str, str]] | None:
    tokens = subject.split(":")
    if len(tokens) % 2:
        return None
    pairs = list(zip(tokens[::2], tokens[1::2], strict=True))
    if any(key not in _CUSTOM_KEYS or not value for key, value in pairs):
        return None
    return pairs


_RELATIVE = re.compile(r"^(\d+)h$")


def _subject(args, production):
    subject = get(args.props, "subject")
    issuer = get(args.props, "issuer")
    audiences = list(get(args.props, "audiences") or [])
    if audiences != [TOKEN_EXCHANGE_AUDIENCE]:
        yield f"audiences is {audiences!r}; must be exactly ['{TOKEN_EXCHANGE_AUDIENCE}'] (ID-2)"
    if not isinstance(subject, str) or not subject or any(char in subject for char in "*?"):
        yield f"subject {subject!r} is empty or has a wildcard; trust exactly one subject (ID-3)"
        return
    if issuer != GITHUB_ISSUER:
        return  # Azure DevOps: an opaque per-connection subject, read back from the connection
    match = _GITHUB_SUBJECT.match(subject)
    pairs = _custom_pairs(subject)
    if pairs is not None and (not match or not _ENVIRONMENT_CLAIM.match(match["claim"])):
        keys = [key for key, _ in pairs]
        if not {"repo", "repository_id"} & set(keys):
            yield f"subject {subject!r} names no repository (repo or repository_id, ID-3)"
        elif production and keys.count("environment") != 1:
            yield (
                f"subject {subject!r} is not bound to one environment; production trusts only "
                "subjects with one environment:<stage>, never a branch, tag or pull request (ID-4)"
            )
        return
    if not match:
        yield f"subject {subject!r} is not repo:<owner>/<repository>:<claim> (ID-3)"
    elif production and not _ENVIRONMENT_CLAIM.match(match["claim"]):
        yield (
            f"subject {subject!r} is not bound to one environment; production trusts only "
            "…:environment:<stage>, never a branch, tag or pull request (ID-4)"
        )


def _secret_expiry(args, production):
    now = datetime.datetime.now(datetime.UTC)
    limit = now + datetime.timedelta(days=SECRET_MAX_DAYS)
    end = get(args.props, "endDate")
    relative = get(args.props, "endDateRelative")
    if end:
        try:
            ends = datetime.datetime.fromisoformat(str(end).replace("Z", "+00:00"))
        except ValueError:
            yield f"endDate {end!r} is not an RFC 3339 date (ID-1)"
            return
        if ends.tzinfo is None:
            ends = ends.replace(tzinfo=datetime.UTC)
        if ends > limit:
            yield f"endDate {end} is more than {SECRET_MAX_DAYS} days ahead (ID-1)"
    elif relative and (hours := _RELATIVE.match(str(relative))):
        if int(hours[1]) > SECRET_MAX_DAYS * 24:
            yield f"endDateRelative {relative} is more than {SECRET_MAX_DAYS} days (ID-1)"
    elif not present(args.props, "endDate"):
        yield "no endDate: a client secret without an expiry never stops working (ID-1)"


POLICIES = [
    resource_policy(
        "federated-credential-subject",
        "Federated credentials trust one exact subject, in production one GitHub environment (ID-2, ID-3, ID-4).",
        FEDERATED_CREDENTIALS,
        _subject,
    ),
    resource_policy(
        "client-secret-expiry",
        f"Client secrets expire within {SECRET_MAX_DAYS} days (ID-1).",
        PASSWORDS,
        _secret_expiry,
    ),
]
