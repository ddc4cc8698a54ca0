"""The secret-key allow-list is the providers' own: `SECRET_KEYS` is read from
`mlinfra/facts/data/provider_config_secrets.json`, an extract of each provider's Pulumi schema
(`config.variables`, `secret: true`) at the pinned versions, and the extract is checked against
the provider SDKs installed from uv.lock (issue 14, item 1).
"""

import importlib.util
import json
import re
from pathlib import Path

import pytest

from mlinfra.config import config_guards
from tests.conftest import PROJECT_DIR

EXTRACT = json.loads(config_guards.PROVIDER_CONFIG_FILE.read_text(encoding="utf-8"))
PROVIDERS = ("azure-native", "azuread", "github", "azuredevops")


def sdk_dir(provider: str) -> Path:
    spec = importlib.util.find_spec(f"pulumi_{provider.replace('-', '_')}")
    assert spec and spec.origin
    return Path(spec.origin).parent


def locked_version(provider: str) -> str:
    lock = (PROJECT_DIR / "uv.lock").read_text()
    found = re.search(rf'^name = "pulumi-{re.escape(provider)}"\nversion = "([^"]+)"', lock, re.MULTILINE)
    assert found, provider
    return found.group(1)


def sdk_variables(provider: str) -> set[str]:
    """The config keys the generated SDK reads (`config/vars.py`: one getter per schema variable)."""
    text = (sdk_dir(provider) / "config" / "vars.py").read_text()
    return set(re.findall(r"__config__\.get\w*\('(\w+)'\)", text))


def sdk_secret_inputs(provider: str) -> set[str]:
    """The provider inputs the generated SDK wraps in `pulumi.Output.secret` (`provider.py`): the
    code generator does that for exactly the schema's `secret: true` properties."""
    text = (sdk_dir(provider) / "provider.py").read_text()
    snake = re.findall(
        r'__props__\.__dict__\["(\w+)"\] = None if \w+ is None else pulumi\.Output\.secret', text
    )
    return {re.sub(r"_(\w)", lambda match: match.group(1).upper(), name) for name in snake}


def test_the_extract_covers_the_four_providers():
    assert tuple(EXTRACT) == PROVIDERS
    assert set(PROVIDERS) == set(config_guards.PROVIDER_NAMESPACES) - {"pulumi"}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_extract_is_of_the_locked_version(provider):
    source = EXTRACT[provider]["source"]
    assert source["package"] == f"pulumi-{provider}=={locked_version(provider)}"
    installed = json.loads((sdk_dir(provider) / "pulumi-plugin.json").read_text())["version"]
    assert installed == locked_version(provider)


@pytest.mark.parametrize("provider", ["azuread", "github", "azuredevops"])
def test_the_extract_records_the_schema_it_was_read_from(provider):
    """pulumi/pulumi-azuread, pulumi/pulumi-github and pulumi/pulumi-azuredevops:
    provider/cmd/pulumi-resource-<name>/schema.json, `config.variables`, at the recorded commit."""
    source = EXTRACT[provider]["source"]
    assert source["repository"] == f"pulumi/pulumi-{provider}"
    assert source["schema"] == f"provider/cmd/pulumi-resource-{provider}/schema.json"
    assert re.fullmatch(r"[0-9a-f]{40}", source["commit"])


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_extract_names_every_config_variable_of_the_installed_sdk(provider):
    assert set(EXTRACT[provider]["variables"]) == sdk_variables(provider)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_extract_marks_secret_what_the_installed_sdk_keeps_secret(provider):
    """pulumi/pulumi-azure-native provider/pkg/gen/schema.go declares the config variables and the
    provider inputs with the same `Secret: true` flags; the other schemas likewise. Object-typed
    variables with a secret property (`github:appAuth`) are not wrapped whole by the SDK."""
    marked = {name for name, variable in EXTRACT[provider]["variables"].items() if variable["secret"]}
    assert marked == sdk_secret_inputs(provider)


def test_secret_keys_are_exactly_the_schema_secret_keys():
    """azure-native (provider/pkg/gen/schema.go, SDK 3.29.0): clientId, clientSecret,
    clientCertificatePassword. azuread (provider/cmd/pulumi-resource-azuread/schema.json): the same
    three. github (provider/cmd/pulumi-resource-github/schema.json): token, and appAuth, whose
    `pemFile` (types `github:config/appAuth:appAuth`) is secret. azuredevops
    (provider/cmd/pulumi-resource-azuredevops/schema.json): personalAccessToken, clientSecret,
    clientCertificate, clientCertificatePassword, oidcToken."""
    assert {
        "azure-native:clientId",
        "azure-native:clientSecret",
        "azure-native:clientCertificatePassword",
        "azuread:clientId",
        "azuread:clientSecret",
        "azuread:clientCertificatePassword",
        "github:token",
        "github:appAuth",
        "azuredevops:personalAccessToken",
        "azuredevops:clientSecret",
        "azuredevops:clientCertificate",
        "azuredevops:clientCertificatePassword",
        "azuredevops:oidcToken",
    } == config_guards.SECRET_KEYS
    assert config_guards.schema_secret_keys(EXTRACT) == config_guards.SECRET_KEYS


def test_a_variable_with_a_secret_property_counts_as_secret():
    extract = {
        "p": {"variables": {"auth": {"secret": False, "secretProperties": ["pem"]}, "url": {"secret": False}}}
    }
    assert config_guards.schema_secret_keys(extract) == {"p:auth"}


@pytest.mark.parametrize("key", ["azuredevops:oidcToken", "azure-native:clientId"])
def test_a_schema_secret_may_be_secure(key):
    assert config_guards.secret_problems({key}) == []


@pytest.mark.parametrize("key", ["azure-native:oidcRequestUrl", "azuread:tenantId", "github:owner"])
def test_a_provider_key_the_schema_keeps_plain_may_not_be_secure(key):
    assert key.split(":", 1)[1] in EXTRACT[key.split(":", 1)[0]]["variables"]
    (problem,) = config_guards.secret_problems({key})
    assert problem.startswith(f"{key}: got a secure value")


def test_the_deploying_guide_lists_the_secret_keys():
    readme = (PROJECT_DIR / "docs" / "deploying.md").read_text()
    section = readme[readme.index("Secrets: this project reads no secret config.") :].split("\n\n", 1)[0]
    assert set(re.findall(r"`([\w-]+:\w+)`", section)) == config_guards.SECRET_KEYS
