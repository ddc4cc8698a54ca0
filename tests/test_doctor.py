"""mlinfra doctor (issue 29): the read-only client, each Azure check's OK and PROBLEM paths over
recorded responses, and the shipped replay directories.

Response shapes follow the ARM REST specs (Azure/azure-rest-api-specs). Checked in this work:
the Providers_Get operation at 2021-04-01 (spec example
specification/resources/resource-manager/Microsoft.Resources/stable/2021-04-01/examples/GetProvider.json,
as cited by Azure/azure-rest-api-specs-examples) and the Permission shape of authorization 2022-04-01
(actions, notActions, dataActions, notDataActions: Azure/bicep-types-az
generated/authorization/microsoft.authorization/2022-04-01/types.md). The rest is from memory and NOT
yet verified against the spec files (docs/doctor.md, "Unverified"):
- Providers_Get (resources 2021-04-01): `registrationState`.
- Permissions_ListForResourceGroup/ForResource (authorization 2022-04-01): `value[]` of
  `actions`, `notActions`, `dataActions`, `notDataActions`.
- VirtualNetworks_Get (network 2023-09-01): `properties.virtualNetworkPeerings[].properties.
  allowGatewayTransit`, `.remoteVirtualNetwork.id`.
- PrivateZones_Get (privatedns 2020-06-01): 200 / 404 ResourceNotFound.
- Vaults_GetDeleted (keyvault 2023-07-01): 200 with `properties.deletionDate`, 404 when none.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mlinfra.doctor.azure import arm as azure
from mlinfra.doctor.http import Client, Response, WriteRefused, allowed, replay_key
from mlinfra.doctor.report import CANNOT, OK, PROBLEM
from mlinfra.estate.prerequisites import DeclaredGrant, LandingZone, Prerequisite, Prerequisites, Registration
from tests.conftest import STACKS

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "doctor"
ARM = azure.ARM
SUB = "00000000-0000-0000-0000-000000000008"


class Fake(Client):
    def __init__(self, answers: dict[str, tuple[int, dict]]) -> None:
        super().__init__(replay=None)
        self.answers = answers

    def request(self, method, url, body=None):
        if not allowed(method, url):
            raise WriteRefused(url)
        status, data = self.answers.get(url, (0, {"error": "no credential"}))
        return Response(status, data)


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "POST"])
def test_a_write_verb_is_refused_before_any_io(method, tmp_path):
    url = f"{ARM}/subscriptions/{SUB}/resourceGroups/rg?api-version=2021-04-01"
    (tmp_path / replay_key(method, url)).write_text(json.dumps({"status": 200, "body": {}}))
    with pytest.raises(WriteRefused):
        Client(replay=tmp_path).request(method, url)
    with pytest.raises(WriteRefused):
        Client(tokens={"management.azure.com": "t"}).request(method, url)


def test_only_the_listed_read_posts_pass():
    ok = f"{ARM}/subscriptions/{SUB}/providers/Microsoft.Storage/checkNameAvailability?api-version=2023-05-01"
    assert Client(replay=Path("/nonexistent")).request("POST", ok).status == 0


def test_a_read_post_is_recorded_under_its_url_and_body():
    url = (
        f"{ARM}/subscriptions/{SUB}/providers/Microsoft.KeyVault/checkNameAvailability?api-version=2023-07-01"
    )
    assert allowed("POST", url)
    one = replay_key("POST", url, {"name": "kva", "type": "Microsoft.KeyVault/vaults"})
    other = replay_key("POST", url, {"type": "Microsoft.KeyVault/vaults", "name": "kvb"})
    assert one != other and one == replay_key(
        "POST", url, {"type": "Microsoft.KeyVault/vaults", "name": "kva"}
    )
    assert replay_key("GET", url) != one


def test_a_replayed_answer_keeps_its_headers_and_a_top_level_array_becomes_value(tmp_path):
    """Azure DevOps' Graph lists page through the X-MS-ContinuationToken header, and its spec
    types their body as an array (MicrosoftDocs/vsts-rest-api-specs graph/7.1 Service
    Principals - List)."""
    url = "https://vssps.dev.azure.com/contoso/_apis/graph/serviceprincipals?api-version=7.1-preview.1"
    record = {"status": 200, "body": [{"originId": "o"}], "headers": {"X-MS-ContinuationToken": "t2"}}
    (tmp_path / replay_key("GET", url)).write_text(json.dumps(record))
    reply = Client(replay=tmp_path).get(url)
    assert reply.body == {"value": [{"originId": "o"}]} and reply.headers == {"x-ms-continuationtoken": "t2"}


def test_doctors_modules_import_no_sdk_until_a_live_run():
    code = (
        "import sys; import mlinfra.doctor.command, mlinfra.doctor.estate_checks; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('azure', 'msal', 'httpx')))"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and run.stdout.strip() == "[]", run.stdout + run.stderr


def _provider_url(name):
    return f"{ARM}/subscriptions/{SUB}/providers/{name}?api-version=2021-04-01"


def test_provider_registered_and_not():
    client = Fake(
        {
            _provider_url("A.B"): (200, {"namespace": "A.B", "registrationState": "Registered"}),
            _provider_url("C.D"): (200, {"namespace": "C.D", "registrationState": "NotRegistered"}),
            _provider_url("E.F"): (403, {"error": {"code": "AuthorizationFailed"}}),
        }
    )
    assert [r.status for r in azure.providers(client, SUB, ["A.B", "C.D", "E.F"])] == [OK, PROBLEM, CANNOT]


def test_each_declared_registration_is_checked_in_its_subscription():
    """The registrations prerequisites.yaml declares (EV-15's list, derived from the plans) are
    what doctor asks ARM about, each in its own subscription; nothing else is asked."""
    other = "00000000-0000-0000-0000-0000000000ab"
    declared = Prerequisites(
        items=(
            Prerequisite(
                "rp",
                "t",
                "o",
                False,
                resource_providers=(Registration(SUB, ("A.B",)), Registration(other, ("GitHub.Network",))),
            ),
        )
    )
    url = f"{ARM}/subscriptions/{other}/providers/GitHub.Network?api-version=2021-04-01"
    client = Fake(
        {
            _provider_url("A.B"): (200, {"registrationState": "Registered"}),
            url: (200, {"registrationState": "NotRegistered"}),
        }
    )
    results = azure.registered_providers(client, declared)
    assert [(r.subject, r.status) for r in results] == [
        (f"A.B in subscription {SUB}", OK),
        (f"GitHub.Network in subscription {other}", PROBLEM),
    ]
    assert results[1].fix == f"az provider register --namespace GitHub.Network --subscription {other}"


def _grant_setup(blocks):
    scope = f"/subscriptions/{SUB}/resourceGroups/rg-dns-hub"
    declared = Prerequisites(
        items=(
            Prerequisite(
                "hub-dns",
                "DNS records",
                "hub team",
                False,
                grants=(
                    DeclaredGrant(
                        "deployer:dev", scope, actions=("Microsoft.Network/privateDnsZones/join/action",)
                    ),
                ),
            ),
        )
    )
    url = f"{ARM}{scope}/providers/Microsoft.Authorization/permissions?api-version=2022-04-01"
    return Fake({url: (200, {"value": blocks})}), declared


def test_declared_grant_held_through_a_wildcard_evaluated_by_the_verifiers_matcher():
    client, declared = _grant_setup([{"actions": ["Microsoft.Network/privateDnsZones/*"], "notActions": []}])
    assert [r.status for r in azure.hub_grants(client, declared)] == [OK]


def test_declared_grant_missing_and_not_actions_subtract():
    client, declared = _grant_setup(
        [
            {
                "actions": ["Microsoft.Network/*"],
                "notActions": ["Microsoft.Network/privateDnsZones/join/action"],
            }
        ]
    )
    [result] = azure.hub_grants(client, declared)
    assert result.status == PROBLEM and "join/action" in result.detail and "hub-dns" in result.fix


def test_dns_zone_and_gateway_transit():
    zone = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/privateDnsZones/z.example"
    hub = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/hub"
    spokes = (hub.replace("hub", "s1"), hub.replace("hub", "s2"), hub.replace("hub", "s3"))
    peer = lambda s, t: {"properties": {"allowGatewayTransit": t, "remoteVirtualNetwork": {"id": s}}}  # noqa: E731
    declared = Prerequisites(LandingZone(hub, spokes, (zone,)))
    client = Fake(
        {
            f"{ARM}{zone}?api-version=2020-06-01": (404, {"error": {"code": "ResourceNotFound"}}),
            f"{ARM}{hub}?api-version=2023-09-01": (
                200,
                {"properties": {"virtualNetworkPeerings": [peer(spokes[0], True), peer(spokes[1], False)]}},
            ),
        }
    )
    assert [r.status for r in azure.dns_zones(client, declared)] == [PROBLEM]
    assert [r.status for r in azure.gateway_transit(client, declared)] == [OK, PROBLEM, PROBLEM]


def test_soft_deleted_key_vault():
    url = f"{ARM}/subscriptions/{SUB}/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/kv?api-version=2023-07-01"
    assert azure.deleted_key_vault(Fake({url: (404, {})}), SUB, "westeurope", "kv").status == OK
    assert (
        azure.deleted_key_vault(Fake({url: (200, {"name": "kv"})}), SUB, "westeurope", "kv").status == PROBLEM
    )
    assert azure.deleted_key_vault(Fake({}), SUB, "westeurope", "kv").status == CANNOT


def _run(*args):
    return subprocess.run(
        [sys.executable, "-m", "mlinfra", "doctor", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


KV = f"{SUB}/westeurope/kv-mlops-dev-weu"


def test_shipped_healthy_replay_exits_0():
    run = _run("--replay", str(DATA / "healthy"), "--estate", "--key-vault", KV)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "PROBLEM" not in run.stdout
    for check in (
        "deployer rights",
        "key vault name",
        "compute quota",
        "VM size availability",
        "Graph app roles",
        "Azure DevOps entitlement",
        "GitHub plan",
        "GitHub reviewer",
        "state backend",
    ):
        assert f"OK           {check}:" in run.stdout, check
    assert "CANNOT-CHECK firewall SKU availability:" in run.stdout
    # Every namespace the estate's plans need has its recorded answer (a stage that gains one, as
    # prod's customer-managed key gained Microsoft.DocumentDB and Microsoft.Search, records it).
    assert "CANNOT-CHECK resource provider" not in run.stdout


def _problems(directory, *args):
    run = _run("--replay", str(DATA / directory), *args, "--format", "json")
    results = json.loads(run.stdout)["results"]
    return run, results, [r for r in results if r["status"] == PROBLEM]


def _stack_of(result: dict) -> str:
    """The stack a per-stack result is about (its subject starts with `<stack>: `)."""
    return result["subject"].split(": ", 1)[0]


def test_shipped_unhealthy_replay_exits_1_naming_each_problem_with_its_fix():
    run, results, problems = _problems("unhealthy", "--estate", "--key-vault", KV)
    assert run.returncode == 1, run.stderr
    assert all(r.get("fix") for r in problems)
    assert any(r["status"] == CANNOT for r in results)
    # the five that issue 29 names
    assert any(
        r["check"] == "resource provider" and "registrationState NotRegistered" in r["detail"]
        for r in problems
    )
    [vault] = [r for r in problems if r["check"] == "key vault name" and _stack_of(r) in STACKS]
    assert "soft-deleted" in vault["detail"] and "az keyvault purge" in vault["fix"]
    assert f"uniqueSuffix in Pulumi.{_stack_of(vault)}.yaml" in vault["fix"]
    [graph] = [r for r in problems if r["check"] == "Graph app roles"]
    assert graph["detail"] == "no admin consent for Directory.Read.All" and "deployer" in graph["subject"]
    [subject] = [r for r in problems if r["check"] == "GitHub OIDC subject"]
    assert (
        subject["subject"] == "contoso/churn-mlops (immutable)"
        and "use_immutable_subject is False" in subject["detail"]
    )
    hub = [
        r
        for r in problems
        if r["check"] in ("declared grant", "deployer rights") and "rg-dns-hub" in r["subject"]
    ]
    assert {r["check"] for r in hub} == {"declared grant", "deployer rights"}
    assert all("hub-dns-zones-join" in r["fix"] for r in hub)
    # the checks issue 29 adds for SKUs, the GitHub plan and reviewers, each with its fix
    [size] = [r for r in problems if r["check"] == "VM size availability"]
    assert "NotAvailableForSubscription" in size["detail"] and "vmSize" in size["fix"]
    plans = [r for r in problems if r["check"] == "GitHub plan"]
    assert plans and all("plan team" in r["detail"] and "GitHub Enterprise" in r["fix"] for r in plans)
    reviewers = {r["detail"].split(":")[0]: r for r in problems if r["check"] == "GitHub reviewer"}
    missing = reviewers["no such GitHub user"]
    assert f"Pulumi.{_stack_of(missing)}.yaml mlinfra:ci.github.reviewers" in missing["fix"]
    assert "permission none" in reviewers
    assert any("has no access" in d for d in reviewers)
    assert any(r["check"] == "firewall SKU availability" and r["status"] == CANNOT for r in results)
    # and each of the other checks' problem path
    checks = {r["check"] for r in problems}
    assert {
        "storage account name",
        "compute quota",
        "VM size availability",
        "Azure DevOps service connection",
        "GitHub plan",
        "GitHub reviewer",
        "state backend",
        "private DNS zone",
        "hub gateway transit",
    } <= checks


def test_one_stack_checks_only_what_it_needs():
    _, _, estate = _problems("unhealthy", "--estate")
    [vault] = [r for r in estate if r["check"] == "key vault name"]
    stack = _stack_of(vault)
    run, results, problems = _problems("unhealthy", "--stack", stack)
    assert run.returncode == 1, run.stderr
    assert vault in problems
    others = {s for s in STACKS if s != stack}
    assert not [r for r in results if r["check"].endswith(" name") and _stack_of(r) in others]
    assert not [r for r in results if "preview identity" in r["subject"]]
    assert not [
        r for r in results if r["check"] == "declared grant" and f"deployer:{stack} " not in r["subject"]
    ]


def test_usage_errors_exit_2_with_one_line():
    run = _run("--replay", "/nonexistent-dir")
    assert run.returncode == 2 and run.stderr.count("\n") == 1
    run = _run("--key-vault", "bad")
    assert run.returncode == 2 and run.stderr.startswith("error:")
    run = _run("--replay", str(DATA / "healthy"), "--stack", "qa")
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "--stack 'qa'" in run.stderr
    run = _run("--stack", STACKS[0], "--estate")
    assert run.returncode == 2 and run.stderr.count("\n") == 1
    run = _run("--replay", str(DATA / "healthy"), "--estate", "--bootstrap-outputs", "/nonexistent.json")
    assert run.returncode == 2 and "--bootstrap-outputs" in run.stderr


def test_live_without_an_azure_credential_exits_2_saying_what_to_log_in_with():
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith(("AZURE_", "IDENTITY_"))}
    env["PATH"] = "/nonexistent"  # no `az` to fall back on
    run = subprocess.run(
        [sys.executable, "-m", "mlinfra", "doctor"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert run.returncode == 2 and "az login" in run.stderr and run.stderr.count("\n") == 1


def test_the_infra_pipelines_run_doctor_before_pulumi_up():
    """Issue 29: each deploying job runs the read-only preflight, as the stack's deployer (signed
    in by the step before), before `pulumi up`; on GitHub and on Azure DevOps."""
    import yaml

    github = yaml.safe_load((ROOT / ".github" / "workflows" / "pulumi-up.yml").read_text())
    (job,) = github["jobs"].values()
    runs = [str(step.get("run", "")) + str(step.get("with", {}).get("command", "")) for step in job["steps"]]
    doctor = next(i for i, run in enumerate(runs) if run.startswith("make doctor STACK="))
    up = next(i for i, step in enumerate(job["steps"]) if step.get("with", {}).get("command") == "up")
    login = next(
        i for i, step in enumerate(job["steps"]) if str(step.get("uses", "")).startswith("Azure/login")
    )
    assert login < doctor < up
    text = (ROOT / "templates" / "pulumi-up.yml").read_text()
    assert text.index("inlineScript: make doctor STACK=${{ parameters.stage }}") < text.index(
        "pulumi up --yes"
    )
