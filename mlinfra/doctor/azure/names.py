"""Are the names a stage will create free? Key vault, storage account and container registry names
are global (DNS); a key vault or AML workspace name also stays held by a soft-deleted predecessor.

Per name: GET the planned resource first (200: it exists in the planned resource group, so it is
the stage's own and `up` updates it); otherwise ask the service. API versions and the answer
shapes follow the spec examples in Azure/azure-rest-api-specs (tests/test_doctor_names.py cites
each): key vault 2023-07-01 (`deletedVaults`, `checkNameAvailability`), storage 2023-05-01,
container registry 2023-07-01, machine learning services 2024-04-01."""

from __future__ import annotations

from mlinfra.doctor.http import Client
from mlinfra.doctor.report import CANNOT, OK, PROBLEM, Result, cannot
from mlinfra.doctor.targets import PlannedName

ARM = "https://management.azure.com"
CHECK = "name"
API = {
    "key vault": ("2023-07-01", "Microsoft.KeyVault", "Microsoft.KeyVault/vaults"),
    "storage account": ("2023-05-01", "Microsoft.Storage", "Microsoft.Storage/storageAccounts"),
    "container registry": (
        "2023-07-01",
        "Microsoft.ContainerRegistry",
        "Microsoft.ContainerRegistry/registries",
    ),
    "AML workspace": ("2024-04-01", "Microsoft.MachineLearningServices", ""),
}
SUFFIX_FIX = "set mlinfra:uniqueSuffix in Pulumi.{stack}.yaml to another 5-character suffix (P3, KV-7)"


def _subject(planned: PlannedName, stack: str) -> str:
    return f"{stack}: {planned.kind} {planned.name}"


def _available(client: Client, planned: PlannedName, stack: str) -> Result:
    """The service's checkNameAvailability: `nameAvailable`, with `reason` and `message` when not."""
    version, namespace, kind = API[planned.kind]
    reply = client.post(
        f"{ARM}/subscriptions/{planned.subscription}/providers/{namespace}/checkNameAvailability?api-version={version}",
        {"name": planned.name, "type": kind},
    )
    subject = _subject(planned, stack)
    if reply.status != 200:
        return cannot(f"{planned.kind} {CHECK}", subject, reply.status, reply.body)
    if reply.body.get("nameAvailable") is True:
        return Result(f"{planned.kind} {CHECK}", subject, OK, "free")
    reason = reply.body.get("reason") or "unavailable"
    message = reply.body.get("message") or ""
    return Result(
        f"{planned.kind} {CHECK}",
        subject,
        PROBLEM,
        f"{reason}: {message}".rstrip(": "),
        SUFFIX_FIX.format(stack=stack),
    )


def _deleted_vault(client: Client, planned: PlannedName, stack: str) -> Result | None:
    """Vaults_GetDeleted: 200 when a soft-deleted vault holds the name (its properties say until when
    and whether purge protection forbids purging), 404 when none does."""
    reply = client.get(
        f"{ARM}/subscriptions/{planned.subscription}/providers/Microsoft.KeyVault/locations/{planned.location}"
        f"/deletedVaults/{planned.name}?api-version=2023-07-01"
    )
    subject = _subject(planned, stack)
    if reply.status == 404:
        return None
    if reply.status != 200:
        return cannot(f"{planned.kind} {CHECK}", subject, reply.status, reply.body)
    properties = reply.body.get("properties") or {}
    until = properties.get("scheduledPurgeDate") or "its scheduled purge date"
    if properties.get("purgeProtectionEnabled") is True:
        fix = f"purge protection keeps it until {until}: {SUFFIX_FIX.format(stack=stack)}"
    else:
        fix = (
            f"az keyvault purge --name {planned.name} --location {planned.location} "
            f"(or {SUFFIX_FIX.format(stack=stack)})"
        )
    return Result(
        f"{planned.kind} {CHECK}",
        subject,
        PROBLEM,
        f"held by a soft-deleted vault (deleted {properties.get('deletionDate', '?')}, purged {until})",
        fix,
    )


def check(client: Client, planned: PlannedName, stack: str) -> Result:
    version = API[planned.kind][0]
    subject = _subject(planned, stack)
    existing = client.get(f"{ARM}{planned.arm_id}?api-version={version}")
    if existing.status == 200:
        return Result(
            f"{planned.kind} {CHECK}", subject, OK, "exists in the planned resource group: the stage's own"
        )
    if existing.status != 404:
        return cannot(f"{planned.kind} {CHECK}", subject, existing.status, existing.body)
    if planned.kind == "key vault":
        held = _deleted_vault(client, planned, stack)
        if held is not None:
            return held
    if planned.kind == "AML workspace":
        # A workspace name is unique per resource group, so only a soft-deleted workspace of the
        # same name there can hold it ("You can't reuse the name of a workspace that has been soft
        # deleted": concept-soft-delete.md). No documented API lists those: workspaceRP.json
        # 2025-12-01 has Workspaces Get/List/Delete(forceToPurge) but no deleted-workspace
        # operation, the az ml extension has no list-deleted, and the article lists them in the
        # portal only (docs/doctor.md, "What stays CANNOT-CHECK").
        return Result(
            f"{planned.kind} {CHECK}",
            subject,
            CANNOT,
            "no live workspace holds it; no documented API lists soft-deleted workspaces: see the portal's "
            "Azure Machine Learning, 'Recently deleted' (purge: az ml workspace delete --permanently-delete)",
        )
    return _available(client, planned, stack)


def all_checks(client: Client, names: list[tuple[str, PlannedName]]) -> list[Result]:
    return [check(client, planned, stack) for stack, planned in names]
