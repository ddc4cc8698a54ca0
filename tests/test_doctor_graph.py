"""mlinfra doctor's Microsoft Graph check (mlinfra/doctor/azure/graph.py): each deployer holds, with
admin consent, the Graph app roles bootstrap grants it. Answers are shaped like Microsoft Graph
v1.0's own examples: "List appRoleAssignments granted to a service principal"
(learn.microsoft.com/graph/api/serviceprincipal-list-approleassignments: `value[]` of id,
appRoleId, principalId, principalType, resourceDisplayName, resourceId) and "Get
servicePrincipal" addressed by appId. App role ids: Microsoft Graph permissions reference (the
same table as mlinfra/estate/needs.py)."""

from mlinfra.doctor.azure import graph
from mlinfra.doctor.report import CANNOT, OK, PROBLEM
from mlinfra.estate import needs
from mlinfra.estate.identities import Identity
from tests.doctor_answers import Answers

GRAPH_SP = "7ea9e944-71ce-443d-811c-71e8047b41ae"
OBJECT_ID = "11111111-0000-4000-8000-000000000004"
SP_URL = f"{graph.API}/servicePrincipals(appId='{graph.GRAPH_APP_ID}')?$select=id,appDisplayName"
ASSIGNMENTS = f"{graph.API}/servicePrincipals/{OBJECT_ID}/appRoleAssignments"


def deployer(*roles: str) -> Identity:
    return Identity("deployer:prod", "entra-application", "c", "p", ["infra-prod"], graph_roles=set(roles))


def assignment(role: str, resource: str = GRAPH_SP) -> dict:
    return {
        "id": "41W1zT6z1U-kJxf62svfp1HFE8pMZhxDun-ThPczmJE",
        "deletedDateTime": None,
        "appRoleId": role,
        "createdDateTime": "2026-11-30T10:02:11Z",
        "principalDisplayName": "deploy-prod",
        "principalId": OBJECT_ID,
        "principalType": "ServicePrincipal",
        "resourceDisplayName": "Microsoft Graph",
        "resourceId": resource,
    }


def client(*held: dict) -> Answers:
    return Answers(
        {
            SP_URL: (200, {"id": GRAPH_SP, "appDisplayName": "Microsoft Graph"}),
            ASSIGNMENTS: (200, {"value": list(held)}),
        }
    )


WANTED = (needs.APPLICATION_READWRITE_OWNEDBY, needs.DIRECTORY_READ_ALL)


def test_every_role_bootstrap_grants_is_consented():
    results = graph.all_checks(
        client(*map(assignment, WANTED)), [deployer(*WANTED)], {"deployer:prod": OBJECT_ID}
    )
    assert [r.status for r in results] == [OK]
    assert results[0].detail == "Application.ReadWrite.OwnedBy, Directory.Read.All"


def test_fails_when_a_role_lacks_admin_consent_and_names_it():
    [result] = graph.all_checks(
        client(assignment(WANTED[0])), [deployer(*WANTED)], {"deployer:prod": OBJECT_ID}
    )
    assert result.status == PROBLEM and result.detail == "no admin consent for Directory.Read.All"
    assert "Privileged Role Administrator" in result.fix and OBJECT_ID in result.fix


def test_fails_when_the_role_id_is_held_on_another_resource_than_microsoft_graph():
    held = [assignment(WANTED[0]), assignment(WANTED[1], resource="00000000-0000-0000-0000-00000000beef")]
    [result] = graph.all_checks(client(*held), [deployer(*WANTED)], {"deployer:prod": OBJECT_ID})
    assert result.status == PROBLEM and "Directory.Read.All" in result.detail


def test_cannot_check_without_the_deployers_object_id_or_the_permission_to_list():
    assert [r.status for r in graph.all_checks(client(), [deployer(*WANTED)], {})] == [CANNOT]
    refused = Answers(
        {
            SP_URL: (200, {"id": GRAPH_SP}),
            ASSIGNMENTS: (403, {"error": {"code": "Authorization_RequestDenied"}}),
        }
    )
    assert [
        r.status for r in graph.all_checks(refused, [deployer(*WANTED)], {"deployer:prod": OBJECT_ID})
    ] == [CANNOT]


def test_the_object_id_is_found_from_the_client_id_when_bootstrap_outputs_only_that():
    preview = Identity("preview", "managed-identity", "c", "p", graph_roles={needs.APPLICATION_READ_ALL})
    answers = Answers(
        {
            SP_URL: (200, {"id": GRAPH_SP}),
            f"{graph.API}/servicePrincipals(appId='cid-5')?$select=id": (200, {"id": OBJECT_ID}),
            ASSIGNMENTS: (200, {"value": [assignment(needs.APPLICATION_READ_ALL)]}),
        }
    )
    assert [r.status for r in graph.all_checks(answers, [preview], {}, {"preview": "cid-5"})] == [OK]


def test_a_role_on_a_later_page_counts():
    page_two = f"{graph.API}/servicePrincipals/{OBJECT_ID}/appRoleAssignments?$skiptoken=X"
    answers = Answers(
        {
            SP_URL: (200, {"id": GRAPH_SP}),
            ASSIGNMENTS: (200, {"value": [assignment(WANTED[0])], "@odata.nextLink": page_two}),
            page_two: (200, {"value": [assignment(WANTED[1])]}),
        }
    )
    assert [
        r.status for r in graph.all_checks(answers, [deployer(*WANTED)], {"deployer:prod": OBJECT_ID})
    ] == [OK]
