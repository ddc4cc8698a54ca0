"""`SharedWorkspace`: a stage's view of the workspace an earlier stage owns (`workspace.sharedFrom`).

The owner's stack exports the workspace, its resource group and dependencies by id (`__main__.py`,
`OWNER_OUTPUTS`); this component reads them through a `pulumi.StackReference` and hands the sharing
stage the same scopes an owning stage has, so its grants go through `mlinfra.access.grants` like any
other. It also records the sharing itself (`mlinfra:policy:SharedWorkspace`): the stages on the
workspace and the personas whose roles hold on it for all of them, so every plan, diff and
`pulumi preview` shows it (RB-10). Once the owner's outputs are read it checks what config
validation cannot know: that the owner is the stage its stack name says, owns its workspace, and
grants no persona a role this stage grants too (Azure refuses the second with RoleAssignmentExists).
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from mlinfra.access.grants import Scope
from mlinfra.config.loading import config_error
from mlinfra.config.rules.workspace_sharing import SCOPE_OUTPUTS, SHARED_RECORD
from mlinfra.settings.access_settings import Persona


@dataclass(frozen=True, kw_only=True)
class SharedWorkspaceArgs:
    stack: str
    """Fully-qualified name of the owning stage's stack (`workspace.sharedFrom`)."""
    owner_stage: str
    """The owning stage, from its stack name; checked against the owner's `stage` output."""
    stage: str
    """The sharing stage."""
    personas: Mapping[str, Persona]
    """The sharing stage's personas; those with roles are affected, as are the owner's."""
    reason: str | None = None
    """Why a production and a data-science stage share it (`workspace.sharedWithDataScienceReason`)."""
    hosted_runners: bool = False
    """Whether the stage's CI runs on hosted runners (ci set, no ci.runnerGroup): refused when the
    owner's workspace is private, as for a private stage of its own."""


def persona_roles(personas: Mapping[str, Persona]) -> dict[str, dict[str, Any]]:
    """What the owner exports of its personas (`personas` output): group and roles per scope kind,
    personas without roles left out."""
    return {
        name: {
            "groupObjectId": persona.group_object_id,
            "roles": {
                kind: [role for scope, role in persona.roles.items() if scope == kind]
                for kind in dict.fromkeys(scope for scope, _ in persona.roles.items())
            },
        }
        for name, persona in personas.items()
        if persona.roles.items()
    }


def overlap(ours: Mapping[str, Any], theirs: Mapping[str, Any]) -> list[str]:
    """`<persona>: <role> on <kind>` for every grant both stages would make to the same group."""
    owned = {
        (str(entry["groupObjectId"]).lower(), kind, role)
        for entry in theirs.values()
        for kind, roles in entry["roles"].items()
        for role in roles
    }
    return [
        f"{name}: {role} on {kind}"
        for name, entry in ours.items()
        for kind, roles in entry["roles"].items()
        for role in roles
        if (str(entry["groupObjectId"]).lower(), kind, role) in owned
    ]


class SharedWorkspace(pulumi.ComponentResource):
    scopes: dict[str, Scope]
    workspace_name: pulumi.Output[str]
    workspace_id: pulumi.Output[str]
    resource_group_name: pulumi.Output[str]
    network: pulumi.Output[str]
    """`public` or `private`: the owner's network, for the stage's pipeline variables."""
    subscription_id: pulumi.Output[str]
    """The owner's subscription: where the shared scopes and their role definitions are."""

    def __init__(self, name: str, args: SharedWorkspaceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlinfra:components:SharedWorkspace", name, None, opts)
        reference = pulumi.StackReference(
            f"{name}-stack", stack_name=args.stack, opts=pulumi.ResourceOptions(parent=self)
        )
        owner_stack = args.stack.rsplit("/", 1)[-1]
        ours = persona_roles(args.personas)
        self.network = reference.require_output("workspaceNetwork")
        checked = pulumi.Output.all(
            reference.require_output("stage"),
            reference.get_output("sharedFrom"),
            self.network,
            reference.require_output("personas"),
        ).apply(lambda values: self._check(args, ours, *values))
        # Scopes are named after the owner's stack: the assignment name must be plan-time (RB-6).
        self.scopes = {
            kind: Scope(
                kind, owner_stack, checked.apply(lambda _, output=output: reference.require_output(output))
            )
            for kind, output in SCOPE_OUTPUTS.items()
        }
        self.workspace_name = reference.require_output("workspaceName")
        self.workspace_id = reference.require_output("workspaceId")
        self.resource_group_name = reference.require_output("resourceGroupName")
        self.subscription_id = reference.require_output("subscriptionId")
        pulumi.ComponentResource(
            SHARED_RECORD,
            f"{name}-sharing",
            {
                "ownerStack": owner_stack,
                "stages": [args.owner_stage, args.stage],
                "workspace": self.workspace_name,
                "personas": checked.apply(lambda owner: {args.owner_stage: owner, args.stage: ours}),
                "reason": args.reason,
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({})

    @staticmethod
    def _check(
        args: SharedWorkspaceArgs, ours: dict, stage: str, shared_from: str | None, network: str, owner: dict
    ) -> dict:
        """The owner's personas, once its outputs agree with this stage's config."""
        key = "mlinfra:workspace.sharedFrom"
        if stage != args.owner_stage:
            raise config_error(
                f"{key}: got {json.dumps(args.stack)}; that stack exports stage "
                f"{json.dumps(stage)}, not {json.dumps(args.owner_stage)} as its name says (ML-16)"
            )
        if shared_from:
            raise config_error(
                f"{key}: got {json.dumps(args.stack)}; that stage shares the workspace of "
                f"{json.dumps(shared_from)} itself: name the owner (ML-16)"
            )
        if network == "private" and args.hosted_runners:
            raise config_error(
                "mlinfra:ci.runnerGroup: required: the shared workspace of "
                f"{args.owner_stage} is private, so CI jobs must run on machines inside its network; expected "
                "the runner group (GitHub) or agent pool (Azure DevOps) that reaches it"
            )
        twice = overlap(ours, owner)
        if twice:
            raise config_error(
                f"mlinfra:personas: {', '.join(twice)} is already granted by {args.owner_stage} "
                "on the shared workspace and holds here too; remove it (Azure refuses a second assignment, RB-6, RB-10)"
            )
        return owner
