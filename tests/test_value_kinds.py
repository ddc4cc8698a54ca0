"""mlinfra/settings/value_kinds.py: one validator per kind of value, and each place the kind appears
uses it (stage sections, the shared stack, the bootstrap project). Valid variants sit next to each
refusal so that nothing valid is refused."""

import pytest
from pydantic import ValidationError

from bootstrap.settings import GitHubRepositorySettings
from mlinfra.config.shared_config import REGISTRY_ZONES, RegistryPrivateEndpoint
from mlinfra.settings import value_kinds as kinds
from mlinfra.settings.access_settings import Persona
from mlinfra.settings.ci_settings import GitHubSettings
from mlinfra.settings.network_settings import REQUIRED_ZONES, PrivateEndpointSettings, VirtualNetworkSettings
from mlinfra.settings.outbound_rule_settings import FqdnRule, ServiceTagRule
from mlinfra.settings.workspace_settings import WorkspaceSettings

GUID = "0b1f6c3e-2a4d-4c8e-9f10-5e6d7c8b9a01"
GROUP = f"/subscriptions/{GUID}/resourceGroups/rg-hub"
SUBNET = f"{GROUP}/providers/Microsoft.Network/virtualNetworks/vnet-hub/subnets/snet-pe"


def zone_id(zone: str) -> str:
    return f"{GROUP}/providers/Microsoft.Network/privateDnsZones/{zone}"


def refusal(validate, value) -> str:
    with pytest.raises(ValueError) as error:
        validate(value)
    return str(error.value)


# Host names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["pypi.org", "files.pythonhosted.org", "PyPI.org", "a-b.example.com", "xn--bcher-kva.example", "x1.io"],
)
def test_host_names_in_ascii_or_idna_form_are_accepted(value):
    """RFC 1123 section 2.1: labels of letters, digits and hyphens; an internationalised name is
    written in its IDNA (`xn--`) form (RFC 5890)."""
    assert kinds.host_name(value) == value


@pytest.mark.parametrize(
    "value", ["\u212aelvin.org", "p\u0131pi.org", "pyp\u0130.org", "\u017fite.org", "b\u00fccher.example"]
)
def test_fails_when_a_host_name_has_non_ascii_look_alikes(value):
    """Python docs, re.IGNORECASE: with a Unicode pattern, [a-z] under IGNORECASE also matches
    U+0130, U+0131 (dotless i), U+017F and U+212A (the Kelvin sign), so the old FQDN rule let
    these pass; a host name is ASCII (IDNA) only."""
    assert "ASCII only" in refusal(kinds.host_name, value)


@pytest.mark.parametrize("value", ["10.0.0.1", "8.8.8.8", "::1", "2001:db8::1", "1.2.3.999", "a.b.123"])
def test_fails_when_a_host_name_is_an_ip_address(value):
    """RFC 3696 section 2: a top-level domain is never all-numeric, so a dotted-digit string is
    not a host name; ipaddress refuses the valid addresses by name."""
    with pytest.raises(ValueError):
        kinds.host_name(value)


@pytest.mark.parametrize(
    "value", ["pypi", "-a.org", "a-.org", "a..org", "a_b.org", f"{'a' * 64}.org", ("a." * 127) + "org"]
)
def test_fails_when_a_host_name_is_malformed(value):
    """RFC 1035 section 2.3.1 / RFC 1123 section 2.1: 1-63 characters a label, no hyphen first or
    last, 253 characters in all; a single label is not a fully qualified name."""
    with pytest.raises(ValueError):
        kinds.host_name(value)


def test_a_wildcard_is_only_a_leading_label():
    """Microsoft Learn, machine-learning/how-to-managed-network: FQDN rules take `*.` wildcards."""
    assert kinds.wildcard_host_name("*.anaconda.org") == "*.anaconda.org"
    for value in ("a.*.org", "*anaconda.org", "*.*.org"):
        with pytest.raises(ValueError):
            kinds.wildcard_host_name(value)
    with pytest.raises(ValueError):
        kinds.host_name("*.anaconda.org")


def test_fails_when_an_fqdn_rule_names_a_look_alike_or_an_address():
    """The FQDN outbound rule's destination is a host name (mlinfra/settings/outbound_rule_settings.py)."""
    FqdnRule.model_validate({"type": "FQDN", "destination": "*.anaconda.org"}, by_name=False)
    for destination in ("\u212aelvin.org", "10.1.2.3"):
        with pytest.raises(ValidationError):
            FqdnRule.model_validate({"type": "FQDN", "destination": destination}, by_name=False)


# Ports ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["*", "443", "1", "65535", "80,443", "8000-8080", "443,8000-8080", "22-22"])
def test_ports_and_ranges_are_accepted(value):
    """ARM `portRanges` of a ServiceTag outbound rule: `*`, ports, ranges, comma-separated."""
    assert kinds.port_ranges(value) == value


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("0", "1-65535"),
        ("0-443", "1-65535"),
        ("65536", "1-65535"),
        ("8080-8000", "reversed"),
        ("443,", ""),
        ("*,443", ""),
        ("a", ""),
    ],
)
def test_fails_when_a_port_is_zero_out_of_range_or_reversed(value, why):
    """IANA service-names-port-numbers: port 0 is reserved, ports are 1-65535; a range runs low to
    high (8080-8000 would match nothing or be refused by ARM at deploy time)."""
    assert why in refusal(kinds.port_ranges, value)


def test_fails_when_a_service_tag_rule_has_port_zero():
    rule = {"type": "ServiceTag", "serviceTag": "Storage", "protocol": "TCP"}
    ServiceTagRule.model_validate({**rule, "portRanges": "443"}, by_name=False)
    with pytest.raises(ValidationError, match="1-65535"):
        ServiceTagRule.model_validate({**rule, "portRanges": "0"}, by_name=False)


# Service tags with regions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "tag", ["Storage", "Storage.westeurope", "AzureMonitor.northeurope", "AzureFrontDoor.FirstParty"]
)
def test_service_tags_with_a_known_region_are_accepted(tag):
    """A regional tag is `<tag>.<region>`; the regions are the project's allow-list
    (mlinfra/facts/regions.py, the same table the stage's location is checked against)."""
    ServiceTagRule.model_validate({"type": "ServiceTag", "serviceTag": tag, "protocol": "TCP"}, by_name=False)


def test_fails_when_a_service_tag_region_is_misspelt():
    """mlinfra/facts/regions.py REGION_CODES: `westeurpe` is no region; the message suggests the
    closest one (difflib)."""
    with pytest.raises(ValidationError) as error:
        ServiceTagRule.model_validate(
            {"type": "ServiceTag", "serviceTag": "Storage.westeurpe", "protocol": "TCP"}, by_name=False
        )
    assert "did you mean Storage.westeurope?" in str(error.value)


# Repositories -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["contoso/churn", "a/b", "my-org/ml.infra", "A1-b2/x_y-z.1", f"{'a' * 39}/{'r' * 100}", "o/.github"],
)
def test_github_repositories_are_accepted(value):
    """GitHub: a login of 1-39 letters, digits and single inner hyphens; a repository name of
    letters, digits, '.', '_' and '-' up to 100 characters."""
    assert kinds.github_repository(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "contoso/churn.git",
        "contoso/churn.GIT",
        "contoso",
        "-a/b",
        "a-/b",
        "a--b/c",
        "a/b/c",
        "a/.",
        "a/..",
        "a/b c",
        f"{'a' * 40}/b",
        "a/",
    ],
)
def test_fails_when_a_repository_breaks_githubs_rules(value):
    """GitHub strips a `.git` suffix when it creates a repository (dead-claudia/github-limits#11,
    line/centraldogma#956), so `owner/name.git` names nothing; logins never start or end with a
    hyphen nor hold two in a row (GitHub's sign-up rule)."""
    with pytest.raises(ValueError):
        kinds.github_repository(value)


def test_fails_when_a_repository_keeps_its_git_suffix_in_stage_and_bootstrap_config():
    """The stage's ci.github.repository and the bootstrap project's github.repository are one kind."""
    assert "contoso/churn" in refusal(kinds.github_repository, "contoso/churn.git")
    for model, extra in (
        (GitHubSettings, {}),
        (GitHubRepositorySettings, {"oidcSubjectFormat": "immutable"}),
    ):
        with pytest.raises(ValidationError, match=r"without the \.git suffix"):
            model.model_validate({"repository": "contoso/churn.git", **extra}, by_name=False)


# Reasons ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["vendor scoring until 2027-06", "needs prod data", "audit ticket SEC-1234 approved"]
)
def test_reasons_are_accepted(value):
    assert kinds.reason(value) == value


@pytest.mark.parametrize(
    "value", [" " * 20, "\t" * 12, "x" * 20, "because", "  padded reason  ", "-- -- -- --", "a b c d e f"]
)
def test_fails_when_a_reason_is_blank_or_says_nothing(value):
    """A reason is read by reviewers in the plan and the diff (production_rules.py,
    docs/security-model.md WS-2, RB-7): at least 10 characters and two words."""
    with pytest.raises(ValueError):
        kinds.reason(value)


def test_fails_when_a_sharing_or_outside_dev_reason_is_blank():
    """workspace.sharedWithDataScienceReason and personas.<name>.outsideDevReason are reasons."""
    with pytest.raises(ValidationError, match="reason"):
        WorkspaceSettings.model_validate({"sharedWithDataScienceReason": " " * 20}, by_name=False)
    with pytest.raises(ValidationError, match="reason"):
        Persona.model_validate({"groupObjectId": GUID, "outsideDevReason": " " * 20}, by_name=False)
    Persona.model_validate(
        {"groupObjectId": GUID, "outsideDevReason": "reviews prod scoring runs"}, by_name=False
    )


# Address ranges ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["10.0.0.0/8", "10.20.0.0/16", "172.16.0.0/12", "172.31.255.0/24", "192.168.0.0/16", "192.168.1.0/28"],
)
def test_private_ranges_are_accepted(value):
    """RFC 1918 section 3: 10/8, 172.16/12, 192.168/16."""
    assert kinds.private_cidr(value) == value


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("127.0.0.0/8", "loopback"),
        ("127.0.0.0/24", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("169.254.1.0/24", "link-local"),
        ("0.0.0.0/8", ""),
        ("100.64.0.0/10", ""),
        ("192.0.2.0/24", ""),
        ("198.18.0.0/15", ""),
        ("20.0.0.0/16", ""),
        ("fd00::/8", ""),
        ("10.0.0.1/8", "host bits"),
        ("8.0.0.0/6", ""),
    ],
)
def test_fails_when_a_range_is_not_routable_private(value, kind):
    """Microsoft Learn, virtual-network/virtual-networks-faq ("What address ranges can I use in my
    virtual networks?"): RFC 1918 ranges; 127.0.0.0/8 and 169.254.0.0/16 cannot be added. Python's
    ipaddress `is_private` counts loopback and link-local as private, which the old rule relied on."""
    assert kind in refusal(kinds.private_cidr, value)


def test_fails_when_a_virtual_network_is_loopback_or_link_local():
    VirtualNetworkSettings.model_validate(
        {"addressSpace": "10.20.0.0/16", "endpointSubnetPrefix": "10.20.1.0/24"}, by_name=False
    )
    for space in ("127.0.0.0/16", "169.254.0.0/16"):
        with pytest.raises(ValidationError):
            VirtualNetworkSettings.model_validate(
                {"addressSpace": space, "endpointSubnetPrefix": space}, by_name=False
            )


# Resource ids -----------------------------------------------------------------------------------


def test_typed_resource_ids_name_their_type():
    """An ARM id is /subscriptions/<guid>/resourceGroups/<group>/providers/<namespace>/<type>/<name>
    [/<child type>/<name>] (Microsoft Learn, azure-resource-manager/management/resource-name-rules);
    namespaces and types compare case-insensitively."""
    subnet = kinds.typed_resource_id("Microsoft.Network/virtualNetworks/subnets")
    assert subnet(SUBNET) == SUBNET
    assert subnet(SUBNET.replace("Microsoft.Network", "microsoft.network")) is not None
    for wrong in (
        SUBNET.rsplit("/subnets/", 1)[0],  # the network, not a subnet
        zone_id("privatelink.blob.core.windows.net"),
        SUBNET.replace("Network", "Netwo\u212a"),  # a look-alike type never passes
        SUBNET.replace(GUID, "not-a-guid"),
    ):
        with pytest.raises(ValueError, match=r"Microsoft\.Network/virtualNetworks/subnets"):
            subnet(wrong)


def all_zones(**changes) -> dict[str, str]:
    return {**{zone: zone_id(zone) for zone in REQUIRED_ZONES}, **changes}


def test_dns_zone_ids_of_the_named_zones_are_accepted():
    PrivateEndpointSettings.model_validate({"subnetId": SUBNET, "dnsZoneIds": all_zones()}, by_name=False)
    upper = all_zones(**{"privatelink.azurecr.io": zone_id("PrivateLink.AzureCR.io")})
    PrivateEndpointSettings.model_validate({"subnetId": SUBNET, "dnsZoneIds": upper}, by_name=False)


@pytest.mark.parametrize(
    "wrong",
    [
        zone_id("privatelink.blob.core.windows.net"),  # another zone
        SUBNET,  # no zone at all
        f"{GROUP}/providers/Microsoft.Network/dnsZones/privatelink.azurecr.io",  # a public DNS zone
        "privatelink.azurecr.io",
    ],
)
def test_fails_when_a_dns_zone_id_is_not_the_zone_it_is_keyed_on(wrong):
    """A private endpoint registers in the zone of its sub-resource (Microsoft Learn,
    private-link/private-endpoint-dns): an id of another zone, of a public zone or of no zone would
    leave the endpoint unresolvable. The stage's network and the shared registry's endpoint both check."""
    stage = all_zones(**{"privatelink.azurecr.io": wrong})
    with pytest.raises(ValidationError, match=r"dnsZoneIds\.privatelink\.azurecr\.io: got"):
        PrivateEndpointSettings.model_validate({"subnetId": SUBNET, "dnsZoneIds": stage}, by_name=False)
    registry_zones = {zone: zone_id(zone) for zone in REGISTRY_ZONES}
    shared = {**registry_zones, "privatelink.api.azureml.ms": wrong}
    with pytest.raises(ValidationError, match=r"dnsZoneIds\.privatelink\.api\.azureml\.ms: got"):
        RegistryPrivateEndpoint.model_validate({"subnetId": SUBNET, "dnsZoneIds": shared}, by_name=False)
    RegistryPrivateEndpoint.model_validate({"subnetId": SUBNET, "dnsZoneIds": registry_zones}, by_name=False)


def test_fails_when_a_stack_file_has_a_loopback_network_in_one_line_naming_key_and_value():
    """End to end through the program: ConfigError, one line, key path and value (docs/configuration.md, "Config errors")."""
    from tests.test_stage_network import refused

    network = {"addressSpace": "127.0.0.0/16", "endpointSubnetPrefix": "127.0.1.0/24"}
    message = refused(privateEndpoints={"virtualNetwork": network})
    assert 'mlinfra:network.privateEndpoints.virtualNetwork.addressSpace: got "127.0.0.0/16"' in message
    assert "loopback" in message
