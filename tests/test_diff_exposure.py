"""The diff reports the exposure changes private stages add (issue 17): outbound rules, peerings,
public node IPs, monitoring ingestion/query and local auth."""

from mlinfra.diff.compare import diff_plans


def resource(urn, type_, **inputs):
    return {
        "urn": urn,
        "type": type_,
        "name": urn,
        "custom": True,
        "parent": None,
        "inputs": inputs,
        "dependencies": [],
        "protect": False,
        "retainOnDelete": False,
    }


def document(*resources):
    return {"version": 1, "resources": list(resources), "access": [], "environments": [], "outputs": {}}


RULE = "azure-native:machinelearningservices:ManagedNetworkSettingsRule"
PEERING = "azure-native:network:VirtualNetworkPeering"
COMPUTE = "azure-native:machinelearningservices:Compute"
INSIGHTS = "azure-native:applicationinsights:Component"


def network_findings(base, head) -> list[str]:
    return [f.text for f in diff_plans("example", base, head).findings if f.category == "network"]


def test_a_new_outbound_rule_or_peering_is_an_exposure_finding():
    head = document(
        resource(
            "urn:r", type_=RULE, ruleName="pypi", properties={"type": "FQDN", "destination": "pypi.org"}
        ),
        resource("urn:p", type_=PEERING, remoteVirtualNetwork={"id": "/hub"}),
    )
    texts = network_findings(document(), head)
    assert any("new managed-network outbound rule" in t and "pypi.org" in t for t in texts)
    assert any("new network peering" in t and "/hub" in t for t in texts)


def test_a_changed_outbound_destination_is_an_exposure_finding():
    def rule(destination):
        return document(
            resource("urn:r", type_=RULE, properties={"type": "FQDN", "destination": destination})
        )

    assert any(
        "properties.destination" in t and "*.anaconda.org" in t
        for t in network_findings(rule("pypi.org"), rule("*.anaconda.org"))
    )


def test_public_node_ips_and_opened_monitoring_are_exposure_findings():
    compute = resource("urn:c", type_=COMPUTE, properties={"properties": {"enableNodePublicIp": True}})
    assert any("gives its nodes public IPs" in t for t in network_findings(document(), document(compute)))

    def insights(ingestion, local_auth_off):
        return document(
            resource(
                "urn:i",
                type_=INSIGHTS,
                publicNetworkAccessForIngestion=ingestion,
                disableLocalAuth=local_auth_off,
            )
        )

    texts = network_findings(insights("Disabled", True), insights("Enabled", False))
    assert any("publicNetworkAccessForIngestion" in t for t in texts)
    assert any("disableLocalAuth" in t for t in texts)
