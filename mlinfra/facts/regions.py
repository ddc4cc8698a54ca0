"""Azure public-cloud regions this project deploys to, with the short codes used in names.

The table is the region allow-list (a typo such as `westeurpe` is a config error, T-05) and
the source of the region part of every physical name (`rg-churn-dev-weu`). Codes follow the
abbreviations of the Cloud Adoption Framework naming guidance where it has one; they are at
most 5 characters so the longest name still fits the 33-character workspace limit.
"""

from types import MappingProxyType

REGION_CODES = MappingProxyType(
    {
        # Americas
        "eastus": "eus",
        "eastus2": "eus2",
        "centralus": "cus",
        "northcentralus": "ncus",
        "southcentralus": "scus",
        "westcentralus": "wcus",
        "westus": "wus",
        "westus2": "wus2",
        "westus3": "wus3",
        "canadacentral": "cnc",
        "canadaeast": "cne",
        "brazilsouth": "brs",
        "mexicocentral": "mxc",
        # Europe
        "northeurope": "neu",
        "westeurope": "weu",
        "uksouth": "uks",
        "ukwest": "ukw",
        "francecentral": "frc",
        "germanywestcentral": "gwc",
        "switzerlandnorth": "szn",
        "norwayeast": "nwe",
        "swedencentral": "sdc",
        "polandcentral": "plc",
        "italynorth": "itn",
        "spaincentral": "spc",
        # Asia Pacific, Middle East, Africa
        "eastasia": "ea",
        "southeastasia": "sea",
        "japaneast": "jpe",
        "japanwest": "jpw",
        "koreacentral": "krc",
        "australiaeast": "ae",
        "australiasoutheast": "ase",
        "centralindia": "inc",
        "southindia": "ins",
        "uaenorth": "uan",
        "qatarcentral": "qac",
        "israelcentral": "ilc",
        "southafricanorth": "san",
    }
)
"""Region name (as `az account list-locations` prints it) -> short code used in names."""


def region_code(location: str) -> str:
    """The short code of `location`; KeyError when the region is not in the allow-list."""
    return REGION_CODES[location]
