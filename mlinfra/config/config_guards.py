"""Checks over the whole config the engine hands the program, before any section is parsed:
namespaces, secrets, the stage a stack file states, and placeholders a real run must not deploy.

Each returns problems as `<namespace>:<key>: ...` lines; `config.load_stage_config` reports
them together with the field and cross-section problems.
"""

import difflib
import json
import re
from pathlib import Path
from typing import Any

from pulumi.runtime import config as runtime_config
from pulumi.runtime import settings
from pulumi.runtime.mocks import MockMonitor

from mlinfra.config.stage_catalog import NAMESPACE, PROJECT_FILE, project_document

PROVIDER_NAMESPACES = ("azure-native", "azuread", "github", "azuredevops", "pulumi")
"""Namespaces of the providers the project uses, and the engine's own (`pulumi:`)."""

PROVIDER_CONFIG_FILE = Path(__file__).resolve().parents[1] / "facts" / "data" / "provider_config_secrets.json"
"""Each provider's config variables and which its Pulumi schema marks secret, extracted at the
pinned versions (the file records its sources; tests/test_provider_secrets.py checks it against
the installed SDKs)."""


def schema_secret_keys(extract: dict[str, Any]) -> frozenset[str]:
    """`<provider>:<variable>` for each variable the schema marks secret, or whose object value
    has a secret property (`github:appAuth.pemFile`): the engine marks the whole key secure."""
    return frozenset(
        f"{provider}:{name}"
        for provider, entry in extract.items()
        for name, variable in entry["variables"].items()
        if variable["secret"] or variable.get("secretProperties")
    )


SECRET_KEYS = schema_secret_keys(json.loads(PROVIDER_CONFIG_FILE.read_text(encoding="utf-8")))
"""The only keys that may hold a `secure:` value: the provider config the providers' schemas keep
secret. The program reads no secret of its own; any other secure value would be decrypted into a
plaintext tag, name or variable."""

STAGE_KEY = "stage"
"""`mlinfra:stage`: the stage a stack file belongs to, so a file copied from another stage is refused."""

PLACEHOLDER_GUID = re.compile(r"00000000-0000-0000-0000-[0-9a-fA-F]{12}")
"""The shape of every id the shipped files carry in place of a real one (first 20 hex digits zero)."""
PLACEHOLDER_NAMES = ("contoso",)
"""Microsoft's fictitious organisation: GitHub owners and Azure DevOps organisations in the samples."""


def did_you_mean(value: str, choices: list[str]) -> str:
    """`; did you mean <closest>?` for a misspelt name, or nothing."""
    close = difflib.get_close_matches(value, choices, n=1)
    return f"; did you mean {close[0]}?" if close else ""


def short(text: str, limit: int = 60) -> str:
    """`text` cut to `limit` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown(value: Any, limit: int = 200) -> str:
    """A received value as JSON, shortened."""
    return short(json.dumps(value, default=str, ensure_ascii=False), limit)


def all_config() -> dict[str, Any]:
    """Every config value the engine (or the planner's mocks) hands the program."""
    return {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}


def secret_keys() -> set[str]:
    """Keys whose value was `secure:` in the stack file: from the language host's environment
    (`PULUMI_CONFIG_SECRET_KEYS`) or set beside the config (automation API, planner)."""
    return set(runtime_config.get_config_secret_keys_env()) | set(runtime_config._SECRET_KEYS.get())


def namespace_problems(values: dict[str, Any], project: str, own: str = NAMESPACE) -> list[str]:
    """A key under a namespace nobody reads (`mlinfa:tags`) would be silently ignored. `own` is the
    namespace the program reads its settings from (`mlinfra`; the bootstrap project's own name)."""
    allowed = {own, project, *PROVIDER_NAMESPACES}
    problems = []
    for key in sorted(values):
        namespace = key.split(":", 1)[0] if ":" in key else ""
        if namespace not in allowed:
            close = difflib.get_close_matches(namespace, sorted(allowed), n=1)
            hint = f"; did you mean {close[0]}:{key.split(':', 1)[-1]}?" if close else ""
            problems.append(
                f"{short(key)}: unknown config namespace {shown(namespace, 30)}; expected {own} or a "
                f"provider's: {', '.join(PROVIDER_NAMESPACES)}{short(hint, 80)}"
            )
    return problems


def plaintext_secret_problems(values: dict[str, Any], keys: set[str]) -> list[str]:
    """A provider credential (a key its provider's schema marks secret, SECRET_KEYS) written in
    plain text: a committed stack file would publish it. The engine passes a `secure:` value's
    key in the secret keys; any other value of such a key was plain text (PU-13)."""
    return [
        f"{short(key)}: a provider credential in plain text (its provider's schema marks it secret); "
        f"encrypt it with `pulumi config set --secret {short(key)}`, or leave it out of the stack file and "
        "let the provider read it from its environment variable"
        for key in sorted(set(values) & SECRET_KEYS - keys)
    ]


def secret_problems(keys: set[str]) -> list[str]:
    return [
        f"{short(key)}: got a secure value; only provider credentials may be secret "
        f"({', '.join(sorted(SECRET_KEYS))}): the program would decrypt it into plaintext, so set it in plain text"
        for key in sorted(keys - SECRET_KEYS)
    ]


def _project_sets_stage() -> bool:
    """Pulumi.yaml's config is applied to every stack, so a stage set there would vouch for any file."""
    if not PROJECT_FILE.is_file():
        return False
    config = project_document(PROJECT_FILE).get("config") or {}
    return isinstance(config, dict) and any(key in (f"{NAMESPACE}:{STAGE_KEY}", STAGE_KEY) for key in config)


def stage_problems(values: dict[str, Any], stage: str, stack: str) -> list[str]:
    key = f"{NAMESPACE}:{STAGE_KEY}"
    if _project_sets_stage():
        return [f"{key}: set in {PROJECT_FILE.name}; each stack file states its own stage: remove it there"]
    stated = values.get(key)
    if stated is None:
        return [
            f"{key}: required but not set; expected {json.dumps(stage)}, the stage of stack {json.dumps(stack)}"
        ]
    if stated != stage:
        return [
            f"{key}: got {shown(stated)}; stack {json.dumps(stack)} is stage {json.dumps(stage)}: this stack file "
            "belongs to another stage (copied?); fix the stack name or the file"
        ]
    return []


def under_mock_engine() -> bool:
    """True under the offline planner and the tests (`pulumi.runtime.set_mocks` installs a
    MockMonitor); under `pulumi preview`/`up` the monitor is the engine's gRPC client."""
    return isinstance(settings.get_monitor(), MockMonitor)


def placeholder_problems(values: dict[str, Any]) -> list[str]:
    """Keys still holding a shipped placeholder. Only a real run refuses them: the planner and the
    tests plan the shipped files as they are."""
    if under_mock_engine():
        return []
    found = []
    for key in sorted(values):
        text = str(values[key])
        lowered = text.lower()
        if PLACEHOLDER_GUID.search(text) or any(
            re.search(rf"(^|[\"/.:@]){name}([\"/.]|$)", lowered) for name in PLACEHOLDER_NAMES
        ):
            found.append(key)
    if not found:
        return []
    return [
        f"{short(key)}: still a placeholder (an id 00000000-0000-0000-0000-… or a '{PLACEHOLDER_NAMES[0]}' name); "
        "replace it with your organisation's value (docs/deploying.md, 'Placeholders')"
        for key in found
    ]
