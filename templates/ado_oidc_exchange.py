"""A loopback token endpoint that gives pulumi-azure-native a fresh Azure DevOps OIDC token on every
request, so a `pulumi up` longer than the token's ten minutes keeps signing in (review-3 R3).

Why it exists. The three providers of a stage read different things (each cited from its source):

- pulumi-azuread (hashicorp/terraform-provider-azuread internal/provider/provider.go@v3.8.0
  L192-211, 342-355; go-azure-sdk sdk/auth/auth.go L95-108 and ado_pipeline_oidc_authorizer.go
  L81-128) and pulumi-azuredevops (microsoft/terraform-provider-azuredevops azuredevops/provider.go
  @v1.14.0 L302-331, 403-437; entrauth aztfauth.go L166-200) request a new token from Azure DevOps
  themselves when given the service connection id, `SYSTEM_ACCESSTOKEN` and the request URL. A
  static `ARM_OIDC_TOKEN` takes precedence over that (auth.go L77), so the template leaves it unset.
- pulumi-azure-native (pulumi/pulumi-azure-native provider/pkg/provider/auth_azidentity.go
  `newOidcCredential`, `getOidcTokenExchangeAssertion`, `readAuthConfig`) takes a static token, a
  token file read once, or GitHub's exchange: `GET <oidcRequestUrl>&audience=...` with a bearer
  token, answer `{"value": ...}`, from `ACTIONS_ID_TOKEN_REQUEST_URL`/`_TOKEN`. Azure DevOps's
  endpoint is a `POST ...?api-version=7.1&serviceConnectionId=...` answering `{"oidcToken": ...}`
  (ado_pipeline_oidc_authorizer.go L81-128), so azure-native cannot call it directly.

This server answers on 127.0.0.1, asking Azure DevOps on each call: GET in GitHub's shape
(`{"value"}`) and POST in Azure DevOps's (`{"oidcToken"}`), so every provider version that finds
its URL in ACTIONS_ID_TOKEN_REQUEST_URL gets a fresh token whichever exchange it speaks. Callers
authenticate with the job's own SYSTEM_ACCESSTOKEN, the token Azure DevOps itself asks for, so
the adapter gives no process more than it already has; it never logs a token.

Some azure-native versions read ARM_OIDC_REQUEST_URL/ARM_OIDC_REQUEST_TOKEN before the ACTIONS_
pair (provider/pkg/provider auth code, `oidcConfig`), so the template leaves ARM_OIDC_REQUEST_URL
unset and sets both request tokens to the job token: every (URL, token) pair a provider can pick
is then consistent.

Usage (templates/pulumi-up.yml): `python templates/ado_oidc_exchange.py --env-file F &`, wait for
F, then `source F` (it sets ACTIONS_ID_TOKEN_REQUEST_URL; the token is the job's).
Needs SYSTEM_OIDCREQUESTURI, SYSTEM_ACCESSTOKEN and AZURESUBSCRIPTION_SERVICE_CONNECTION_ID (set by
AzureCLI@2 for its service connection: microsoft/azure-pipelines-tasks
Tasks/AzureCLIV2/azureclitask.ts `loginAzureRM`).
"""

import argparse
import hmac
import json
import os
import sys
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API_VERSION = "7.1"
"""go-azure-sdk sdk/auth/ado_pipeline_oidc_authorizer.go `adoPipelineOIDCAPIVersion`."""
DEFAULT_AUDIENCE = "api://AzureADTokenExchange"
REQUIRED = ("SYSTEM_OIDCREQUESTURI", "SYSTEM_ACCESSTOKEN", "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID")


def ado_token_url(request_uri: str, service_connection_id: str, audience: str) -> str:
    """The Azure DevOps request URL, with the query go-azure-sdk adds (api-version,
    serviceConnectionId, audience)."""
    parts = urllib.parse.urlsplit(request_uri)
    query = urllib.parse.parse_qsl(parts.query)
    names = {name for name, _ in query}
    for name, value in (
        ("api-version", API_VERSION),
        ("serviceConnectionId", service_connection_id),
        ("audience", audience),
    ):
        if name not in names:
            query.append((name, value))
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def fetch_ado_token(request_uri: str, access_token: str, service_connection_id: str, audience: str) -> str:
    request = urllib.request.Request(
        ado_token_url(request_uri, service_connection_id, audience),
        method="POST",
        data=b"",
        headers={
            "Accept": "application/json",
            "Content-Type": "application/json",
            "Authorization": f"Bearer {access_token}",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["oidcToken"]


def handler(environment: dict[str, str]) -> type[BaseHTTPRequestHandler]:
    expected = f"Bearer {environment['SYSTEM_ACCESSTOKEN']}".encode()

    class Exchange(BaseHTTPRequestHandler):
        def _answer(self, field: str) -> None:
            if not hmac.compare_digest(self.headers.get("Authorization", "").encode(), expected):
                self.send_error(401)
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
            try:
                token = fetch_ado_token(
                    environment["SYSTEM_OIDCREQUESTURI"],
                    environment["SYSTEM_ACCESSTOKEN"],
                    environment["AZURESUBSCRIPTION_SERVICE_CONNECTION_ID"],
                    query.get("audience", DEFAULT_AUDIENCE),
                )
            except Exception as error:  # the caller sees a failed exchange, never a stale token
                self.send_error(502, f"Azure DevOps OIDC request failed: {type(error).__name__}")
                return
            body = json.dumps({field: token}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            """GitHub's exchange (pulumi-azure-native, go-azure-sdk's GitHub authorizer)."""
            self._answer("value")

        def do_POST(self):
            """Azure DevOps's exchange (go-azure-sdk's Azure DevOps authorizer)."""
            self._answer("oidcToken")

        def log_message(self, format, *args):  # no request logs
            pass

    return Exchange


def serve(environment: dict[str, str], env_file: str) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler(environment))
    url = f"http://127.0.0.1:{server.server_address[1]}/token?source=ado"
    partial = f"{env_file}.partial"
    with open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
        out.write(f"export ACTIONS_ID_TOKEN_REQUEST_URL='{url}'\n")
    os.replace(partial, env_file)  # the step waits for the whole file, never half of it
    server.serve_forever()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description="Loopback OIDC token exchange for pulumi-azure-native on Azure DevOps."
    )
    parser.add_argument(
        "--env-file", required=True, help="where to write the ACTIONS_ID_TOKEN_REQUEST_URL export"
    )
    args = parser.parse_args(argv)
    missing = [name for name in REQUIRED if not os.environ.get(name)]
    if missing:
        print(
            f"ado_oidc_exchange: {', '.join(missing)} not set; run it inside AzureCLI@2 with a workload-identity "
            "service connection and SYSTEM_ACCESSTOKEN: $(System.AccessToken) in the step's env",
            file=sys.stderr,
        )
        return 2
    serve({name: os.environ[name] for name in REQUIRED}, args.env_file)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
