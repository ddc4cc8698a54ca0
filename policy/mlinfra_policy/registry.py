"""Container registry rules (security-rules.md section D). Wire names are azure-native's
`containerregistry.Registry` inputs."""

from mlinfra_policy.common import get, resource_policy

REGISTRY = "azure-native:containerregistry:Registry"


def _local_auth(args, production):
    if get(args.props, "adminUserEnabled") is not False:
        yield "adminUserEnabled is not false; the shared admin password must be off, explicitly (ACR-1)"
    if get(args.props, "anonymousPullEnabled") is True:
        yield "anonymousPullEnabled is true; pulls need an Entra identity (ACR-2)"


def _production_registry(args, production):
    if get(args.props, "publicNetworkAccess") != "Disabled":
        yield f"publicNetworkAccess is {get(args.props, 'publicNetworkAccess')!r}; must be 'Disabled' (ACR-3)"
    sku = get(args.props, "sku", "name")
    if sku != "Premium":
        yield f"sku.name is {sku!r}; only 'Premium' takes a private endpoint (ACR-3)"


POLICIES = [
    resource_policy(
        "registry-no-local-auth",
        "Container registries have no admin user and no anonymous pull (ACR-1, ACR-2).",
        [REGISTRY],
        _local_auth,
    ),
    resource_policy(
        "registry-production-private",
        "Production container registries are Premium and private (ACR-3).",
        [REGISTRY],
        _production_registry,
        production_only=True,
    ),
]
