"""The Pulumi state backend bootstrap created (its blob container and secrets key, from bootstrap's
plan): the container exists, blob versioning is on (the checkpoint's history, docs/state.md), the
caller may read and write its blobs, and the secrets key is enabled, unexpired, allows encrypt
and decrypt, and the caller may use it (`azurekeyvault://` secrets: gocloud.dev's driver calls
encrypt and decrypt).

Calls: BlobContainers_Get and BlobServices_GetServiceProperties (storage 2023-05-01,
`properties.isVersioningEnabled`: spec example BlobServicesGet.json), Keys_Get (key vault
2023-07-01, `properties.attributes.enabled`/`exp`, `properties.keyOps`: spec example getKey.json),
and the caller's permissions on the state container and on the key (authorization 2022-04-01),
evaluated with the estate verifier's matcher.
"""

from __future__ import annotations

import time

from mlinfra.doctor.azure.arm import ARM, permissions_at
from mlinfra.doctor.http import Client
from mlinfra.doctor.report import OK, PROBLEM, Result, cannot
from mlinfra.estate import needs
from mlinfra.facts import rbac

CHECK = "state backend"
STORAGE = "2023-05-01"
KEY_VAULT = "2023-07-01"
BOOTSTRAP_FIX = "run bootstrap's `pulumi up` (it creates the state backend), as in docs/from-zero.md"


def _account(container: str) -> str:
    return container.split("/blobServices/", 1)[0]


def container_exists(client: Client, container: str) -> Result:
    name = container.rsplit("/", 1)[-1]
    reply = client.get(f"{ARM}{container}?api-version={STORAGE}")
    if reply.status == 200:
        return Result(CHECK, f"container {name}", OK, "exists")
    if reply.status == 404:
        return Result(CHECK, f"container {name}", PROBLEM, "not found", BOOTSTRAP_FIX)
    return cannot(CHECK, f"container {name}", reply.status, reply.body)


def versioning(client: Client, container: str) -> Result:
    account = _account(container)
    subject = f"blob versioning of {account.rsplit('/', 1)[-1]}"
    reply = client.get(f"{ARM}{account}/blobServices/default?api-version={STORAGE}")
    if reply.status != 200:
        return cannot(CHECK, subject, reply.status, reply.body)
    if (reply.body.get("properties") or {}).get("isVersioningEnabled") is True:
        return Result(CHECK, subject, OK, "on")
    return Result(
        CHECK,
        subject,
        PROBLEM,
        "isVersioningEnabled is not true: an overwritten checkpoint cannot be restored",
        f"az storage account blob-service-properties update --enable-versioning true --account-name {account.rsplit('/', 1)[-1]}"
        " (bootstrap's next up sets it too)",
    )


def _caller_may(client: Client, scope: str, subject: str, actions: tuple[str, ...], fix: str) -> Result:
    status, body, blocks = permissions_at(client, scope)
    if status != 200:
        return cannot(CHECK, subject, status, body)
    missing = [a for a in actions if not rbac.action_allowed(a, blocks, data=True)]
    if missing:
        return Result(CHECK, subject, PROBLEM, "not held: " + ", ".join(missing), fix)
    return Result(
        CHECK, subject, OK, ", ".join(a.rsplit("/", 2)[-2] + "/" + a.rsplit("/", 1)[-1] for a in actions)
    )


def read_write(client: Client, container: str) -> Result:
    """Asked at the container, not the account: bootstrap grants the blob role on the container,
    and a permissions answer at the account holds only what is assigned there and above."""
    return _caller_may(
        client,
        container,
        f"caller reads and writes state blobs in {container.rsplit('/', 1)[-1]}",
        (needs.BLOB_READ, needs.BLOB_WRITE),
        "run bootstrap's `pulumi up` (it grants each deployer Storage Blob Data Contributor on the "
        "state container), and run doctor as the deployer",
    )


def secrets_key(client: Client, key: str, now: float | None = None) -> list[Result]:
    name = key.rsplit("/", 1)[-1]
    subject = f"secrets key {name}"
    reply = client.get(f"{ARM}{key}?api-version={KEY_VAULT}")
    if reply.status == 404:
        return [Result(CHECK, subject, PROBLEM, "not found", BOOTSTRAP_FIX)]
    if reply.status != 200:
        return [cannot(CHECK, subject, reply.status, reply.body)]
    properties = reply.body.get("properties") or {}
    attributes = properties.get("attributes") or {}
    operations = {str(o) for o in properties.get("keyOps") or []}
    problems = []
    if attributes.get("enabled") is not True:
        problems.append("disabled")
    expires = attributes.get("exp")
    if isinstance(expires, int | float) and expires <= (time.time() if now is None else now):
        problems.append("expired")
    lacking = sorted({"encrypt", "decrypt"} - operations)
    if lacking:
        problems.append("keyOps lack " + ", ".join(lacking))
    results = [
        Result(
            CHECK,
            subject,
            PROBLEM,
            "; ".join(problems),
            f"az keyvault key set-attributes --enabled true --ops encrypt decrypt ... --name {name} "
            f"--vault-name {key.split('/vaults/', 1)[-1].split('/', 1)[0]} (or rotate it with bootstrap's up)",
        )
        if problems
        else Result(CHECK, subject, OK, "enabled, encrypt and decrypt")
    ]
    results.append(
        _caller_may(
            client,
            key,
            f"caller encrypts and decrypts with {name}",
            (needs.KEY_ENCRYPT, needs.KEY_DECRYPT),
            "run bootstrap's `pulumi up` (it grants each deployer Key Vault Crypto User on the key), "
            "and run doctor as the deployer",
        )
    )
    return results


def all_checks(client: Client, container: str | None, key: str | None) -> list[Result]:
    results: list[Result] = []
    if container:
        results += [
            container_exists(client, container),
            versioning(client, container),
            read_write(client, container),
        ]
    if key:
        results += secrets_key(client, key)
    return results
