"""No secret in the stack's outputs (PU-2, ST-12, T-30): outputs land in PR comments, logs and
`pulumi stack output`. CrossGuard hands a stack policy the root stack's outputs with secrets
already decrypted (pulumi_policy does not keep the secret mark), so the policy judges names and
values: an output named like a credential, or a value shaped like one, is a violation.
"""

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import StackValidationArgs

from mlinfra_policy.common import stack_policy

STACK = "pulumi:pulumi:Stack"
_SENSITIVE_NAME = re.compile(
    r"(secret|password|passwd|token|credential|connectionstring|sas|accesskey|(^|[a-z])keys?$)", re.IGNORECASE
)
_SENSITIVE_VALUE = re.compile(
    r"(AccountKey=|SharedAccessKey=|SharedAccessSignature=|[?&]sig=|-----BEGIN [A-Z ]*PRIVATE KEY|Password=)",
    re.IGNORECASE,
)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key in value:
            yield from _strings(value[key])
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def _no_secret_outputs(args: StackValidationArgs, production):
    for stack in args.resources:
        if stack.resource_type != STACK:
            continue
        for name in stack.props:
            if _SENSITIVE_NAME.search(name):
                yield f"stack output {name!r} is named like a credential; never export one (PU-2)", stack.urn
            elif any(_SENSITIVE_VALUE.search(text) for text in _strings(stack.props[name])):
                yield f"stack output {name!r} holds a key, SAS or password (PU-2, ST-12)", stack.urn


POLICIES = [
    stack_policy(
        "no-secret-outputs",
        "The stack exports no credential: no key, connection string, password or token (PU-2, ST-12).",
        _no_secret_outputs,
    ),
]
