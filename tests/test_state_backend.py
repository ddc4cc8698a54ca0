"""bootstrap/state_backend.py: the state container keeps blob versions and soft delete (tested in
test_bootstrap), and a lifecycle rule deletes versions older than `versionRetentionDays`
(review-3-azure R9). Plans the real bootstrap program."""

import pytest

from mlinfra.config.config_error import ConfigError
from tests.conftest import problem_lines
from tests.test_bootstrap import NS, bootstrap_plan

POLICY = "azure-native:storage:ManagementPolicy"


def _rule(plan) -> dict:
    (rule,) = plan.one(POLICY).inputs["policy"]["rules"]
    return rule


def test_old_state_versions_are_deleted_by_a_lifecycle_rule():
    """The shape of a version-deletion rule: azure-rest-api-specs
    specification/storage/resource-manager/Microsoft.Storage/stable/2024-01-01/examples/
    StorageAccountSetManagementPolicyForBlockAndAppendBlobs.json (managementPolicyName `default`;
    rule type `Lifecycle`; `definition.actions.version.delete.daysAfterCreationGreaterThan`;
    `filters.blobTypes` and a `prefixMatch` that starts with the container's name). Versions exist
    only with versioning on, which the blob service keeps (test_bootstrap)."""
    plan = bootstrap_plan()
    policy = plan.one(POLICY)
    container = plan.one("azure-native:storage:BlobContainer").inputs
    account = plan.one("azure-native:storage:StorageAccount").inputs
    assert policy.inputs["managementPolicyName"] == "default"
    assert policy.inputs["accountName"] == account["accountName"]
    rule = _rule(plan)
    assert rule["type"] == "Lifecycle" and rule["enabled"] is True
    assert rule["definition"]["actions"] == {"version": {"delete": {"daysAfterCreationGreaterThan": 90}}}
    assert rule["definition"]["filters"] == {
        "blobTypes": ["blockBlob"],  # the azblob backend's checkpoints and locks are block blobs
        "prefixMatch": [container["containerName"]],
    }
    # No base-blob or snapshot action: the current checkpoint is never touched.
    assert set(rule["definition"]["actions"]) == {"version"}
    blob_service = plan.one("azure-native:storage:BlobServiceProperties")
    assert blob_service.inputs["isVersioningEnabled"] is True
    assert blob_service.urn in policy.dependencies


def test_the_retention_is_config():
    plan = bootstrap_plan("platform", **{f"{NS}:stateBackend": {"versionRetentionDays": 400}})
    assert _rule(plan)["definition"]["actions"]["version"]["delete"] == {"daysAfterCreationGreaterThan": 400}


@pytest.mark.parametrize("days", [0, 3651, "90", True])
def test_fails_when_the_version_retention_is_not_a_whole_number_of_days_in_range(days):
    with pytest.raises(ConfigError) as error:
        bootstrap_plan("platform", **{f"{NS}:stateBackend": {"versionRetentionDays": days}})
    message = str(error.value)
    assert f"{NS}:stateBackend.versionRetentionDays: got" in message
    problem_lines(message)
