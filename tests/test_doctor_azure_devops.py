"""mlinfra doctor's Azure DevOps checks (mlinfra/doctor/ci/azure_devops.py) over answers shaped like
the Azure DevOps REST 7.1 examples in MicrosoftDocs/vsts-rest-api-specs:
- Projects - List / Get (`state: wellFormed`);
- specification/graph/7.1/httpExamples/ServicePrincipals/GetAllServicePrincipals.json (`count`,
  `value[]` of `originId`, `descriptor`; further pages through the X-MS-ContinuationToken header,
  graph.json 7.1 `Service Principals_List`) and StorageKeys/GetStorageKeyBySubjectDescriptor.json
  (`value`);
- specification/memberEntitlementManagement/7.1/httpExamples/ServicePrincipalEntitlements/
  GET__memberEntitlementManagement_ServicePrincipalEntitlementById.json (`accessLevel`:
  `licensingSource`, `accountLicenseType`, `licenseDisplayName`, `status`). The 7.1 spec has no
  GET of the entitlement collection, only Get by id, hence the Graph lookup first;
- Endpoints - Get Service Endpoints By Names (`authorization.scheme` and
  `parameters.workloadIdentityFederationIssuer` / `workloadIdentityFederationSubject` /
  `serviceprincipalid`, the fields microsoft/terraform-provider-azuredevops reads back into
  workload_identity_federation_issuer and _subject).
The Stakeholder rule is MicrosoftDocs/azure-devops-docs "Stakeholder access quick reference"
(Azure Pipelines, private project: view and approve only; variable groups for public projects).
No live organization has answered these [unverified: docs/doctor.md]."""

from mlinfra.doctor.ci import azure_devops as ado
from mlinfra.doctor.report import CANNOT, OK, PROBLEM
from mlinfra.doctor.targets import AzureDevOps
from mlinfra.estate.identities import Identity
from tests.doctor_answers import Answers

ORG = AzureDevOps("https://dev.azure.com/contoso", "mlinfra")
OID = "11111111-0000-4000-8000-000000000002"
PREVIEW_OID = "11111111-0000-4000-8000-000000000005"
CLIENT = "22222222-0000-4000-8000-000000000002"
MEMBER_ID = "593f6716-627c-6ccb-833e-77a7f9ca422f"
PROJECTS = "https://dev.azure.com/contoso/_apis/projects?$top=1&api-version=7.1"
PROJECT = "https://dev.azure.com/contoso/_apis/projects/mlinfra?api-version=7.1"
GRAPH = "https://vssps.dev.azure.com/contoso/_apis/graph/serviceprincipals?api-version=7.1-preview.1"
KEY = "https://vssps.dev.azure.com/contoso/_apis/graph/storagekeys/aadsp.qa?api-version=7.1"
ENTITLEMENT = f"https://vsaex.dev.azure.com/contoso/_apis/serviceprincipalentitlements/{MEMBER_ID}?api-version=7.1-preview.1"
ENDPOINT = "https://dev.azure.com/contoso/mlinfra/_apis/serviceendpoint/endpoints?endpointNames=spn-mlinfra-qa&api-version=7.1"
DEV = Identity("deployer:qa", "managed-identity", "c", "p", ["infra-qa", "spn-mlinfra-qa"])
PREVIEW = Identity("preview", "managed-identity", "c", "p", ["infra-preview", "spn-mlinfra-preview"])
NEEDS = {"deployer:qa": "its up of qa creates Azure DevOps resources"}


def principal(oid: str, descriptor: str = "aadsp.qa") -> dict:
    return {
        "subjectKind": "servicePrincipal",
        "applicationId": CLIENT,
        "origin": "aad",
        "originId": oid,
        "displayName": "deploy-qa",
        "descriptor": descriptor,
    }


def entitlement(license_type: str = "express", status: str = "active", shown: str = "Basic") -> dict:
    return {
        "id": MEMBER_ID,
        "accessLevel": {
            "licensingSource": "account",
            "accountLicenseType": license_type,
            "msdnLicenseType": "none",
            "licenseDisplayName": shown,
            "status": status,
            "statusMessage": "",
            "assignmentSource": "unknown",
        },
        "projectEntitlements": [],
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
        GRAPH: (200, {"count": 1, "value": [principal(OID)]}),
        KEY: (200, {"value": MEMBER_ID}),
        ENTITLEMENT: (200, entitlement()),
        ENDPOINT: (200, endpoint()),
    }
    base.update({globals()[k]: v for k, v in overrides.items()})
    return Answers(base)


def run(client: Answers, needs: dict | None = None, pipelines: dict | None = None):
    return ado.all_checks(
        client,
        ORG,
        [DEV],
        [("qa", "spn-mlinfra-qa")],
        {"deployer:qa": OID},
        {"deployer:qa": CLIENT},
        NEEDS if needs is None else needs,
        pipelines or {},
    )


def test_a_healthy_organization_entitlement_and_the_connections_issuer_and_subject_preview():
    results = run(answers())
    assert [(r.check, r.status) for r in results] == [
        ("Azure DevOps organization", OK),
        ("Azure DevOps project", OK),
        ("Azure DevOps entitlement", OK),
        ("Azure DevOps service connection", OK),
    ]
    assert results[2].detail == "member of contoso, Basic"
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


def test_fails_when_the_deployer_is_not_in_the_organization():
    missing = run(answers(GRAPH=(200, {"count": 1, "value": [principal("someone-else")]})))[2]
    assert missing.status == PROBLEM and OID in missing.detail and "bootstrap" in missing.fix
    assert "creates Azure DevOps resources" in missing.detail


def test_fails_when_the_access_level_is_inactive_or_stakeholder():
    inactive = run(answers(ENTITLEMENT=(200, entitlement(status="disabled"))))[2]
    assert inactive.status == PROBLEM and "disabled" in inactive.detail
    stakeholder = run(answers(ENTITLEMENT=(200, entitlement("stakeholder", shown="Stakeholder"))))[2]
    assert (
        stakeholder.status == PROBLEM and "Stakeholder" in stakeholder.detail and "Basic" in stakeholder.fix
    )


def test_fails_when_the_preview_identity_is_not_entitled_with_a_manual_fix():
    client = answers()
    results = ado.all_checks(
        client,
        ORG,
        [DEV, PREVIEW],
        [],
        {"deployer:qa": OID, "preview": PREVIEW_OID},
        {},
        {**NEEDS, "preview": "its preview of qa reads Azure DevOps resources"},
        {},
    )
    [preview] = [r for r in results if r.subject.startswith("preview identity")]
    assert preview.status == PROBLEM and PREVIEW_OID in preview.fix and "Organization settings" in preview.fix


def test_an_identity_only_signed_in_by_a_pipeline_needs_no_entitlement_and_nothing_is_asked():
    client = answers()
    results = run(client, needs={}, pipelines={"deployer:qa": "spn-mlinfra-qa"})
    [entitled] = [r for r in results if r.check == "Azure DevOps entitlement"]
    assert entitled.status == OK and entitled.detail.startswith("not needed: spn-mlinfra-qa")
    assert not [url for _, url, _ in client.asked if "vssps" in url or "vsaex" in url]


def test_cannot_check_without_the_object_id_or_an_answer():
    results = ado.all_checks(answers(), ORG, [DEV], [("qa", "spn-mlinfra-qa")], {}, {}, NEEDS, {})
    assert results[2].status == CANNOT
    assert run(answers(GRAPH=(401, {})))[2].status == CANNOT
    assert run(Answers({PROJECTS: (401, {})}))[0].status == CANNOT


def test_nothing_to_check_when_no_stack_runs_in_or_uses_azure_devops():
    assert ado.all_checks(answers(), ORG, [DEV], [], {}, {}) == []
    assert ado.all_checks(answers(), None, [DEV], [("qa", "spn-mlinfra-qa")], {}, {}) == []


def test_cannot_check_an_identity_that_needs_azure_devops_when_bootstrap_declares_none():
    [result] = ado.all_checks(answers(), None, [DEV], [], {"deployer:qa": OID}, {}, NEEDS, {})
    assert result.status == CANNOT and "no azureDevOps" in result.detail


def test_a_deployer_on_a_later_page_of_service_principals_is_found():
    later = f"{GRAPH}&continuationToken=page2"
    client = answers(
        GRAPH=(
            200,
            {"count": 1, "value": [principal("someone-else", "aadsp.x")]},
            {"x-ms-continuationtoken": "page2"},
        )
    )
    client.answers[later] = (200, {"count": 1, "value": [principal(OID)]})
    assert run(client)[2].status == OK
