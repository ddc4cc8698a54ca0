"""The estate verifier against mutations of the shipped estate (issue 26, "Done when"): each edit
breaks one seam and must give its finding, and each valid variant beside it must stay clean, so the
verifier neither misses a seam nor over-reports.

Two ways to mutate. Plans, runs and prerequisites already made are edited in memory and verified
with `model.verify` (the verifier reads nothing else): cheap enough to drop every grant bootstrap
plans, one at a time. Edits that the programs themselves must see (a stack file, the catalog,
prerequisites.yaml) go to a scratch copy of the repository (`tests.conftest.copy_repository`),
verified by `mlinfra estate --format json` run in the copy: the bootstrap program reads
the stage project beside the `components` it imports (bootstrap/stack_facts.py STAGE_PROJECT_DIR),
which in this process is this checkout's, not the copy's. Its plans share the session's plan cache,
so only the stacks an edit touches are planned again. An edit of the delivery files alone changes
no plan (every key stays this checkout's), so it is verified here with `model.build`.
"""

import copy
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlinfra.estate import inventory, model, prerequisites
from mlinfra.estate.delivery import delivery_runs
from mlinfra.estate.findings import Finding
from mlinfra.estate.identities import Identity, read_bootstrap
from mlinfra.estate.inventory import StackPlan
from mlinfra.estate.needs import GRAPH_NAMES
from mlinfra.facts.rbac import Grant, action_allowed, allowing, scope_covers
from mlinfra.planner.stackfile import read_document
from tests.conftest import CATALOG, PROJECT_DIR, copy_repository, first, setting, stacks_where

ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
APP_ROLE_ASSIGNMENT = "azuread:index/appRoleAssignment:AppRoleAssignment"
REGISTRY = "azure-native:machinelearningservices:Registry"
PEER_ACTION = "Microsoft.Network/virtualNetworks/peer/action"
UNHELD_SUBSCRIPTION = "00000000-0000-0000-0000-000000000099"
"""A subscription no stack file, bootstrap grant or prerequisite names."""


def _hub_peering(stack: str) -> dict:
    endpoints = setting(stack, "network", {}).get("privateEndpoints") or {}
    return (endpoints.get("virtualNetwork") or {}).get("hubPeering") or {}


PEERING_STACKS = stacks_where(lambda stack: _hub_peering(stack).get("peerRight") == "granted")
"""Stages that create their side of a peering with the hub, on the hub team's declared grant."""
PUBLISHERS = stacks_where(lambda stack: setting(stack, "registry", {}).get("deploymentIdentity") == "publish")


# --- the shipped estate, and verifying edited copies of it ----------------------------------------


@pytest.fixture(scope="module")
def shipped() -> tuple[list[StackPlan], list, prerequisites.Prerequisites]:
    return inventory.plan_estate(PROJECT_DIR), delivery_runs(PROJECT_DIR), prerequisites.load(PROJECT_DIR)


def _findings(stacks, runs, declared) -> list[Finding]:
    return model.verify(stacks, runs, declared).findings


def _edited(stacks: list[StackPlan], predicate, change) -> list[StackPlan]:
    """A copy of `stacks` where `change(plan)` has edited the plan of each stack `predicate` selects."""
    edited = []
    for stack in stacks:
        if predicate(stack):
            plan = copy.deepcopy(stack.plan)
            change(plan)
            stack = dataclasses.replace(stack, plan=plan)
        edited.append(stack)
    return edited


def _lines(findings: list[Finding]) -> list[str]:
    return [f"{f.stack}: {f.line}" for f in findings]


@dataclasses.dataclass(frozen=True)
class Verified:
    identities: frozenset[str]
    findings: list[Finding]


def _verify_copy(project: Path) -> Verified:
    """`mlinfra estate --format json` in the scratch copy: its identities and findings;
    the exit status is 1 exactly when there are findings."""
    result = subprocess.run(
        [sys.executable, "-m", "mlinfra", "estate", "--format", "json"],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert result.returncode in (0, 1), result.stderr[-2000:]
    document = json.loads(result.stdout)
    findings = [Finding(**finding) for finding in document["findings"]]
    assert result.returncode == (1 if findings else 0)
    return Verified(frozenset(i["id"] for i in document["identities"]), findings)


def test_the_shipped_estate_is_clean(shipped):
    """The baseline every mutation below is measured against: `make verify` (the estate part)."""
    assert _lines(_findings(*shipped)) == []


# --- (a) drop any one grant bootstrap plans --------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PlannedGrant:
    resource: str
    """The bootstrap resource: a role assignment or a Microsoft Graph app role assignment."""
    holder: str
    """The estate identity it grants to (`deployer:<stack>`, `preview`)."""
    grant: Grant | None
    """The Azure grant (None for a Graph app role)."""
    app_role: str | None = None

    def covered_by_others(self, identity: Identity) -> str | None:
        """The holder's other grant that allows every action this one's role lists explicitly at its
        scope, if any: then the grant has no need of its own (a least-privilege gap, not a verifier
        miss). A role with a wildcard action is never counted as covered."""
        if self.grant is None:
            return None
        others = [g for g in identity.grants if g.origin != self.grant.origin]
        listed = [(a, False) for p in self.grant.role.permissions for a in p.actions] + [
            (a, True) for p in self.grant.role.permissions for a in p.data_actions
        ]
        if not listed or any("*" in action for action, _ in listed):
            return None
        covering = [allowing(others, action, self.grant.scope, data=data) for action, data in listed]
        if all(covering):
            return covering[0][0].origin
        return None


def _planned_grants() -> list[PlannedGrant]:
    """Every grant bootstrap's plan gives an estate identity (read at collection: a plan-cache hit
    after the first run; the session plans the bootstrap stack anyway)."""
    stacks = inventory.plan_bootstrap(PROJECT_DIR)
    identities = read_bootstrap(stacks, prerequisites.load(PROJECT_DIR)).identities.values()
    by_principal = {identity.principal_id: identity for identity in identities}
    grants = {g.origin: (identity, g) for identity in identities for g in identity.grants}
    planned = []
    for stack in stacks:
        for resource in stack.plan.of_type(ROLE_ASSIGNMENT):
            if str(resource.inputs.get("principalId")) in by_principal:
                identity, grant = grants[f"bootstrap: {resource.name}"]
                planned.append(PlannedGrant(resource.name, identity.id, grant))
        for resource in stack.plan.of_type(APP_ROLE_ASSIGNMENT):
            identity = by_principal.get(str(resource.inputs.get("principalObjectId")))
            if identity is not None:
                app_role = str(resource.inputs.get("appRoleId")).lower()
                planned.append(PlannedGrant(resource.name, identity.id, None, app_role))
    return planned


def _grant_params():
    identities = {
        i.id: i
        for i in read_bootstrap(
            inventory.plan_bootstrap(PROJECT_DIR), prerequisites.load(PROJECT_DIR)
        ).identities.values()
    }
    params = []
    for planned in _planned_grants():
        covering = planned.covered_by_others(identities[planned.holder])
        marks = (
            [
                pytest.mark.xfail(
                    strict=True,
                    reason=f"least privilege: {planned.resource} has no need of its own, "
                    f"{covering} already allows it (bootstrap plans it anyway)",
                )
            ]
            if covering
            else []
        )
        params.append(pytest.param(planned, id=planned.resource, marks=marks))
    return params


@pytest.mark.parametrize("planned", _grant_params())
def test_fails_when_a_grant_bootstrap_plans_is_dropped(shipped, planned):
    """Every grant bootstrap plans for a deployer or the preview identity, dropped one at a time (all
    of them: dropping one and verifying takes milliseconds, the plans are made once), leaves a need
    unheld, and the verifier names it: the identity that held it, an action its role allowed and a
    scope under its scope (EV-1, EV-2, EV-5), or the Graph permission (EV-4). Azure allows an action
    when some assignment of the caller at the scope or above allows it (Microsoft Learn, "Understand
    Azure role definitions" and "Understand scope for Azure RBAC"); DESIGN.md Round 3, "a need
    without a grant is a finding, and so is a grant without a need": a grant another grant of the
    holder already covers is marked xfail (strict) with the grant that covers it, so bootstrap
    dropping it makes the mark fail."""
    stacks, runs, declared = shipped

    def drop(plan):
        plan.resources = [r for r in plan.resources if r.name != planned.resource]

    found = [
        f
        for f in _findings(_edited(stacks, lambda s: s.kind == "bootstrap", drop), runs, declared)
        if f.identity == planned.holder
    ]
    if planned.grant is None:
        assert any(f.rule == "EV-4" and GRAPH_NAMES[str(planned.app_role)] in f.action for f in found), (
            _lines(found)
        )
        return
    grant = planned.grant
    assert any(
        f.rule in ("EV-1", "EV-2", "EV-5")
        and scope_covers(grant.scope, f.scope)
        and any(action_allowed(f.action, grant.role.permissions, data=data) for data in (False, True))
        for f in found
    ), _lines(found)


def test_a_grant_dropped_and_declared_as_a_prerequisite_is_held(shipped):
    """The valid variant: the same right given by hand (prerequisites.yaml) instead of by bootstrap
    counts as held, so moving a grant to the hub team's list is not reported."""
    stacks, runs, declared = shipped
    planned = next(
        p
        for p in _planned_grants()
        if p.grant is not None and p.grant.condition is None and p.grant.role.name in _builtin_names()
    )
    grant = planned.grant
    assert grant is not None
    by_hand = prerequisites.Prerequisite(
        "moved-grant",
        "the grant, by hand",
        "test",
        False,
        (prerequisites.DeclaredGrant(planned.holder, grant.scope, role=grant.role.name),),
    )
    declared = dataclasses.replace(declared, items=(*declared.items, by_hand))

    def drop(plan):
        plan.resources = [r for r in plan.resources if r.name != planned.resource]

    assert _lines(_findings(_edited(stacks, lambda s: s.kind == "bootstrap", drop), runs, declared)) == []


def _builtin_names() -> set[str]:
    from mlinfra.facts.rbac import builtin_roles

    return {role.name for role in builtin_roles().values()}


# --- (b) a catalog stage without what it needs ---------------------------------------------------


NEW_STAGE = ("staging", "stg")
"""A stage the catalog does not have; added to scratch copies only."""


def _add_catalog_entry(project: Path, after: str) -> None:
    """docs/stages.md, "Adding a stage", step 1: one catalog entry in Pulumi.yaml, after `after`."""
    name, code = NEW_STAGE
    path = project / "Pulumi.yaml"
    text = path.read_text()
    anchor = f"      - name: {after}\n"
    start = text.index(anchor)
    end = text.index("      - name:", start + len(anchor))
    entry = (
        f"      - name: {name}\n        code: {code}\n        production: true\n        dataScience: false\n"
    )
    path.write_text(text[:end] + entry + text[end:])


def _add_stack_file(project: Path, like: str) -> None:
    """Step 2: the stack file, from a production stage's, its own names where it names its stage."""
    name = NEW_STAGE[0]
    (project / f"Pulumi.{name}.yaml").write_text(
        (project / f"Pulumi.{like}.yaml").read_text().replace(like, name)
    )


def _declare_like(project: Path, like: str) -> None:
    """The hub team's grants of the copied stage, also for the new stage's deployer."""
    path = project / prerequisites.FILE_NAME
    document = read_document(path)
    for item in document["prerequisites"]:
        item["grants"] = [
            *(item.get("grants") or []),
            *(
                {**copy.deepcopy(grant), "principal": f"deployer:{NEW_STAGE[0]}"}
                for grant in item.get("grants") or []
                if grant["principal"] == f"deployer:{like}"
            ),
        ]
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def _make_workflows(project: Path) -> None:
    """Step 3: `make workflows`."""
    subprocess.run(
        [sys.executable, "-m", "mlinfra.repository.delivery_files", "--write"], cwd=project, check=True
    )


@pytest.fixture
def staged(tmp_path) -> tuple[Path, str]:
    """A scratch copy with the new stage in the catalog after the last-but-one production stage,
    and its stack file made from that stage's."""
    production = [name for name, stage in CATALOG.items() if stage.production]
    if len(production) < 2:
        pytest.skip("needs two production stages to insert one between")
    project = copy_repository(tmp_path / "project")
    _add_catalog_entry(project, after=production[-2])
    _add_stack_file(project, like=production[-2])
    return project, production[-2]


@pytest.mark.long
def test_fails_when_a_catalog_stage_has_a_stack_file_but_no_pipeline_deploys_it(staged):
    """docs/stages.md, "Adding a stage" without step 3 (`make workflows`): bootstrap gives every stack file a
    deployer and an environment whether its `stages` config lists it or not (bootstrap/settings.py),
    so the stack has an identity and state, and what is missing is delivery: no job deploys,
    previews or drift-checks it (EV-9; review-3-identity-ci B2, a stack with no delivery path)."""
    project, _ = staged
    estate = _verify_copy(project)
    name = NEW_STAGE[0]
    assert f"deployer:{name}" in estate.identities  # no bootstrap entry needed
    assert sorted((f.rule, f.message) for f in estate.findings) == [
        ("EV-9", f"no pipeline job runs {op} of stack {name}") for op in ("preview", "refresh", "up")
    ]


@pytest.mark.long
def test_a_catalog_stage_added_as_the_readme_says_is_clean_once_its_hub_grants_are_declared(staged):
    """All three steps of "Adding a stage" (catalog entry, stack file, `make workflows`): the new
    stage is deployed, previewed and drift-checked in catalog order. What is left are the hub team's
    grants, which bootstrap cannot give (review-3-azure B1: peer/action on the hub network; B2: the
    hub's zones): the verifier names each for the new deployer (EV-2), and with them declared in
    prerequisites.yaml the estate is clean."""
    project, like = staged
    _make_workflows(project)
    estate = _verify_copy(project)
    name = NEW_STAGE[0]
    assert not [f for f in estate.findings if f.rule in ("EV-6", "EV-7", "EV-8", "EV-9")], _lines(
        estate.findings
    )
    declared = [
        (grant["scope"].lower(), action)
        for item in read_document(project / prerequisites.FILE_NAME)["prerequisites"]
        for grant in item.get("grants") or []
        if grant["principal"] == f"deployer:{like}"
        for action in grant.get("actions") or []
    ]
    missing = {(f.scope.lower(), f.action) for f in estate.findings}
    assert declared and {f.identity for f in estate.findings} == {f"deployer:{name}"}
    assert {f.rule for f in estate.findings} == {"EV-2"}
    assert all(any(scope_covers(scope, s) and action == a for scope, action in declared) for s, a in missing)
    _declare_like(project, like)
    assert _lines(_verify_copy(project).findings) == []


# --- (c) a job in an environment nothing creates -----------------------------------------------


def _deploy_job_environment(project: Path) -> tuple[Path, str]:
    """A GitHub workflow job that deploys a stack in an environment: its file and environment."""
    runs = [
        r for r in delivery_runs(project) if r.platform == "github" and r.operation == "up" and r.environment
    ]
    run = runs[0]
    return project / run.file, str(run.environment)


def test_fails_when_a_workflow_job_names_an_environment_nothing_creates(tmp_path):
    """review-3-identity-ci B2: `deploy.yml` started with a job in an `infra-shared` environment that
    nothing created, with an identity nothing created. A job's environment must be created by some
    stack (bootstrap) or declared as a prerequisite (EV-6); the job then has no identity to run as,
    which no rights finding may paper over."""
    project = copy_repository(tmp_path / "project")
    path, environment = _deploy_job_environment(project)
    text = path.read_text()
    assert f"environment: {environment}\n" in text
    path.write_text(text.replace(f"environment: {environment}\n", "environment: infra-nowhere\n", 1))
    findings = model.build(project).findings
    assert [(f.rule, f.identity) for f in findings] == [("EV-6", "infra-nowhere")], _lines(findings)
    assert (
        "runs in GitHub environment infra-nowhere, which no stack creates and no prerequisite declares"
        in (findings[0].message)
    )


def test_an_environment_declared_as_a_prerequisite_is_not_reported(tmp_path):
    """The valid variant: an environment made by hand and declared in prerequisites.yaml is known."""
    project = copy_repository(tmp_path / "project")
    path, environment = _deploy_job_environment(project)
    path.write_text(
        path.read_text().replace(f"environment: {environment}\n", "environment: infra-by-hand\n", 1)
    )
    declared = project / prerequisites.FILE_NAME
    document = read_document(declared)
    document["prerequisites"].append(
        {
            "id": "by-hand",
            "title": "an environment made by hand",
            "owner": "test",
            "environments": ["infra-by-hand"],
        }
    )
    declared.write_text(yaml.safe_dump(document, sort_keys=False))
    assert not [f for f in _verify_copy(project).findings if f.rule in ("EV-6", "EV-7")]


def test_fails_when_a_pipeline_stage_uses_a_service_connection_nothing_creates(shipped):
    """The Azure DevOps side of EV-6 (review-3-identity-ci R7: ADO prerequisites provisioned
    nowhere): a job's `azureSubscription` names a connection no stack creates."""
    stacks, runs, declared = shipped
    ado = [r for r in runs if r.platform == "azure-devops" and r.service_connection]
    if not ado:
        pytest.skip("no Azure DevOps pipeline ships")
    edited = [dataclasses.replace(r, service_connection="spn-nowhere") if r == ado[0] else r for r in runs]
    findings = _findings(stacks, edited, declared)
    assert [(f.rule, f.identity) for f in findings] == [("EV-6", "spn-nowhere")], _lines(findings)


# --- (d) a hub network in a subscription no identity holds rights in -----------------------------


def _move_hub(text: str, hub: str) -> str:
    moved = hub.replace(hub.split("/")[2], UNHELD_SUBSCRIPTION)
    return text.replace(f"remoteVirtualNetworkId: {hub}\n", f"remoteVirtualNetworkId: {moved}\n")


def test_fails_when_a_hub_network_is_in_a_subscription_no_identity_holds_rights_in(tmp_path):
    """review-3-azure B1: the stage's side of a peering needs
    Microsoft.Network/virtualNetworks/peer/action on the remote network (Microsoft Learn,
    virtual-network-manage-peering, "Permissions"; 403 LinkedAuthorizationFailed otherwise). The
    peering stage's hub moved to a subscription nobody holds rights in: its deployer lacks the
    action there, and the verifier names the deployer, the action and the new network (EV-2)."""
    stack = first(PEERING_STACKS)
    project = copy_repository(tmp_path / "project")
    stack_file = project / f"Pulumi.{stack}.yaml"
    hub = _hub_peering(stack)["remoteVirtualNetworkId"]
    moved = _move_hub(stack_file.read_text(), hub)
    assert moved != stack_file.read_text()
    stack_file.write_text(moved)
    findings = [f for f in _verify_copy(project).findings if f.rule == "EV-2"]
    target = hub.replace(hub.split("/")[2], UNHELD_SUBSCRIPTION)
    assert [(f.identity, f.action, f.scope) for f in findings] == [
        (f"deployer:{stack}", PEER_ACTION, target)
    ], _lines(findings)
    assert f"{stack} deployer" in findings[0].message and findings[0].resource


def test_a_moved_hub_with_the_hub_teams_grant_moved_too_is_clean(tmp_path):
    """The valid variant: the hub team's grant (prerequisites.yaml) and the landing zone follow the
    hub to its new subscription; nothing else changes, so nothing is reported."""
    stack = first(PEERING_STACKS)
    project = copy_repository(tmp_path / "project")
    hub = _hub_peering(stack)["remoteVirtualNetworkId"]
    stack_file = project / f"Pulumi.{stack}.yaml"
    stack_file.write_text(_move_hub(stack_file.read_text(), hub))
    declared = project / prerequisites.FILE_NAME
    target = hub.replace(hub.split("/")[2], UNHELD_SUBSCRIPTION)
    declared.write_text(declared.read_text().replace(hub, target))
    assert _lines(_verify_copy(project).findings) == []


# --- (e) a private registry and a publishing stage without a path ---------------------------------


def _private_registry(plan) -> None:
    plan.one(REGISTRY).inputs["publicNetworkAccess"] = "Disabled"


def test_fails_when_the_registry_is_private_and_a_publishing_stage_has_no_path(shipped):
    """review-3-azure B3: with public access off, "Clients need to be connected to the VNet to which
    the registry is connected with a private endpoint" (MicrosoftDocs/azure-ai-docs
    how-to-registry-network-isolation.md); a publishing stage whose jobs run on GitHub-hosted runners
    has no such path, and promotion fails at its first step (EV-12)."""
    stacks, runs, declared = shipped
    publisher = first(PUBLISHERS)
    if setting(publisher, "ci", {}).get("runnerGroup"):
        pytest.skip("the publishing stage runs on private runners")
    findings = _findings(_edited(stacks, lambda s: s.kind == "shared", _private_registry), runs, declared)
    assert [(f.rule, f.stack) for f in findings] == [("EV-12", publisher)], _lines(findings)
    assert "cannot reach the shared registry" in findings[0].message and "(publish)" in findings[0].message


def test_a_private_registry_reached_only_from_private_runners_is_clean(shipped):
    """The valid variant: without the publishing stage on the Internet, every remaining client (the
    private stages' runners on the hub, every managed network through its outbound rule) has a path
    to the private registry's endpoints, and the registry has endpoints for its storage and ACR in
    every region (EV-12, EV-13 stay quiet)."""
    stacks, runs, declared = shipped
    internet = {s for s in PUBLISHERS if not setting(s, "ci", {}).get("runnerGroup")}
    if not internet:
        pytest.skip("no publishing stage on hosted runners")
    kept = _edited(
        [s for s in stacks if s.stack not in internet], lambda s: s.kind == "shared", _private_registry
    )
    assert _lines(_findings(kept, runs, declared)) == []


# --- the other rules, one mutation each ------------------------------------------------------------

OWNER_GUID = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
"""Owner (Microsoft Learn, Azure built-in roles): outside every condition bootstrap writes (RB-1)."""


def _conditioned_assignment(stacks: list[StackPlan]) -> tuple[str, str]:
    """(stack, role assignment) of a stage that its deployer may grant only under an ABAC condition."""
    for stack in stacks:
        if stack.kind == "stage":
            for assignment in stack.plan.of_type(ROLE_ASSIGNMENT):
                if assignment.inputs.get("principalType") == "Group":
                    return stack.stack, assignment.name
    pytest.skip("no stage grants a role to a group")


@pytest.mark.parametrize(
    "change, needle",
    [
        (
            lambda inputs: inputs.update(
                roleDefinitionId=inputs["roleDefinitionId"].rsplit("/", 1)[0] + "/" + OWNER_GUID
            ),
            OWNER_GUID,
        ),
        (lambda inputs: inputs.update(principalType="User"), "to User"),
    ],
    ids=["escalating role", "user principal"],
)
def test_fails_when_a_stage_grants_outside_its_deployers_condition(shipped, change, needle):
    """review-3-azure R3 (the condition must permit exactly the roles and principal types the stack
    grants; RB-1): Role Based Access Control Administrator under bootstrap's condition allows
    roleAssignments/write only for the listed roles to groups and service principals (Microsoft
    Learn, "Examples to delegate Azure role assignment management with conditions"). A planned
    assignment of Owner, or to a user, is allowed by the role but not by its condition (EV-3)."""
    stacks, runs, declared = shipped
    stack, name = _conditioned_assignment(stacks)

    def edit(plan):
        change(next(r for r in plan.of_type(ROLE_ASSIGNMENT) if r.name == name).inputs)

    findings = _findings(_edited(stacks, lambda s: s.stack == stack, edit), runs, declared)
    assert [(f.rule, f.stack, f.resource) for f in findings] == [("EV-3", stack, name)], _lines(findings)
    assert "outside its ABAC condition" in findings[0].message and needle in findings[0].message


def test_fails_when_an_environment_names_no_identity(shipped):
    """review-3-identity-ci B2 ("an identity that nothing creates"): a job's GitHub environment exists
    but no AZURE_CLIENT_ID variable there names an identity bootstrap creates, so `azure/login`
    signs in as nobody (EV-7)."""
    stacks, runs, declared = shipped
    environment = next(r.environment for r in runs if r.platform == "github" and r.operation == "up")

    def drop(plan):
        plan.resources = [
            r
            for r in plan.resources
            if not (
                r.type == "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable"
                and r.inputs.get("variableName") == "AZURE_CLIENT_ID"
                and r.inputs.get("environment") == environment
            )
        ]

    findings = _findings(_edited(stacks, lambda s: s.kind == "bootstrap", drop), runs, declared)
    assert [(f.rule, f.identity) for f in findings] == [("EV-7", environment)], _lines(findings)


def test_fails_when_a_deployed_stack_has_no_state(shipped):
    """A stack a pipeline deploys must exist on the state backend before its first `up` (bootstrap's
    stackInitCommands: `pulumi stack init` with the secrets provider); without it the job's `pulumi
    up --stack` stops at "no stack named" (EV-7)."""
    stacks, runs, declared = shipped
    deployed = next(r.stack for r in runs if r.operation == "up")

    def drop(plan):
        plan.outputs["stackInitCommands"] = [
            c for c in plan.outputs["stackInitCommands"] if f"pulumi stack init {deployed} " not in f"{c} "
        ]

    findings = _findings(_edited(stacks, lambda s: s.kind == "bootstrap", drop), runs, declared)
    assert {(f.rule, f.stack) for f in findings} == {("EV-7", deployed)}, _lines(findings)
    assert "never create on the state backend" in findings[0].message


def test_fails_when_a_job_deploys_a_stack_before_the_stack_it_references(shipped):
    """review-3-identity-ci B2: every stage job waits for the job that deploys the shared stack it
    reads through a stack reference; a job that does not wait may read outputs that do not exist
    yet (EV-8). Waiting through another job counts (the shipped chain)."""
    stacks, runs, declared = shipped
    from mlinfra.estate.delivery_checks import referenced_stacks

    referencing = {s.stack for s in stacks if s.kind == "stage" and referenced_stacks(s)}
    run = next(r for r in runs if r.operation == "up" and r.stack in referencing and r.needs)
    edited = [dataclasses.replace(r, needs=()) if r == run else r for r in runs]
    findings = _findings(stacks, edited, declared)
    # The jobs after it in the chain waited for the reference through it: they are reported too.
    assert {f.rule for f in findings} == {"EV-8"} and all(f.message.startswith(run.file) for f in findings)
    assert any(f"{run.where} deploys {run.stack} without waiting for" in f.message for f in findings)


def test_fails_when_a_cluster_identity_has_no_data_role_on_keyless_storage(shipped):
    """review-3-azure F6: with shared keys off, a cluster's managed identity needs a blob data role on
    the workspace storage ("Grant compute managed identity at least Storage Blob Data Reader role on
    the storage account", MicrosoftDocs/azure-ai-docs how-to-identity-based-service-authentication.md;
    EV-14)."""
    from mlinfra.planner.mock_cloud import system_principal_id

    stacks, runs, declared = shipped
    clusters = {
        stack.stack: {
            system_principal_id(stack.arm_id(c) or "")
            for c in stack.plan.of_type("azure-native:machinelearningservices:Compute")
        }
        for stack in stacks
        if stack.kind == "stage"
        and any(
            a.inputs.get("allowSharedKeyAccess") is False
            for a in stack.plan.of_type("azure-native:storage:StorageAccount")
        )
    }
    stack = next((name for name, principals in clusters.items() if principals), None)
    if stack is None:
        pytest.skip("no stage with keyless storage has a cluster")

    def drop(plan):
        plan.resources = [
            r
            for r in plan.resources
            if not (r.type == ROLE_ASSIGNMENT and r.inputs.get("principalId") in clusters[stack])
        ]

    findings = _findings(_edited(stacks, lambda s: s.stack == stack, drop), runs, declared)
    assert findings and {(f.rule, f.stack) for f in findings} == {("EV-14", stack)}, _lines(findings)
