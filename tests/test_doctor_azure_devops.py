"""planner doctor's Azure DevOps checks (planner/doctor/azure_devops.py) over answers shaped like
Azure DevOps REST 7.1: Projects - List / Get (`state: wellFormed`), Service Principal
Entitlements (`members[].servicePrincipal.originId`, `accessLevel.status`), and Endpoints - Get
Service Endpoints By Names (`authorization.scheme` and `parameters.workloadIdentityFederationIssuer`
/ `workloadIdentityFederationSubject` / `serviceprincipalid`, the fields
microsoft/terraform-provider-azuredevops reads back into workload_identity_federation_issuer and
_subject). The member and endpoint shapes are from the REST reference and the provider; no live
organization has answered them [unverified: docs/doctor.md]."""

from planner.doctor import azure_devops as ado
from planner.doctor.report import CANNOT, OK, PROBLEM
from planner.doctor.targets import AzureDevOps
from planner.estate.identities import Identity
from tests.doctor_answers import Answers

ORG = AzureDevOps("https://dev.azure.com/contoso", "mlinfra")
OID = "11111111-0000-4000-8000-000000000002"
CLIENT = "22222222-0000-4000-8000-000000000002"
PROJECTS = "https://dev.azure.com/contoso/_apis/projects?$top=1&api-version=7.1"
PROJECT = "https://dev.azure.com/contoso/_apis/projects/mlinfra?api-version=7.1"
MEMBERS = "https://vsaex.dev.azure.com/contoso/_apis/serviceprincipalentitlements?api-version=7.1-preview.1"
ENDPOINT = "https://dev.azure.com/contoso/mlinfra/_apis/serviceendpoint/endpoints?endpointNames=spn-mlinfra-qa&api-version=7.1"
DEV = Identity("deployer:qa", "managed-identity", "c", "p", ["spn-mlinfra-qa"])


def member(oid: str, status: str = "active") -> dict:
    return {
        "id": "ado-1",
        "servicePrincipal": {
            "subjectKind": "servicePrincipal",
            "origin": "aad",
            "originId": oid,
            "displayName": "deploy-qa",
        },
        "accessLevel": {"accountLicenseType": "express", "licensingSource": "account", "status": status},
    }


def endpoint(scheme: str = "WorkloadIdentityFederation", principal: str = CLIENT) -> dict:
    parameters = {"tenantid": "t", "serviceprincipalid": principal}
    if scheme == "WorkloadIdentityFederation":
        parameters |= {
            "workloadIdentityFederationIssuer": "https://vstoken.dev.azure.com/6f2c1a8e",
            "workloadIdentityFederationSubject": "sc://contoso/mlinfra/spn-mlinfra-qa",
        }
    return {
        "count": 1,
        "value": [
            {
                "id": "e1",
                "name": "spn-mlinfra-qa",
                "type": "azurerm",
                "authorization": {"scheme": scheme, "parameters": parameters},
                "isReady": True,
            }
        ],
    }


def answers(**overrides) -> Answers:
    base = {
        PROJECTS: (200, {"count": 1, "value": [{"name": "mlinfra", "state": "wellFormed"}]}),
        PROJECT: (200, {"id": "8d4e", "name": "mlinfra", "state": "wellFormed"}),
        MEMBERS: (200, {"members": [member(OID)], "continuationToken": None, "totalCount": 1}),
        ENDPOINT: (200, endpoint()),
    }
    base.update({globals()[k]: v for k, v in overrides.items()})
    return Answers(base)


def run(client: Answers):
    return ado.all_checks(
        client, ORG, [DEV], [("qa", "spn-mlinfra-qa")], {"deployer:qa": OID}, {"deployer:qa": CLIENT}
    )


def test_a_healthy_organization_and_the_connections_issuer_and_subject_preview():
    results = run(answers())
    assert [(r.check, r.status) for r in results] == [
        ("Azure DevOps organization", OK),
        ("Azure DevOps project", OK),
        ("Azure DevOps entitlement", OK),
        ("Azure DevOps service connection", OK),
    ]
    assert (
        results[-1].detail
        == "issuer https://vstoken.dev.azure.com/6f2c1a8e, subject sc://contoso/mlinfra/spn-mlinfra-qa"
    )


def test_fails_when_the_organization_is_missing_and_stops_there():
    results = run(answers(PROJECTS=(404, {"message": "not found"})))
    assert [r.status for r in results] == [PROBLEM] and "organizationUrl" in results[0].fix


def test_fails_when_the_project_is_missing_or_not_well_formed():
    assert run(answers(PROJECT=(404, {})))[1].status == PROBLEM
    assert run(answers(PROJECT=(200, {"name": "mlinfra", "state": "deleting"})))[1].detail == "state deleting"


def test_fails_when_the_deployer_is_not_entitled_or_inactive():
    missing = run(answers(MEMBERS=(200, {"members": [member("someone-else")]})))[2]
    assert missing.status == PROBLEM and OID in missing.detail and "bootstrap" in missing.fix
    assert run(answers(MEMBERS=(200, {"members": [member(OID, "disabled")]})))[2].status == PROBLEM


def test_fails_when_the_connection_is_missing_uses_a_secret_or_federates_another_app():
    assert run(answers(ENDPOINT=(200, {"count": 0, "value": []})))[3].status == PROBLEM
    secret = run(answers(ENDPOINT=(200, endpoint("ServicePrincipal"))))[3]
    assert secret.status == PROBLEM and "ServicePrincipal" in secret.detail
    other = run(answers(ENDPOINT=(200, endpoint(principal="33333333-0000-4000-8000-000000000000"))))[3]
    assert other.status == PROBLEM and CLIENT in other.detail


def test_cannot_check_without_the_object_id_or_an_answer():
    results = ado.all_checks(answers(), ORG, [DEV], [("qa", "spn-mlinfra-qa")], {}, {})
    assert results[2].status == CANNOT
    assert run(Answers({PROJECTS: (401, {})}))[0].status == CANNOT


def test_nothing_to_check_when_no_stack_runs_in_azure_devops():
    assert ado.all_checks(answers(), ORG, [DEV], [], {}, {}) == []
    assert ado.all_checks(answers(), None, [DEV], [("qa", "spn-mlinfra-qa")], {}, {}) == []


def test_a_deployer_on_a_later_page_of_entitlements_is_found():
    later = f"{MEMBERS}&continuationToken=page2"
    client = answers(MEMBERS=(200, {"members": [member("someone-else")], "continuationToken": "page2"}))
    client.answers[later] = (200, {"members": [member(OID)], "continuationToken": None})
    assert run(client)[2].status == OK
