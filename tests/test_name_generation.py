"""mlinfra.config.rules.name_generation and `mlinfra:nameGeneration` (issue 33, soft-delete safety).

Sources: MicrosoftDocs/azure-ai-docs articles/machine-learning/concept-soft-delete.md ("You can't
reuse the name of a workspace that has been soft deleted until the retention period has passed or
the workspace is permanently deleted"; retention 14 days); MicrosoftDocs/azure-docs
articles/key-vault/general/soft-delete-overview.md (a soft-deleted vault's name is reserved for its
retention, 7-90 days; with purge protection it cannot be purged before). The installed
pulumi-azure-native 3.29 `machinelearningservices.Workspace` takes no purge input (grep of
workspace.py: no forceToPurge), so stepping past the names is what the program can do.
"""

from types import SimpleNamespace

import pytest

from mlinfra.config.rules.name_generation import name_generation_problems
from tests.conftest import NON_PRODUCTION_STACK, PRODUCTION_STACK, plan, stack_config
from tests.test_config import rejection  # noqa: F401  (the fixture: nothing registered on refusal)

WORKSPACE = "azure-native:machinelearningservices:Workspace"
VAULT = "azure-native:keyvault:Vault"
STORAGE = "azure-native:storage:StorageAccount"
REGISTRY = "azure-native:containerregistry:Registry"


def physical(result, type_: str, key: str) -> str:
    return result.one(type_).inputs[key]


def test_a_new_generation_plans_new_names_for_what_soft_delete_holds():
    before = plan(NON_PRODUCTION_STACK, **{"mlinfra:uniqueSuffix": None})
    after = plan(NON_PRODUCTION_STACK, **{"mlinfra:uniqueSuffix": None, "mlinfra:nameGeneration": "1"})
    for type_, key in (
        (WORKSPACE, "workspaceName"),
        (VAULT, "vaultName"),
        (STORAGE, "accountName"),
        (REGISTRY, "registryName"),
    ):
        assert physical(before, type_, key) != physical(after, type_, key), type_
    assert physical(after, WORKSPACE, "workspaceName") == physical(before, WORKSPACE, "workspaceName") + "-1"


def test_fails_when_a_production_stage_steps_past_its_soft_deleted_resources(rejection):  # noqa: F811
    message = rejection.message(
        stack_config(PRODUCTION_STACK, **{"mlinfra:uniqueSuffix": None, "mlinfra:nameGeneration": "1"})
    )
    assert "mlinfra:nameGeneration: got 1; a production stage never steps past its soft-deleted" in message
    assert "az keyvault recover" in message


def test_fails_when_a_generation_meets_a_unique_suffix(rejection):  # noqa: F811
    config = stack_config(
        NON_PRODUCTION_STACK, **{"mlinfra:uniqueSuffix": "zz9zz", "mlinfra:nameGeneration": "2"}
    )
    message = rejection.message(config)
    assert "mlinfra:nameGeneration: got 2 with uniqueSuffix 'zz9zz'; both choose the names' suffix" in message


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("10", "got 10; expected a whole number from 0 to 9"),
        ("-1", "got -1; expected a whole number from 0 to 9"),
        ('"1"', 'got "1"'),
    ],
)
def test_fails_when_the_generation_is_out_of_range(rejection, value, needle):  # noqa: F811
    message = rejection.message(stack_config(NON_PRODUCTION_STACK, **{"mlinfra:nameGeneration": value}))
    assert "mlinfra:nameGeneration: got" in message and needle in message


def test_a_sharing_stage_takes_its_owners_generation():
    """A stage with workspace.sharedFrom creates none of the renamed resources (ML-16)."""
    config = SimpleNamespace(
        name_generation=1,
        stage_definition=SimpleNamespace(production=False),
        unique_suffix=None,
        shares_workspace=True,
    )
    assert name_generation_problems(config) == [
        "nameGeneration: got 1 with workspace.sharedFrom; a sharing stage creates no workspace, key vault, "
        "storage or registry: its owner's nameGeneration names them"
    ]
    assert name_generation_problems(SimpleNamespace(name_generation=0)) == []
