"""Findings of the estate verifier, and the rules they cite (defined in docs/security-model.md, section O)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

RULES = {
    "EV-1": "an identity that runs a stack lacks an action a planned resource needs at its own scope",
    "EV-2": "a deployer lacks a linked action on a scope a planned resource references",
    "EV-3": "a planned role assignment is outside what the deployer's ABAC condition allows",
    "EV-4": "an identity lacks the Microsoft Graph permission its Entra objects need",
    "EV-5": "an identity cannot read or write the state, or use the secrets key",
    "EV-6": "a pipeline job uses an environment or service connection that nothing creates",
    "EV-7": "a stack a pipeline deploys has no identity or no state",
    "EV-8": "a pipeline deploys a stack before a stack it references",
    "EV-9": "a stack is not deployed, previewed and drift-checked by the pipelines",
    "EV-10": "a private DNS zone link that overlaps or takes over the landing zone's resolution",
    "EV-11": "Azure Monitor private link scopes that capture a DNS namespace they do not own",
    "EV-12": "a use on the delivery path has no network path to the service it needs",
    "EV-13": "a private registry whose storage or container registry has no private endpoint",
    "EV-14": "a compute identity has no data role on storage that takes no shared keys",
    "EV-15": "a subscription is not registered for a resource provider its planned resources need, or is for one they don't",
}
"""Rule id -> what it finds. Each is a row of docs/security-model.md section O, with its source."""


@dataclass(frozen=True, order=True)
class Finding:
    rule: str
    stack: str
    message: str
    resource: str = ""
    identity: str = ""
    scope: str = ""
    action: str = ""

    def to_json(self) -> dict[str, str]:
        return asdict(self)

    @property
    def line(self) -> str:
        return f"{self.message} [{self.rule}]"

    @property
    def key(self) -> str:
        """What identifies the finding across runs (expected-findings files): rule, stack and message."""
        return f"{self.rule} {self.stack}: {self.message}"
