"""Names of federated identity credentials, valid for both kinds of identity.

The name is create-only on both kinds, so it is built deterministically from config. ARM
allows `^[a-zA-Z0-9][a-zA-Z0-9-_]{2,119}$` for a managed identity's credential (Azure/azure-rest-api-specs
ManagedIdentity.json `FederatedIdentityCredentialResourceNameParameter`); Microsoft Graph asks
for at most 120 URL-friendly characters on an app registration. The ARM rule satisfies both,
so every name goes through `credential_name`.
"""

import hashlib
import re
import unicodedata
from collections.abc import Mapping

NAME_PATTERN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9-_]{2,119}$")
MAX_LENGTH = 120
_DISALLOWED = re.compile(r"[^A-Za-z0-9_-]+")


def credential_name(*parts: str) -> str:
    """`parts` joined by '-', with every run of other characters turned into one '-'.

    Accents are dropped (`é` -> `e`), other non-ASCII characters count as disallowed. A name
    longer than 120 characters keeps its first 111 and ends with 8 hex digits of the full
    name's SHA-256, so two long names that share a prefix stay distinct.
    """
    raw = "-".join(parts)
    ascii_only = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode("ascii")
    name = re.sub(r"-{2,}", "-", _DISALLOWED.sub("-", ascii_only)).strip("-_")
    if len(name) > MAX_LENGTH:
        digest = hashlib.sha256(raw.encode("utf-8")).hexdigest()[:8]
        name = f"{name[: MAX_LENGTH - 9].rstrip('-_')}-{digest}"
    return name


def github_credential_name(owner: str, repository: str, environment: str, subject_format: str = "") -> str:
    """`github-<owner>-<repository>-<environment>[-<subject format>]`: one credential per trusted
    subject format, so moving a repository between formats adds and removes credentials instead of
    rewriting a subject in place (issuer and subject are unique per identity)."""
    return credential_name(
        "github", owner, repository, environment, *([subject_format] if subject_format else [])
    )


def azure_devops_credential_name(project: str, service_connection: str) -> str:
    return credential_name("ado", project, service_connection)


def collisions(names: Mapping[str, str]) -> list[str]:
    """Problems for credentials (by config key) whose names are equal once built; compared
    case-insensitively, as ARM compares resource names."""
    seen: dict[str, str] = {}
    problems = []
    for key, name in names.items():
        first = seen.setdefault(name.lower(), key)
        if first != key:
            problems.append(
                f"{key}: its federated credential name {name!r} equals the one built from {first}; "
                "names are built by replacing characters outside A-Z a-z 0-9 _ - with '-', so "
                "choose names that differ in letters or digits"
            )
    return problems
