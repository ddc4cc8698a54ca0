"""The estate verifier's RBAC matcher (mlinfra/facts/rbac.py).

Source: Microsoft Learn, "Understand Azure role definitions" (actions, notActions, dataActions,
wildcards, case-insensitive matching), "Understand scope for Azure RBAC" (an assignment applies at
its scope and below) and "Examples to delegate Azure role assignment management with conditions"
(the condition shape bootstrap/abac.py writes); an unknown condition allows nothing.
"""

from mlinfra.facts import rbac
from mlinfra.facts.rbac import Grant, Permission, RoleDefinition

RG = "/subscriptions/0000/resourceGroups/rg-a"
CONTRIBUTOR_LIKE = RoleDefinition(
    "g1",
    "Contributor-like",
    (Permission(actions=("*",), not_actions=("Microsoft.Authorization/*/Write",)),),
    "",
)
READER_ROLE = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
CONDITION = (
    "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR "
    "(@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals "
    f"{{{READER_ROLE}}} AND @Request[Microsoft.Authorization/roleAssignments:PrincipalType] "
    "ForAnyOfAnyValues:StringEqualsIgnoreCase {'ServicePrincipal'}))"
)


def test_wildcards_match_any_run_of_characters():
    """Learn, role definitions: `*` in an action string is a wildcard."""
    assert rbac.action_matches("*/read", "Microsoft.Network/virtualNetworks/read")
    assert rbac.action_matches("Microsoft.Storage/*", "Microsoft.Storage/storageAccounts/write")
    assert not rbac.action_matches("Microsoft.Storage/*", "Microsoft.Network/virtualNetworks/read")


def test_matching_ignores_case():
    """Learn, role definitions: action strings are case-insensitive."""
    assert rbac.action_matches(
        "microsoft.network/VIRTUALNETWORKS/peer/action", "Microsoft.Network/virtualNetworks/peer/action"
    )


def test_fails_when_not_actions_subtract_in_the_same_block():
    """Learn, role definitions: notActions subtract from the block's actions (Contributor cannot write role assignments)."""
    blocks = CONTRIBUTOR_LIKE.permissions
    assert rbac.action_allowed("Microsoft.Network/virtualNetworks/write", blocks)
    assert not rbac.action_allowed("Microsoft.Authorization/roleAssignments/write", blocks)


def test_not_actions_are_no_deny_across_blocks():
    """Learn, role definitions: notActions is not a deny; another block or role can grant the action."""
    blocks = (
        *CONTRIBUTOR_LIKE.permissions,
        Permission(actions=("Microsoft.Authorization/roleAssignments/*",)),
    )
    assert rbac.action_allowed("Microsoft.Authorization/roleAssignments/write", blocks)


def test_data_actions_are_separate_from_actions():
    """Learn, role definitions: dataActions are matched only against data actions, and `*` actions grant none."""
    action = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
    assert not rbac.action_allowed(action, CONTRIBUTOR_LIKE.permissions, data=True)
    blocks = (Permission(data_actions=("Microsoft.Storage/*",), not_data_actions=("*/blobs/delete",)),)
    assert rbac.action_allowed(action, blocks, data=True)
    assert not rbac.action_allowed(action.replace("/read", "/delete"), blocks, data=True)


def test_scope_covers_itself_and_children_only():
    """Learn, scope for Azure RBAC: an assignment applies at its scope and every scope below it."""
    assert rbac.scope_covers("/subscriptions/0000", RG + "/providers/Microsoft.Network/virtualNetworks/v")
    assert rbac.scope_covers(RG.upper(), RG)
    assert not rbac.scope_covers(RG, "/subscriptions/0000")
    assert not rbac.scope_covers(RG, RG + "-other")


def test_builtin_roles_resolve_by_guid():
    """Vendored built-in roles (mlinfra/facts/data/builtin_roles.json): Reader reads everything."""
    reader = rbac.builtin_roles()[READER_ROLE]
    assert reader.name == "Reader"
    assert rbac.action_allowed("Microsoft.Network/virtualNetworks/read", reader.permissions)
    assert not rbac.action_allowed("Microsoft.Network/virtualNetworks/write", reader.permissions)


def test_condition_constrains_roles_and_principal_types():
    """Learn, delegate role assignment management with conditions: constrain roles and principal types."""
    condition = rbac.parse_condition(CONDITION)
    assert condition is not None
    write = "Microsoft.Authorization/roleAssignments/write"
    assert condition.allows(write, {"roleDefinitionId": READER_ROLE, "principalType": "servicePrincipal"})
    assert not condition.allows(write, {"roleDefinitionId": "other", "principalType": "ServicePrincipal"})
    assert not condition.allows(write, {"roleDefinitionId": READER_ROLE, "principalType": "User"})
    assert condition.allows("Microsoft.Network/virtualNetworks/write", {})


def test_fails_when_condition_is_of_unknown_shape():
    """rbac.py: a condition the verifier cannot parse allows nothing, so no right is assumed."""
    assert rbac.parse_condition("@Resource[Microsoft.Storage/x] StringEquals 'y'") is None
    grant = Grant(RG, rbac.builtin_roles()[READER_ROLE], rbac.UNKNOWN_CONDITION)
    assert not grant.allows("Microsoft.Network/virtualNetworks/read", RG)


def test_grant_needs_scope_action_and_condition():
    """Learn: an assignment allows an action when its scope covers the target and its role allows it."""
    role = RoleDefinition("g2", "Owner-like", (Permission(actions=("*",)),), "")
    grant = Grant(RG, role, rbac.parse_condition(CONDITION), origin="test")
    write = "Microsoft.Authorization/roleAssignments/write"
    assert grant.allows(
        write, RG, attributes={"roleDefinitionId": READER_ROLE, "principalType": "ServicePrincipal"}
    )
    assert not grant.allows(
        write,
        "/subscriptions/0000",
        attributes={"roleDefinitionId": READER_ROLE, "principalType": "ServicePrincipal"},
    )
    assert rbac.allowing([grant], "Microsoft.Network/virtualNetworks/write", RG) == [grant]
