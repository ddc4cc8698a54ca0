"""One validator per kind of value that stack config carries, used wherever that kind appears
(the stage's sections, the shared stack and the bootstrap project): host names, port ranges,
GitHub repositories, reasons, private address ranges and typed Azure resource ids.

Each validator raises ValueError naming what is allowed; pydantic adds the key path and value.
"""

import ipaddress
import re
from typing import Annotated

from pydantic import AfterValidator, StrictStr

# No re.IGNORECASE anywhere here: with a Unicode pattern, `[a-z]` under IGNORECASE also matches
# U+0130, U+0131 (dotless i), U+017F (long s) and U+212A (the Kelvin sign) (Python docs, re,
# re.IGNORECASE), so a look-alike host name would pass. Letters are spelt out as A-Za-z instead.
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
"""A DNS label: letters, digits and hyphens, 1-63 characters, no hyphen first or last
(RFC 1123 section 2.1, RFC 1035 section 2.3.1)."""


def host_name(value: str, wildcard: bool = False) -> str:
    """A fully qualified ASCII host name (internationalised names in their IDNA `xn--` form), at
    least two labels, the last not all digits, so that an IP address is not taken for a name
    (RFC 3696 section 2: a top-level domain is never all-numeric). With `wildcard`, one leading
    `*.` is allowed."""
    allowed = "a host name such as pypi.org" + (
        ", with a wildcard only as a leading '*.'" if wildcard else ""
    )
    if not value.isascii():
        try:
            ascii_form = value.encode("idna").decode("ascii")
        except UnicodeError:
            ascii_form = None
        hint = f" (IDNA form {ascii_form})" if ascii_form and ascii_form.isascii() else ""
        raise ValueError(
            f"expected {allowed}: ASCII only; non-ASCII characters (look-alikes such as the Kelvin sign "
            f"or dotless i) are refused, write an internationalised name in its xn-- form{hint}"
        )
    try:
        ipaddress.ip_address(value)
    except ValueError:
        pass
    else:
        raise ValueError(f"expected {allowed}, got an IP address; a host name rule takes names only")
    name = value[2:] if wildcard and value.startswith("*.") else value
    labels = name.split(".")
    if (
        len(value) > 253
        or len(labels) < 2
        or not all(_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise ValueError(
            f"expected {allowed} (labels of letters, digits and inner hyphens, at most 253 characters)"
        )
    return value


def wildcard_host_name(value: str) -> str:
    return host_name(value, wildcard=True)


HostName = Annotated[StrictStr, AfterValidator(host_name)]
WildcardHostName = Annotated[StrictStr, AfterValidator(wildcard_host_name)]

_PORT_ITEM = re.compile(r"(?P<low>[0-9]{1,5})(?:-(?P<high>[0-9]{1,5}))?")


def port_ranges(value: str) -> str:
    """`*`, a port (443), a range (8000-8080) or a comma-separated list of them: ports 1-65535
    (port 0 is reserved, IANA service-names-port-numbers), a range low to high."""
    allowed = "expected *, a port (443), a range (8000-8080) or a comma-separated list of them"
    if value == "*":
        return value
    for item in value.split(","):
        match = _PORT_ITEM.fullmatch(item)
        if not match:
            raise ValueError(allowed)
        low = int(match["low"])
        high = int(match["high"]) if match["high"] else low
        if not (1 <= low <= 65535 and 1 <= high <= 65535):
            raise ValueError(f"{allowed}; ports are 1-65535, got {item}")
        if low > high:
            raise ValueError(f"{allowed}; range {item} is reversed, write {high}-{low}")
    return value


PortRanges = Annotated[StrictStr, AfterValidator(port_ranges)]

_OWNER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")
"""A GitHub login: 1-39 letters, digits and single inner hyphens (GitHub's sign-up rule
"Username may only contain alphanumeric characters or single hyphens, and cannot begin or end
with a hyphen")."""
_REPOSITORY_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")


def github_repository(value: str) -> str:
    """`owner/name` as GitHub accepts it: a login, and a name of 1-100 letters, digits, `.`, `_`
    and `-` that is not `.` or `..` and does not end in `.git` (GitHub strips that suffix when a
    repository is created, so `owner/name.git` names a repository that does not exist:
    dead-claudia/github-limits#11, line/centraldogma#956)."""
    allowed = "expected owner/name (an owner of letters, digits and single inner hyphens; a name of letters, digits, '.', '_', '-')"
    owner, slash, name = value.partition("/")
    if (
        not slash
        or not _OWNER.fullmatch(owner)
        or not _REPOSITORY_NAME.fullmatch(name)
        or name in (".", "..")
    ):
        raise ValueError(allowed)
    if name.lower().endswith(".git"):
        raise ValueError(f"expected owner/name without the .git suffix of a clone URL: {owner}/{name[:-4]}")
    return value


GitHubRepository = Annotated[StrictStr, AfterValidator(github_repository)]

MIN_REASON_LENGTH = 10


def reason(value: str) -> str:
    """Why a rule is relaxed or something is shared: read by reviewers and printed in the plan, so
    at least 10 characters of text, two words or more, not blank and not padded."""
    if value != value.strip():
        raise ValueError("expected a reason without leading or trailing whitespace")
    words = re.findall(r"\w{2,}", value)
    if len(value) < MIN_REASON_LENGTH or len(words) < 2:
        raise ValueError(
            f"expected a reason a reviewer can read: at least {MIN_REASON_LENGTH} characters and two words "
            "(for example 'vendor scoring needs the public endpoint until 2027-06')"
        )
    return value


Reason = Annotated[StrictStr, AfterValidator(reason)]

PRIVATE_BLOCKS = tuple(
    ipaddress.IPv4Network(block) for block in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)
"""RFC 1918's private address blocks: the ranges a virtual network should use (Microsoft Learn,
virtual-network/virtual-networks-faq "What address ranges can I use in my virtual networks?":
RFC 1918 ranges; 224.0.0.0/4, 255.255.255.255/32, 127.0.0.0/8, 169.254.0.0/16 and
168.63.129.16/32 cannot be added). Python's `is_private` also counts loopback, link-local and
other special-purpose blocks, none of which a network can route."""


def private_cidr(value: str) -> str:
    """An IPv4 CIDR block inside one of the RFC 1918 blocks, host bits zero."""
    try:
        network = ipaddress.ip_network(value)
    except ValueError:
        raise ValueError("expected an IPv4 CIDR block such as 10.20.0.0/16 (host bits zero)") from None
    if network.version != 4 or not any(network.subnet_of(block) for block in PRIVATE_BLOCKS):  # type: ignore[arg-type]
        kind = " (loopback)" if network.is_loopback else " (link-local)" if network.is_link_local else ""
        raise ValueError(
            f"expected a routable private IPv4 CIDR block inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16{kind}"
        )
    return value


PrivateCidr = Annotated[StrictStr, AfterValidator(private_cidr)]

_ARM_ID = (
    r"/subscriptions/(?P<subscription>[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12})"
    r"/resourceGroups/(?P<group>[-\w.()]{1,90})/providers/"
)


def resource_id_pattern(resource_type: str) -> re.Pattern[str]:
    """The ARM id of a resource of `resource_type` (`Microsoft.Network/virtualNetworks/subnets`):
    each type segment followed by a name. Provider namespaces and types compare case-insensitively
    in ARM, so they match in any case; the names stay as written."""
    namespace, *types = resource_type.split("/")
    segments = "".join(
        rf"/(?ai:{re.escape(kind)})/(?P<{re.sub(r'[^A-Za-z]', '', kind)}>[^/]+)" for kind in types
    )
    return re.compile(_ARM_ID + rf"(?ai:{re.escape(namespace)})" + segments)


def typed_resource_id(resource_type: str):
    """A validator of the id of a resource of `resource_type`."""
    pattern = resource_id_pattern(resource_type)
    shape = "/subscriptions/<guid>/resourceGroups/<group>/providers/" + "/".join(
        [resource_type.split("/")[0]] + [f"{kind}/<name>" for kind in resource_type.split("/")[1:]]
    )

    def validate(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"expected the id of a {resource_type}: {shape}")
        return value

    return validate


_ZONE_ID = resource_id_pattern("Microsoft.Network/privateDnsZones")


def zone_id_problems(zone_ids: dict[str, str], key: str = "dnsZoneIds") -> list[str]:
    """Private DNS zone name -> the id of that zone: each id must be a Microsoft.Network/
    privateDnsZones id whose zone name is the key (DNS names compare case-insensitively), so an
    id of another zone, or of no zone, is refused. One line per wrong id, named by its key path."""
    problems = []
    for zone, zone_id in sorted(zone_ids.items()):
        match = _ZONE_ID.fullmatch(zone_id)
        if not match or match["privateDnsZones"].lower() != zone.lower():
            problems.append(
                f"{key}.{zone}: got {zone_id!r}; expected the id of private DNS zone {zone} "
                f"(/subscriptions/<guid>/resourceGroups/<group>/providers/Microsoft.Network/privateDnsZones/{zone})"
            )
    return problems
