"""Serverless compute and the network (ML-17, issue 33): `workspace.serverlessCompute`.

Sources, read for every constraint here (MicrosoftDocs/azure-ai-docs, articles/machine-learning/):
- how-to-managed-network.md, "Limitations": "When using Managed virtual network, you can't deploy
  compute resources inside your custom virtual network. Compute resources can only be created inside
  the managed virtual network." Its intro: the managed network "secures your managed Azure Machine
  Learning resources, such as compute instances, compute clusters, serverless compute".
- how-to-use-serverless-compute.md, "Example for all fields with command jobs": "You don't need to
  specify virtual network settings because workspace-level managed network isolation is
  automatically used."
- how-to-secure-training-vnet.md, "Prerequisites": the network "must be in the same subscription as
  your Azure Machine Learning workspace"; "Compute instance/cluster or serverless compute with no
  public IP": "You must use a workspace private endpoint for the compute resource to communicate
  with Azure Machine Learning services from the VNet", and the `serverless_compute: {custom_subnet,
  no_public_ip}` workspace settings.
- pulumi-azure-native 3.29 `machinelearningservices/_inputs.py`, `ServerlessComputeSettingsArgs`:
  `serverless_compute_custom_subnet` ("an existing virtual network subnet in which serverless compute
  nodes should be deployed") and `serverless_compute_no_public_ip` ("nodes deployed in custom vNet").
- image builds: how-to-managed-network.md, "Configure image builds": "When the Azure Container
  Registry for your workspace is behind a virtual network, it can't be used to directly build Docker
  images. Instead, configure your workspace to use a compute cluster" (ML-10, unchanged here).
"""

import json

import pytest

from mlinfra.estate.inventory import StackPlan
from mlinfra.estate.needs import deployer_needs
from tests.conftest import PRIVATE_STACKS, PROJECT_DIR, PUBLIC_STACKS, plan, setting, stack_config, stage_of
from tests.test_config import rejection  # noqa: F401  (the fixture: nothing registered on refusal)

WORKSPACE = "azure-native:machinelearningservices:Workspace"
PUBLIC_STACK = next(stack for stack in PUBLIC_STACKS if not stage_of(stack).production)
PRIVATE_STACK = PRIVATE_STACKS[0]


def subnet(subscription: str) -> str:
    return (
        f"/subscriptions/{subscription}/resourceGroups/rg-spoke/providers/Microsoft.Network/"
        "virtualNetworks/vnet-spoke/subnets/snet-serverless"
    )


def subscription_of(stack: str) -> str:
    return stack_config(stack).values["azure-native:subscriptionId"]


def without_managed_network(stack: str, **serverless) -> dict:
    """The stack's workspace section with no managed network (and so no outbound rules) and a
    serverless subnet of the stack's own subscription unless `serverless` says otherwise."""
    workspace = {
        key: value
        for key, value in setting(stack, "workspace", {}).items()
        if key not in ("outboundRules", "outboundRuleSets", "firewallSku", "batchEndpointsEnabled")
    }
    return {
        **workspace,
        "isolationMode": "Disabled",
        "serverlessCompute": {"subnetId": subnet(subscription_of(stack)), **serverless},
    }


def public_with_endpoints(stack: str) -> dict:
    """The public stack's network with the private endpoints of a private stack (the workspace
    endpoint a no-public-IP subnet needs)."""
    return {
        **setting(stack, "network"),
        "privateEndpoints": setting(PRIVATE_STACK, "network")["privateEndpoints"],
    }


@pytest.mark.parametrize("stack", PRIVATE_STACKS)
def test_private_stages_leave_serverless_compute_to_the_managed_network(stack_plans, stack):
    """Every private stage has a managed network, in which serverless jobs run by themselves: the
    workspace sends no serverlessComputeSettings (a custom subnet would be refused by Azure)."""
    workspace = stack_plans[stack].one(WORKSPACE).inputs
    assert workspace["managedNetwork"]["isolationMode"] != "Disabled"
    assert "serverlessComputeSettings" not in workspace


def test_a_customer_subnet_gets_serverless_nodes_without_public_ips():
    network = public_with_endpoints(PUBLIC_STACK)
    result = plan(
        PUBLIC_STACK,
        **{"mlinfra:workspace": without_managed_network(PUBLIC_STACK), "mlinfra:network": network},
    )
    assert result.one(WORKSPACE).inputs["serverlessComputeSettings"] == {
        "serverlessComputeCustomSubnet": subnet(subscription_of(PUBLIC_STACK)),
        "serverlessComputeNoPublicIP": True,
    }


def test_public_ips_are_only_given_when_asked_for():
    workspace = without_managed_network(PUBLIC_STACK, publicIpEnabled=True)
    settings = plan(PUBLIC_STACK, **{"mlinfra:workspace": workspace}).one(WORKSPACE).inputs
    assert settings["serverlessComputeSettings"]["serverlessComputeNoPublicIP"] is False


def test_the_deployer_needs_to_join_the_serverless_subnet():
    """Putting nodes in a subnet is a linked-scope write (how-to-secure-training-vnet.md includes
    network-rbac.md: subnet join/action on the subnet resource): the estate verifier counts it."""
    workspace = without_managed_network(PUBLIC_STACK, publicIpEnabled=True)
    config = stack_config(PUBLIC_STACK, **{"mlinfra:workspace": workspace})
    result = plan(PUBLIC_STACK, **{"mlinfra:workspace": workspace})
    stack = StackPlan("stage", PUBLIC_STACK, PROJECT_DIR, None, result, dict(config.values))
    joins = [
        need
        for need in deployer_needs(stack, (None, None))
        if need.action == "Microsoft.Network/virtualNetworks/subnets/join/action"
    ]
    assert [(need.rule, need.scope) for need in joins] == [("EV-2", subnet(subscription_of(PUBLIC_STACK)))]


@pytest.mark.parametrize("stack", [PUBLIC_STACK, PRIVATE_STACK])
def test_fails_when_a_managed_network_is_given_a_serverless_subnet(rejection, stack):  # noqa: F811
    workspace = {
        **setting(stack, "workspace", {}),
        "serverlessCompute": {"subnetId": subnet(subscription_of(stack))},
    }
    message = rejection.message(stack_config(stack, **{"mlinfra:workspace": workspace}))
    assert "mlinfra:workspace.serverlessCompute: only with workspace.isolationMode Disabled" in message
    assert "Azure places no compute in a customer subnet" in message


def test_fails_when_the_subnet_is_in_another_subscription(rejection):  # noqa: F811
    other = "00000000-0000-0000-0000-000000000099"
    workspace = without_managed_network(PUBLIC_STACK, subnetId=subnet(other), publicIpEnabled=True)
    message = rejection.message(stack_config(PUBLIC_STACK, **{"mlinfra:workspace": workspace}))
    assert f"mlinfra:workspace.serverlessCompute.subnetId: got a subnet of subscription {other}" in message
    assert subscription_of(PUBLIC_STACK) in message


def test_fails_when_nodes_without_public_ips_have_no_workspace_endpoint(rejection):  # noqa: F811
    assert "privateEndpoints" not in setting(PUBLIC_STACK, "network")
    workspace = without_managed_network(PUBLIC_STACK)
    message = rejection.message(stack_config(PUBLIC_STACK, **{"mlinfra:workspace": workspace}))
    assert (
        "mlinfra:workspace.serverlessCompute.publicIpEnabled: false needs the workspace's private endpoint"
        in message
    )


@pytest.mark.parametrize(
    ("serverless", "needle"),
    [
        (
            {"subnetId": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v"},
            "expected the id of a Microsoft.Network/virtualNetworks/subnets",
        ),
        ({"publicIpEnabled": False}, "serverlessCompute.subnetId: required"),
        (
            {"subnetId": subnet("00000000-0000-0000-0000-000000000012"), "publicIp": True},
            "publicIp: unknown key",
        ),
    ],
    ids=["not-a-subnet", "no-subnet", "unknown-key"],
)
def test_fails_when_the_serverless_section_is_malformed(rejection, serverless, needle):  # noqa: F811
    workspace = {**without_managed_network(PUBLIC_STACK), "serverlessCompute": serverless}
    message = rejection.message(stack_config(PUBLIC_STACK, **{"mlinfra:workspace": json.dumps(workspace)}))
    assert needle in message
