"""Storage account rules (security-rules.md section B).

Wire names are azure-native's `storage.StorageAccount` / `storage.BlobContainer` inputs; azure-native
calls ARM's `supportsHttpsTrafficOnly` `enableHttpsTrafficOnly`.
"""

from mlinfra_policy.common import get, resource_policy

STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
BLOB_CONTAINER = "azure-native:storage:BlobContainer"
_TLS_ALLOWED = ("TLS1_2", "TLS1_3")


def _transport(args, production):
    tls = get(args.props, "minimumTlsVersion")
    if tls not in _TLS_ALLOWED:
        yield f"minimumTlsVersion is {tls!r}; must be 'TLS1_2' (ST-4; unset means TLS 1.0)"
    if get(args.props, "enableHttpsTrafficOnly") is not True:
        yield "enableHttpsTrafficOnly is not true; plain HTTP must be refused (ST-5)"


def _no_public_blobs(args, production):
    if args.resource_type == BLOB_CONTAINER:
        access = get(args.props, "publicAccess")
        if access not in (None, "None"):
            yield f"publicAccess is {access!r}; containers are never anonymous (ST-1)"
    elif get(args.props, "allowBlobPublicAccess") is not False:
        yield "allowBlobPublicAccess is not false; it must be set to false explicitly (ST-1)"


def _production_storage(args, production):
    props = args.props
    if get(props, "allowSharedKeyAccess") is not False:
        yield "allowSharedKeyAccess is not false; production storage takes Entra tokens only, set explicitly (ST-3)"
    if (
        get(props, "publicNetworkAccess") != "Disabled"
        and get(props, "networkRuleSet", "defaultAction") != "Deny"
    ):
        yield "publicNetworkAccess is not 'Disabled' and networkRuleSet.defaultAction is not 'Deny' (ST-2)"


POLICIES = [
    resource_policy(
        "storage-secure-transport",
        "Storage accounts accept HTTPS with TLS 1.2 or later only (ST-4, ST-5).",
        [STORAGE_ACCOUNT],
        _transport,
    ),
    resource_policy(
        "storage-no-public-blob-access",
        "Storage accounts and containers allow no anonymous blob access (ST-1).",
        [STORAGE_ACCOUNT, BLOB_CONTAINER],
        _no_public_blobs,
    ),
    resource_policy(
        "storage-production-access",
        "Production storage accounts are private and refuse shared keys (ST-2, ST-3).",
        [STORAGE_ACCOUNT],
        _production_storage,
        production_only=True,
    ),
]
