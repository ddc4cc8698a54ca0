"""Azure DevOps runs longer than the OIDC token's ten minutes keep signing in (review-3 R3).

What each consumer reads, from its source:
- azuread: `ado_pipeline_service_connection_id` from ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID,
  `oidc_request_url` from ARM_OIDC_REQUEST_URL, then ACTIONS_ID_TOKEN_REQUEST_URL, then
  SYSTEM_OIDCREQUESTURI, and `oidc_request_token` from ARM_OIDC_REQUEST_TOKEN, then
  ACTIONS_ID_TOKEN_REQUEST_TOKEN, then SYSTEM_ACCESSTOKEN (hashicorp/terraform-provider-azuread
  internal/provider/provider.go@v3.8.0 L192-211). A static OIDC token is tried before the Azure
  DevOps authorizer (vendored go-azure-sdk sdk/auth/auth.go L77, then L95). That authorizer POSTs
  `<url>?api-version=7.1&serviceConnectionId=...&audience=...` and reads `oidcToken`
  (sdk/auth/ado_pipeline_oidc_authorizer.go L81-128) whenever it needs a new assertion.
- azuredevops: the same variables (microsoft/terraform-provider-azuredevops azuredevops/provider.go
  @v1.14.0 L302-331). With a service connection id its token request is azidentity's
  AzurePipelinesCredential with the request token as the job token (vendor/github.com/Azure/
  entrauth/aztfauth/aztfauth.go L166-200, entrauth.go L160).
- azure-native: a static token, a token file read once, or GitHub's exchange (GET, `{"value"}`)
  from ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN; some versions try ARM_OIDC_REQUEST_URL/_TOKEN first
  (pulumi/pulumi-azure-native provider/pkg/provider auth code: `readAuthConfig`, `oidcConfig`).
  templates/ado_oidc_exchange.py answers both exchanges from Azure DevOps.
- az CLI (the Pulumi CLI's state backend and secrets provider): AzureCLI@2 `keepAzSessionActive`
  logs in again every 8 minutes, "2 minutes before IdToken expiry" (microsoft/azure-pipelines-tasks
  Tasks/AzureCLIV2/azureclitask.ts `AZ_SESSION_REFRESH_INTERVAL_MS`). AzureCLI@2 also sets
  AZURESUBSCRIPTION_SERVICE_CONNECTION_ID for its connection (`loginAzureRM`).
"""

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SHIM = ROOT / "templates" / "ado_oidc_exchange.py"


def azure_cli_steps(node):
    if isinstance(node, dict):
        if str(node.get("task", "")).startswith("AzureCLI@2"):
            yield node
        for value in node.values():
            yield from azure_cli_steps(value)
    elif isinstance(node, list):
        for item in node:
            yield from azure_cli_steps(item)


@pytest.mark.parametrize("path", ["templates/pulumi-up.yml", "azure-pipelines-drift.yml"])
def test_pulumi_steps_refresh_every_providers_token(path):
    # The step that runs pulumi (the doctor's step before it only reads, within one token's life).
    (step,) = [
        s
        for s in azure_cli_steps(yaml.safe_load((ROOT / path).read_text()))
        if "pulumi " in s["inputs"]["inlineScript"]
    ]
    inputs, script = step["inputs"], step["inputs"]["inlineScript"]
    assert inputs["keepAzSessionActive"] is True and inputs["addSpnToEnvironment"] is True
    assert step["env"]["SYSTEM_ACCESSTOKEN"] == "$(System.AccessToken)"
    # A static token would win over refreshing in azuread and expire after ten minutes.
    assert "ARM_OIDC_TOKEN=" not in script and "ARM_OIDC_TOKEN_FILE_PATH" not in script
    assert "export ARM_USE_OIDC=true" in script
    assert 'ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID="${AZURESUBSCRIPTION_SERVICE_CONNECTION_ID:?' in script
    # Both request tokens are the job token; the only URL is the adapter's (ARM_OIDC_REQUEST_URL
    # unset: some azure-native versions would read it first), so every pair a provider picks fits.
    assert 'ARM_OIDC_REQUEST_TOKEN="${SYSTEM_ACCESSTOKEN:?}"' in script
    assert 'ACTIONS_ID_TOKEN_REQUEST_TOKEN="${SYSTEM_ACCESSTOKEN:?}"' in script
    assert "ARM_OIDC_REQUEST_URL" not in script.replace("# ARM_OIDC_REQUEST_URL stays unset", "")
    # azure-native's exchange is the loopback adapter, started before pulumi runs.
    assert "templates/ado_oidc_exchange.py --env-file" in script
    assert script.index('source "$exchange_env"') < script.index("pulumi login")


class FakeAzureDevOps(BaseHTTPRequestHandler):
    """The job's OIDC endpoint: POST with the job token, a new token each time."""

    issued = 0

    def do_POST(self):
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
        if self.headers.get("Authorization") != "Bearer job-access-token" or query != {
            "api-version": "7.1",
            "serviceConnectionId": "sc-123",
            "audience": "api://AzureADTokenExchange",
        }:
            self.send_error(403)
            return
        FakeAzureDevOps.issued += 1
        body = json.dumps({"oidcToken": f"ado-token-{FakeAzureDevOps.issued}"}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


@pytest.fixture
def azure_devops():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeAzureDevOps)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/oidctoken"
    server.shutdown()


def test_the_adapter_answers_githubs_exchange_with_a_fresh_azure_devops_token(azure_devops, tmp_path):
    env_file = tmp_path / "exchange.env"
    environment = {
        **os.environ,
        "SYSTEM_OIDCREQUESTURI": azure_devops,
        "SYSTEM_ACCESSTOKEN": "job-access-token",
        "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID": "sc-123",
    }
    process = subprocess.Popen([sys.executable, str(SHIM), "--env-file", str(env_file)], env=environment)
    try:
        for _ in range(100):
            if env_file.exists():
                break
            time.sleep(0.05)
        exports = dict(
            line.removeprefix("export ").split("=", 1) for line in env_file.read_text().splitlines()
        )
        url = exports["ACTIONS_ID_TOKEN_REQUEST_URL"].strip("'")
        assert set(exports) == {"ACTIONS_ID_TOKEN_REQUEST_URL"}  # no token written to disk
        assert url.startswith("http://127.0.0.1:") and oct(env_file.stat().st_mode & 0o777) == "0o600"

        def exchange(bearer: str, method: str = "GET") -> dict:
            # GitHub's shape (azure-native): GET <url>&audience=...; Azure DevOps's (go-azure-sdk):
            # POST <url>&api-version=7.1&serviceConnectionId=...&audience=...
            query = "&audience=api%3A%2F%2FAzureADTokenExchange"
            if method == "POST":
                query += "&api-version=7.1&serviceConnectionId=sc-123"
            request = urllib.request.Request(
                url + query,
                method=method,
                data=b"" if method == "POST" else None,
                headers={"Authorization": f"Bearer {bearer}"},
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.load(response)

        assert exchange("job-access-token") == {"value": "ado-token-1"}
        assert exchange("job-access-token") == {"value": "ado-token-2"}  # never a cached, expiring token
        assert exchange("job-access-token", "POST") == {"oidcToken": "ado-token-3"}
        with pytest.raises(urllib.error.HTTPError) as refused:
            exchange("guess")
        assert refused.value.code == 401
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_fails_when_not_inside_an_azure_cli_step(tmp_path):
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SYSTEM_OIDCREQUESTURI", "SYSTEM_ACCESSTOKEN", "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID"}
    }
    result = subprocess.run(
        [sys.executable, str(SHIM), "--env-file", str(tmp_path / "e")],
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert (
        "SYSTEM_OIDCREQUESTURI, SYSTEM_ACCESSTOKEN, AZURESUBSCRIPTION_SERVICE_CONNECTION_ID not set"
        in result.stderr
    )
