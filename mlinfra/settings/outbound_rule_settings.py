"""Stack config of the managed network's user-defined outbound rules (FQDN, private endpoint,
service tag), the firewall SKU FQDN rules need, and the rule sets this project ships.

Source of the rules and limits: Microsoft Learn, machine-learning/how-to-managed-network.md
(MicrosoftDocs/azure-ai-docs articles/machine-learning/how-to-managed-network.md).
"""

import difflib
import re
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StrictBool, StrictStr

from mlinfra.facts.regions import REGION_CODES
from mlinfra.settings.settings_base import Settings
from mlinfra.settings.value_kinds import PortRanges, WildcardHostName

_RESOURCE_ID = re.compile(
    r"/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[-\w.()]+/providers/[A-Za-z.]+/[A-Za-z]+/[-\w.]+",
    re.IGNORECASE,
)

SERVICE_TAGS = (
    "AzureActiveDirectory",
    "AzureContainerRegistry",
    "AzureFrontDoor.FirstParty",
    "AzureKeyVault",
    "AzureMachineLearning",
    "AzureMonitor",
    "AzureResourceManager",
    "BatchNodeManagement",
    "MicrosoftContainerRegistry",
    "Storage",
)
"""Service tags a rule may name, alone or with a region (`Storage.westeurope`): the tags the
managed-network article lists for Azure Machine Learning, plus Storage, AzureKeyVault and
AzureContainerRegistry for data and images. Broad tags (Internet, AzureCloud) are never allowed:
they would undo the data-exfiltration protection of approved-outbound mode."""

_REGIONAL_TAG = re.compile(r"(?P<tag>[A-Za-z.]+?)(?:\.(?P<region>[a-z0-9]+))?")


def _resource_id(value: str) -> str:
    if not _RESOURCE_ID.fullmatch(value):
        raise ValueError(
            "expected an Azure resource id: /subscriptions/<guid>/resourceGroups/<group>/providers/<namespace>/<type>/<name>"
        )
    return value


def _service_tag(value: str) -> str:
    if value in SERVICE_TAGS:
        return value
    match = _REGIONAL_TAG.fullmatch(value)
    if match and match["region"] and match["tag"] in SERVICE_TAGS:
        if match["region"] in REGION_CODES:
            return value
        close = difflib.get_close_matches(match["region"], REGION_CODES, n=1)
        hint = f"; did you mean {match['tag']}.{close[0]}?" if close else ""
        raise ValueError(
            f"region {match['region']!r} of service tag {value} is not an Azure region of this project's "
            f"allow-list (mlinfra/facts/regions.py){hint}"
        )
    raise ValueError(
        f"expected one of {', '.join(SERVICE_TAGS)}, optionally with a region (Storage.westeurope)"
    )


Fqdn = WildcardHostName


class FqdnRule(Settings):
    type: Literal["FQDN"]
    """FQDN, PrivateEndpoint or ServiceTag. Required."""
    destination: Fqdn
    """A host name such as pypi.org, with a wildcard only as a leading '*.'. Required. FQDN rules
    allow ports 80 and 443 only, and need AllowOnlyApprovedOutbound and firewallSku."""


class PrivateEndpointRule(Settings):
    type: Literal["PrivateEndpoint"]
    """FQDN, PrivateEndpoint or ServiceTag. Required."""
    service_resource_id: Annotated[StrictStr, AfterValidator(_resource_id)]
    """Resource id of the target (same tenant). Required."""
    subresource_target: Annotated[StrictStr, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{1,39}$")]
    """The private-link sub-resource (group id), for example blob, queue, vault. Required."""
    spark_enabled: StrictBool = False
    """Whether serverless Spark may use the endpoint. Default false."""


class ServiceTagRule(Settings):
    type: Literal["ServiceTag"]
    """FQDN, PrivateEndpoint or ServiceTag. Required."""
    service_tag: Annotated[StrictStr, AfterValidator(_service_tag)]
    """A service tag of the project's allow-list (see SERVICE_TAGS), optionally regional. Required."""
    protocol: Literal["TCP", "UDP", "ICMP", "*"] = "TCP"
    """TCP, UDP, ICMP or *. Default TCP."""
    port_ranges: PortRanges = "443"
    """*, a port, a range or a comma-separated list. Default 443."""


OutboundRule = Annotated[FqdnRule | PrivateEndpointRule | ServiceTagRule, Field(discriminator="type")]
RuleName = Annotated[StrictStr, Field(pattern=r"^[a-z][a-z0-9-]{1,62}$")]


class FirewallSku(StrEnum):
    """`managedNetwork.firewallSku` of the 2025-12-01 workspace API (Azure/azure-rest-api-specs
    specification/machinelearningservices/resource-manager/Microsoft.MachineLearningServices/
    stable/2025-12-01/workspaceRP.json, `FirewallSku`).

    Basic is no longer preview (review-3 R11): MicrosoftDocs/azure-ai-docs
    articles/machine-learning/how-to-managed-network.md (ms.date 2025-05-23) titles the section
    "Select an Azure Firewall version for allowed only approved outbound", without the earlier
    "(Preview)": "By default, a Standard version of AzureFirewall is created. Optionally, you can
    select to use a Basic version. You can change the firewall version used as needed." Premium
    is not offered: "Managed virtual network doesn't support Premium SKU Azure Firewall"."""

    STANDARD = "Standard"
    BASIC = "Basic"


class RuleSet(StrEnum):
    PYTHON_PACKAGES = "python-packages"


RULE_SETS = MappingProxyType(
    {
        # Microsoft Learn, how-to-managed-network.md, "Scenario: Access public machine learning
        # packages" (includes/recommended-network-outbound.md): anaconda.com and *.anaconda.com
        # install default conda packages, *.anaconda.org serves repo data, pypi.org lists
        # dependencies. pip downloads the files themselves from files.pythonhosted.org (PyPI's
        # file host, which the article names as *.pythonhosted.org).
        RuleSet.PYTHON_PACKAGES: {
            "pypi": "pypi.org",
            "pythonhosted-files": "files.pythonhosted.org",
            "anaconda": "anaconda.com",
            "anaconda-com": "*.anaconda.com",
            "anaconda-org": "*.anaconda.org",
        }
    }
)
"""Rule set -> FQDN rules (rule name -> destination) it adds."""

FIREWALL_COST = {
    FirewallSku.STANDARD: "Azure Firewall Standard, about USD 1.25 per hour (~900 a month) plus data processed",
    FirewallSku.BASIC: "Azure Firewall Basic, about USD 0.40 per hour (~290 a month) plus data processed",
}
"""What an FQDN rule costs: the managed network deploys an Azure Firewall for it (list prices
from azure.microsoft.com/pricing/details/azure-firewall, region-dependent; check before use)."""
