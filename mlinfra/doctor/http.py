"""The doctor's HTTP client: strictly read-only, live or replayed from recorded responses.

Only GET is sent, plus the POSTs listed in READ_POSTS (documented read operations that ARM
exposes as POST). Any other verb or POST path is refused here, before any I/O."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

READ_POSTS = (
    # Microsoft.Storage checkNameAvailability: a name lookup, creates nothing.
    re.compile(
        r"^https://management\.azure\.com/subscriptions/[^/]+/providers/Microsoft\.Storage/checkNameAvailability\?"
    ),
    # Microsoft.ContainerRegistry checkNameAvailability: a name lookup, creates nothing.
    re.compile(
        r"^https://management\.azure\.com/subscriptions/[^/]+/providers/Microsoft\.ContainerRegistry/checkNameAvailability\?"
    ),
    # Microsoft.KeyVault checkNameAvailability (Vaults_CheckNameAvailability): a name lookup.
    re.compile(
        r"^https://management\.azure\.com/subscriptions/[^/]+/providers/Microsoft\.KeyVault/checkNameAvailability\?"
    ),
)


class WriteRefused(Exception):
    """A request that could change something; doctor never sends one."""


@dataclass(frozen=True)
class Response:
    status: int
    body: dict
    """The JSON answer; a top-level array comes as `{"value": [...]}` (Azure DevOps' Graph lists)."""
    headers: dict[str, str] = field(default_factory=dict)
    """Response headers, names lower-cased (Azure DevOps pages through `x-ms-continuationtoken`)."""


def _body(parsed: object) -> dict:
    return parsed if isinstance(parsed, dict) else {"value": parsed}


def replay_key(method: str, url: str, body: dict | None = None) -> str:
    """The recorded file for a request: `<METHOD>-<sha256(url)[:16]>.json`; a request with a body
    (the checkNameAvailability POSTs, one URL per subscription for every name) hashes the URL, a
    newline and the body's canonical JSON."""
    text = url if body is None else url + "\n" + json.dumps(body, sort_keys=True, separators=(",", ":"))
    return f"{method.upper()}-{hashlib.sha256(text.encode()).hexdigest()[:16]}.json"


def allowed(method: str, url: str) -> bool:
    method = method.upper()
    return method == "GET" or (method == "POST" and any(p.match(url) for p in READ_POSTS))


class Client:
    """Sends (or replays) read requests; `token_for(url)` gives the bearer token, None when absent."""

    def __init__(self, replay: Path | None = None, tokens: dict[str, str] | None = None) -> None:
        self.replay = replay
        self.tokens = tokens or {}

    def request(self, method: str, url: str, body: dict | None = None) -> Response:
        if not allowed(method, url):
            raise WriteRefused(f"doctor is read-only: {method.upper()} {url} refused")
        if self.replay is not None:
            path = self.replay / replay_key(method, url, body)
            if not path.exists():
                return Response(0, {"error": f"no recorded response for {method.upper()} {url}"})
            recorded = json.loads(path.read_text(encoding="utf-8"))
            headers = {str(k).lower(): str(v) for k, v in (recorded.get("headers") or {}).items()}
            return Response(int(recorded["status"]), _body(recorded.get("body") or {}), headers)
        import urllib.error
        import urllib.request

        host = url.split("/")[2]
        token = self.tokens.get(host)
        if token is None:
            return Response(0, {"error": f"no credential for {host}"})
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method.upper())
        req.add_header("Authorization", f"Bearer {token}")
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as reply:
                headers = {k.lower(): v for k, v in reply.headers.items()}
                return Response(reply.status, _body(json.loads(reply.read() or b"{}")), headers)
        except urllib.error.HTTPError as error:
            try:
                return Response(error.code, _body(json.loads(error.read() or b"{}")))
            except ValueError:
                return Response(error.code, {})
        except OSError as error:
            return Response(0, {"error": str(error)})

    def get(self, url: str) -> Response:
        return self.request("GET", url)

    def post(self, url: str, body: dict) -> Response:
        """A read POST (READ_POSTS); anything else is refused."""
        return self.request("POST", url, body)
