"""Stack config of the Azure management locks on a stage's stateful resources (issue 33; AVM's
`lock` input).

A `CanNotDelete` lock stops a delete from the portal, the CLI or any ARM client, which Pulumi's
`protect` (PU-3) cannot: `protect` only guards the stack's own runs. Updates still work (Microsoft
Learn REST, "Management Locks - Create Or Update At Resource Level": CanNotDelete "means authorized
users are able to read and modify the resources, but not delete"). `ReadOnly` is not offered: it
would also refuse the updates every deployment makes.
"""

from enum import StrEnum

from mlinfra.settings.settings_base import Settings


class LockKind(StrEnum):
    """The lock levels offered (azure-native `authorization.LockLevel`, without ReadOnly)."""

    CAN_NOT_DELETE = "CanNotDelete"
    NONE = "None"


class LockSettings(Settings):
    """`mlinfra:lock`: a management lock on the workspace's storage account, key vault and
    container registry (not on the workspace: mlinfra/stage/locks.py)."""

    kind: LockKind | None = None
    """CanNotDelete or None. Default: CanNotDelete in production stages (the catalog's production
    trait), None elsewhere. For a planned teardown of a production stage set None with
    productionRelaxations.lock: <reason> and run `pulumi up` (it removes the locks; docs/stages.md,
    "Planned teardown")."""

    def active(self, production: bool) -> bool:
        """Whether the stage's stateful resources get a lock (`kind`, else its production trait)."""
        if self.kind is None:
            return production
        return self.kind == LockKind.CAN_NOT_DELETE
