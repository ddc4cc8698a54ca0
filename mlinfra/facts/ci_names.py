"""Naming rules of the Azure DevOps and GitHub objects a stage's CI names or creates (ADO-7, GH-15).

Each rule is data with its source. The config models apply them to the names the stack file
supplies, and `config` applies them to the names derived from the stack name, so a name the
service would refuse is a config error before anything is registered, not a failure halfway
through `pulumi up`.
"""

import re
from dataclasses import dataclass

_CONTROL = "".join(chr(code) for code in range(32))
"""ASCII control characters, which no Azure DevOps name may hold (naming-restrictions, "General
considerations": ASCII 1-31; 0 ends a string anywhere)."""

WINDOWS_RESERVED = (
    "PRN",
    "NUL",
    "CON",
    "AUX",
    *(f"COM{number}" for number in range(1, 11)),
    *(f"LPT{number}" for number in range(1, 10)),
)


@dataclass(frozen=True)
class ServiceNameRule:
    """What a service accepts as the name of one kind of object."""

    kind: str
    """The object, as the messages name it (`Azure DevOps project name`)."""
    max_length: int
    forbidden: str = ""
    """Printable characters the name may not hold."""
    pattern: str | None = None
    """A regular expression the whole name must match, for rules stated as an allow-list."""
    no_control: bool = True
    not_first: str = ""
    not_last: str = ""
    reserved: tuple[str, ...] = ()
    """Whole names refused, compared case-insensitively."""
    reserved_prefixes: tuple[str, ...] = ()
    """Prefixes refused, compared case-insensitively."""
    allowed: str = ""
    """The rule in words, for messages (what the pattern allows)."""

    def describe(self) -> str:
        parts = [f"at most {self.max_length} characters"]
        if self.allowed:
            parts.append(self.allowed)
        if self.forbidden:
            parts.append("none of " + " ".join(self.forbidden) + " ")
        if self.no_control:
            parts.append("no control characters")
        if self.not_first:
            parts.append("not starting with " + " or ".join(repr(char) for char in self.not_first))
        if self.not_last:
            parts.append("not ending with " + " or ".join(repr(char) for char in self.not_last))
        if self.reserved:
            parts.append("not a reserved name (" + ", ".join(self.reserved[:6]) + ", …)")
        if self.reserved_prefixes:
            parts.append("not starting with " + ", ".join(self.reserved_prefixes))
        return f"{self.kind}: " + ", ".join(parts)

    def problem(self, name: str) -> str | None:
        """What is wrong with `name`, or None when the service accepts it."""
        found = None
        if not name:
            found = "it is empty"
        elif len(name) > self.max_length:
            found = f"it is {len(name)} characters"
        elif self.pattern and not re.fullmatch(self.pattern, name):
            found = "it has a character outside the allowed set"
        elif bad := sorted({char for char in name if char in self.forbidden}):
            found = "it has " + " ".join(repr(char) for char in bad)
        elif self.no_control and any(char in _CONTROL for char in name):
            found = "it has a control character"
        elif name[0] in self.not_first or name[-1] in self.not_last:
            found = f"it starts or ends with {name[0] if name[0] in self.not_first else name[-1]!r}"
        elif name.upper() in (reserved.upper() for reserved in self.reserved):
            found = "it is a reserved name"
        elif any(name.upper().startswith(prefix.upper()) for prefix in self.reserved_prefixes):
            found = "it starts with a reserved prefix"
        return None if found is None else f"{found}; expected {self.describe()}"

    def validate(self, name: str) -> str:
        """Pydantic after-validator: raise the problem as a ValueError."""
        if problem := self.problem(name):
            raise ValueError(problem)
        return name


# --- Azure DevOps: MicrosoftDocs/azure-devops-docs docs/organizations/settings/naming-restrictions.md

ADO_PROJECT = ServiceNameRule(
    "Azure DevOps project name",
    64,
    forbidden="/:\\~&%;@'\"?<>|#$*}{,+=[]",
    not_first="_.",
    not_last=".",
    reserved=(
        *WINDOWS_RESERVED,
        "SERVER",
        "SignalR",
        "DefaultCollection",
        "Web",
        "App_Browsers",
        "App_code",
        "App_Data",
        "App_GlobalResources",
        "App_LocalResources",
        "App_Themes",
        "App_WebResources",
        "bin",
        "web.config",
    ),
)
"""naming-restrictions.md, "Project names"."""

ADO_SECURITY_GROUP = ServiceNameRule(
    "Azure DevOps security group name", 256, forbidden='"/\\[]:|<>+=;?*,', not_last="."
)
"""naming-restrictions.md, "Security groups" (the approvers are project groups)."""

ADO_ENVIRONMENT = ServiceNameRule("Azure DevOps environment name", 127, forbidden=',^"/\\[]:|<>+=;?*')
"""microsoft/terraform-provider-azuredevops azuredevops/internal/service/taskagent/validate/
environment_name.go (`^[^,^"^/^\\^\\[^\\]^:^|^<^>^+^=^;^?^*]{0,127}$`: inside the class every `^`
is literal, so `^` is refused too); control characters from naming-restrictions.md."""

ADO_SERVICE_CONNECTION = ServiceNameRule("Azure DevOps service connection name", 80)
"""Only sources: the provider's `validation.StringIsNotWhiteSpace` (serviceendpoint/commons.go)
and naming-restrictions.md's control characters. The 80-character cap is this project's."""

ADO_VARIABLE_GROUP = ServiceNameRule("Azure DevOps variable group name", 255)
"""Only sources: the provider's `validation.StringIsNotWhiteSpace`
(taskagent/resource_variable_group.go) and naming-restrictions.md's control characters. The
255-character cap is this project's."""

ADO_VARIABLE = ServiceNameRule(
    "Azure Pipelines variable name",
    255,
    pattern=r"[A-Za-z0-9._]+",
    allowed="letters, digits, '.' and '_'",
    reserved_prefixes=("endpoint", "input", "secret", "path", "securefile"),
)
"""MicrosoftDocs/azure-devops-docs docs/pipelines/process/variables.md, "Variable naming
restrictions" (prefixes refused regardless of case); the length cap is this project's."""

RUNNER_GROUP = ServiceNameRule(
    "runner group or agent pool name", 80, pattern=r"[^\s:]+", allowed="no whitespace and no ':'"
)
"""Only sources: the azuredevops provider's `validation.StringIsNotWhiteSpace`
(taskagent/resource_agent_pool.go) and naming-restrictions.md's control characters; GitHub's
provider checks nothing. No whitespace or ':' keeps the name one YAML scalar (`runs-on`, `pool`);
the 80-character cap is this project's."""

# --- GitHub

GITHUB_ENVIRONMENT = ServiceNameRule("GitHub environment name", 255, no_control=False)
"""github/docs content/actions/how-tos/deploy/configure-and-manage-deployments/manage-environments.md:
"Environment names are not case sensitive. An environment name may not exceed 255 characters"."""

GITHUB_SECRET = ServiceNameRule(
    "GitHub secret or variable name",
    255,
    pattern=r"[a-zA-Z_][a-zA-Z0-9_]*",
    allowed="letters, digits and '_', not starting with a digit",
    no_control=False,
    reserved_prefixes=("GITHUB_",),
)
"""integrations/terraform-provider-github github/util.go `validateSecretNameFunc` (used for
environment secrets and variables): `^[a-zA-Z_][a-zA-Z0-9_]*$`, no `GITHUB_` prefix in any case.
The length cap is this project's."""
