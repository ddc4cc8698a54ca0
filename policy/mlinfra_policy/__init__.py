"""The mlinfra policy pack's policies, one module per concern. Importable without starting the
pack (policy/__main__.py does that), so `mlinfra check` and the tests run the very same
functions CrossGuard runs."""

from mlinfra_policy import (
    ci_gates,
    diagnostics,
    encryption,
    identity,
    key_vault,
    locks,
    outputs,
    protection,
    rbac,
    registry,
    storage,
    workspace,
)

PACK_NAME = "mlinfra-security"

POLICIES = [
    *workspace.POLICIES,
    *storage.POLICIES,
    *key_vault.POLICIES,
    *registry.POLICIES,
    *protection.POLICIES,
    *diagnostics.POLICIES,
    *encryption.POLICIES,
    *locks.POLICIES,
    *rbac.POLICIES,
    *identity.POLICIES,
    *ci_gates.POLICIES,
    *outputs.POLICIES,
]
