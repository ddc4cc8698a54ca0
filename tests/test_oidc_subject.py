"""The GitHub OIDC subject: its formats, the repository's subject-claim template, the repository
lookup, and the account checks (review-3-identity-ci.md F2, R1, R2, R8).

Sources:
- GitHub, "OpenID Connect reference" (https://docs.github.com/en/actions/reference/security/oidc;
  github/docs content/actions/reference/security/oidc.md): example subjects, immutable subject
  claims, "Customizing the subject claims for an organization or repository".
- integrations/terraform-provider-github@v6.12.1:
  github/resource_github_actions_repository_oidc_subject_claim_customization_template.go (inputs
  `use_default`, `include_claim_keys`; Delete resets to `use_default: true`),
  github/data_source_github_rest_api.go (L52-55: a 404 is a result, not an error),
  github/data_source_github_repository.go (L419-427: `GetPagesInfo` when the repository has Pages).
"""

import json
from typing import cast

import pytest
from pydantic import ValidationError

from mlinfra.access.deployment_identity import DeploymentIdentity, DeploymentIdentityArgs
from mlinfra.access.github_environment import GitHubEnvironment, GitHubEnvironmentArgs
from mlinfra.access.github_oidc import RepositoryFacts, github_subject, repository_facts, template_inputs
from mlinfra.planner.mock_cloud import ArmMocks, github_rest_answer, placeholder_number
from mlinfra.settings.access_settings import IdentityKind
from mlinfra.settings.ci_settings import (
    GitHubOidcSubjectClaims,
    GitHubSettings,
    OidcClaimKey,
    OidcSubjectFormat,
)
from tests.conftest import OWNERS, PRODUCTION_STACK, PROJECT_DIR, run_program

APP_FIC = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
UAMI_FIC = "azure-native:managedidentity:FederatedIdentityCredential"
TEMPLATE = "github:index/actionsRepositoryOidcSubjectClaimCustomizationTemplate:ActionsRepositoryOidcSubjectClaimCustomizationTemplate"
REST = "github:index/getRestApi:getRestApi"

OCTO = RepositoryFacts(
    owner="octo-org",
    owner_id=123456,
    owner_type="Organization",
    name="octo-repo",
    repository_id=456789,
    visibility="private",
)
GOVERNED = {
    "claimKeys": ["repo", "context", "job_workflow_ref"],
    "jobWorkflowRef": "octo-org/octo-automation/.github/workflows/oidc.yml@refs/heads/main",
    "repositoryIds": False,
}
BASE = {"repository": "contoso/churn-mlops", "reviewers": {"users": ["alex-mle"]}}


def claims(**fields) -> GitHubOidcSubjectClaims:
    return GitHubOidcSubjectClaims.model_validate(fields, by_name=False)


def settings(**fields) -> GitHubSettings:
    return GitHubSettings.model_validate({**BASE, **fields}, by_name=False)


# --- the subject of each format, as GitHub documents it ---------------------------------------


def test_classic_subject_is_githubs_environment_example():
    """OIDC reference, "Filtering for a specific environment": `repo:octo-org/octo-repo:environment:Production`."""
    subject = github_subject(OidcSubjectFormat.CLASSIC, OCTO, "Production")
    assert subject == "repo:octo-org/octo-repo:environment:Production"


def test_immutable_subject_carries_owner_and_repository_ids():
    """OIDC reference, "Immutable subject claims": `repo:OWNER@OWNER-ID/REPO@REPO-ID:...`, example
    `repo:octo-org@123456/octo-repo@456789:...`."""
    subject = github_subject(OidcSubjectFormat.IMMUTABLE, OCTO, "live")
    assert subject == "repo:octo-org@123456/octo-repo@456789:environment:live"


def test_custom_subject_pinning_a_reusable_workflow_is_githubs_example():
    """OIDC reference, "Example: Requiring a reusable workflow and other claims": keys
    `[repo, context, job_workflow_ref]` give `repo:octo-org/octo-repo:environment:prod:job_workflow_ref:
    octo-org/octo-automation/.github/workflows/oidc.yml@refs/heads/main`."""
    subject = github_subject(OidcSubjectFormat.CUSTOM, OCTO, "live", claims(**GOVERNED))
    assert subject == (
        "repo:octo-org/octo-repo:environment:live:"
        "job_workflow_ref:octo-org/octo-automation/.github/workflows/oidc.yml@refs/heads/main"
    )


def test_custom_subject_escapes_colons_in_values():
    """OIDC reference, "Example: Context value with `:`": keys `[environment, repository_owner]` and
    environment `production:eastus` give `environment:production%3Aeastus:repository_owner:octo-org`.
    (Config refuses this key set, which binds no repository; the builder follows GitHub.)"""
    keys = GitHubOidcSubjectClaims.model_construct(
        claim_keys=[OidcClaimKey.ENVIRONMENT, OidcClaimKey.REPOSITORY_OWNER], job_workflow_ref=None
    )
    subject = github_subject(OidcSubjectFormat.CUSTOM, OCTO, "production:eastus", keys)
    assert subject == "environment:production%3Aeastus:repository_owner:octo-org"


def test_custom_subject_of_an_immutable_repository_keeps_the_ids():
    """OIDC reference note: "For repositories using immutable subject claims, `owner_id` and
    `repo_id` are always included in the `repo` segment ... even when you customize claims"."""
    subject = github_subject(
        OidcSubjectFormat.CUSTOM, OCTO, "live", claims(claimKeys=["repo", "context"], repositoryIds=True)
    )
    assert subject == "repo:octo-org@123456/octo-repo@456789:environment:live"


def test_custom_subject_by_ids():
    """OIDC reference, "Example: Using system-generated GUIDs": `repository_id` as a claim key."""
    subject = github_subject(
        OidcSubjectFormat.CUSTOM,
        OCTO,
        "live",
        claims(claimKeys=["repository_owner_id", "repository_id", "context"]),
    )
    assert subject == "repository_owner_id:123456:repository_id:456789:environment:live"


# --- the template each format pins ----------------------------------------------------------


@pytest.mark.parametrize("subject_format", [OidcSubjectFormat.CLASSIC, OidcSubjectFormat.IMMUTABLE])
def test_default_formats_pin_githubs_default_template(subject_format):
    """`use_default: true` is GitHub's default template, not the organization's: a repository takes
    the organization template only with `use_default: false` (OIDC reference, "Example: Configuring
    a repository to use an organization template"; provider docs table: false + unset keys =
    "Organization's default if set")."""
    assert template_inputs(subject_format, None) == (True, None)


def test_custom_format_pins_its_claim_keys_in_order():
    assert template_inputs(OidcSubjectFormat.CUSTOM, claims(**GOVERNED)) == (
        False,
        ["repo", "context", "job_workflow_ref"],
    )


# --- config ---------------------------------------------------------------------------------


def test_legacy_is_accepted_as_classic():
    assert settings(oidcSubjectFormat="legacy").oidc_subject_format == OidcSubjectFormat.CLASSIC


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"oidcSubjectFormat": "custom"}, "the custom subject format needs oidcSubjectClaims"),
        (
            {"oidcSubjectFormat": "immutable", "oidcSubjectClaims": GOVERNED},
            "oidcSubjectClaims is set but oidcSubjectFormat is 'immutable'",
        ),
        (
            {
                "oidcSubjectFormat": "custom",
                "oidcSubjectClaims": {"claimKeys": ["repository_owner", "context"]},
            },
            "claimKeys must include repo or repository_id",
        ),
        (
            {
                "oidcSubjectFormat": "custom",
                "oidcSubjectClaims": {"claimKeys": ["repo"], "repositoryIds": False},
            },
            "claimKeys must include context or environment",
        ),
        (
            {
                "oidcSubjectFormat": "custom",
                "oidcSubjectClaims": {"claimKeys": ["repository_id", "context", "job_workflow_ref"]},
            },
            "jobWorkflowRef is required when claimKeys include job_workflow_ref",
        ),
        (
            {"oidcSubjectFormat": "custom", "oidcSubjectClaims": {"claimKeys": ["repo", "context"]}},
            "repositoryIds is required when claimKeys include repo",
        ),
        (
            {
                "oidcSubjectFormat": "custom",
                "oidcSubjectClaims": {"claimKeys": ["repository_id", "context", "ref"]},
            },
            "claimKeys.2",
        ),
        (
            {"oidcSubjectFormat": "immutable", "oidcSubjectAlsoTrusted": ["immutable"]},
            "oidcSubjectAlsoTrusted lists 'immutable', the oidcSubjectFormat itself",
        ),
    ],
)
def test_fails_when_the_subject_settings_do_not_fit(fields, needle):
    with pytest.raises(ValidationError) as error:
        settings(**fields)
    assert needle in str(error.value)


def test_fails_when_the_job_workflow_ref_is_not_a_workflow_at_a_ref():
    with pytest.raises(ValidationError, match=r"jobWorkflowRef|job_workflow_ref"):
        claims(**{**GOVERNED, "jobWorkflowRef": "octo-org/octo-automation/.github/workflows/oidc.yml"})


# --- the component under the mock engine ------------------------------------------------------


def build(fields: dict, kind=IdentityKind.ENTRA_APPLICATION):
    def program():
        identity = DeploymentIdentity(
            "live-deploy",
            DeploymentIdentityArgs(
                display_name="id-churn-live-cicd-abcde",
                resource_group_name="rg",
                location="westeurope",
                tags={},
                owners=OWNERS,
                kind=kind,
            ),
        )
        GitHubEnvironment(
            "live-github",
            GitHubEnvironmentArgs(
                environment="live",
                settings=settings(**fields),
                identity=identity,
                secrets={},
                variables={},
            ),
        )

    return run_program(program, PRODUCTION_STACK)


@pytest.mark.parametrize(
    ("fields", "use_default", "keys"),
    [
        ({"oidcSubjectFormat": "classic"}, True, None),
        ({"oidcSubjectFormat": "immutable"}, True, None),
        ({"oidcSubjectFormat": "custom", "oidcSubjectClaims": GOVERNED}, False, GOVERNED["claimKeys"]),
    ],
)
def test_the_environment_pins_the_template_after_its_credential(fields, use_default, keys):
    plan = build(fields)
    template = plan.one(TEMPLATE)
    assert template.inputs["repository"] == "churn-mlops"
    assert template.inputs["useDefault"] is use_default
    assert template.inputs.get("includeClaimKeys") == keys
    assert plan.one(APP_FIC).urn in template.dependencies  # credential first (OIDC reference)
    assert template.retain_on_delete  # delete would reset the template under other stacks


def test_the_custom_subject_is_what_the_template_makes_github_emit():
    plan = build({"oidcSubjectFormat": "custom", "oidcSubjectClaims": GOVERNED})
    assert plan.one(APP_FIC).inputs["subject"] == (
        "repo:contoso/churn-mlops:environment:live:"
        "job_workflow_ref:octo-org/octo-automation/.github/workflows/oidc.yml@refs/heads/main"
    )


def test_the_repository_is_read_through_the_rest_api_not_get_repository():
    """R2: `get_repository` also calls `GET /repos/{o}/{r}/pages` for a repository with Pages
    (data_source_github_repository.go@v6.12.1 L419-427), which needs "Pages: read" (GitHub App
    permissions table); `get_rest_api` of `repos/<owner>/<name>` makes only that one call."""
    plan = build({"oidcSubjectFormat": "immutable"})
    tokens = [call["token"] for call in plan.lookups]
    assert "github:index/getRepository:getRepository" not in tokens
    assert [call["args"]["endpoint"] for call in plan.lookups if call["token"] == REST] == [
        "repos/contoso/churn-mlops"
    ]
    owner_id = placeholder_number("github-user", "contoso")
    repository_id = placeholder_number("github-repo", "contoso/churn-mlops")
    assert (
        plan.one(APP_FIC).inputs["subject"]
        == f"repo:contoso@{owner_id}/churn-mlops@{repository_id}:environment:live"
    )


def test_fails_when_github_does_not_show_the_repository():
    """A 404 is a result of `get_rest_api` (data_source_github_rest_api.go@v6.12.1 L52-55), so an
    unseen repository would otherwise be trusted with made-up ids."""
    with pytest.raises(
        ValueError, match=r"GitHub answered 404 to GET repos/contoso/churn-mlops .*Metadata: read"
    ):
        repository_facts("contoso/churn-mlops", 404, '{"message": "Not Found"}')


def test_repository_facts_read_githubs_answer():
    answer = github_rest_answer("repos/Contoso/Churn")
    body = json.loads(answer["body"])
    body["full_name"], body["owner"]["login"] = "Contoso/Churn", "Contoso"
    facts = repository_facts("contoso/churn", 200, json.dumps(body))
    assert (facts.owner, facts.name, facts.owner_type) == ("Contoso", "Churn", "Organization")


class PersonalAccount(ArmMocks):
    def call(self, args):
        result, failures = super().call(args)
        if args.token == REST:
            body = json.loads(result["body"])
            body["owner"]["type"] = "User"
            result = {**result, "body": json.dumps(body)}
        return result, failures


def test_fails_when_a_personal_account_names_team_reviewers(monkeypatch):
    """R8: teams exist only in organizations (GitHub REST "Get a team by name" is
    `GET /orgs/{org}/teams/{team_slug}`); `owner.type` of the repository answer tells."""
    from mlinfra.planner import recorder

    monkeypatch.setattr(recorder, "ArmMocks", PersonalAccount)
    with pytest.raises(Exception, match="contoso is a personal account, which has no teams"):
        build({"oidcSubjectFormat": "classic", "reviewers": {"teams": ["ml-engineers"]}})


@pytest.mark.parametrize("kind", [IdentityKind.ENTRA_APPLICATION, IdentityKind.MANAGED_IDENTITY])
def test_a_move_between_formats_trusts_both_with_a_credential_each(kind):
    """docs/ci-cd.md "Changing the subject format": the new format's credential is added next to
    the old one (issuer + subject are unique per identity, so neither is rewritten in place) and the
    template waits for both."""
    plan = build({"oidcSubjectFormat": "immutable", "oidcSubjectAlsoTrusted": ["classic"]}, kind)
    fic = APP_FIC if kind == IdentityKind.ENTRA_APPLICATION else UAMI_FIC
    credentials = plan.of_type(fic)
    subjects = sorted(c.inputs["subject"] for c in credentials)
    assert subjects[0].startswith("repo:contoso/churn-mlops:") and "@" in subjects[1]
    name_key = (
        "displayName" if kind == IdentityKind.ENTRA_APPLICATION else "federatedIdentityCredentialResourceName"
    )
    assert sorted(c.inputs[name_key] for c in credentials) == [
        "github-contoso-churn-mlops-live-classic",
        "github-contoso-churn-mlops-live-immutable",
    ]
    assert {c.urn for c in credentials} <= set(plan.one(TEMPLATE).dependencies)


def test_policy_accepts_a_governed_custom_subject_in_production():
    """ID-4 holds for custom subjects too: exactly one environment pair, and a repository pair."""
    from mlinfra.review.check_config import load_pack

    load_pack(PROJECT_DIR)  # puts the pack's directory on sys.path
    from mlinfra_policy import identity as identity_policy

    subject = "repo:contoso/churn:environment:prod:job_workflow_ref:contoso/platform/.github/workflows/d.yml@refs/heads/main"

    from types import SimpleNamespace

    props = {
        "subject": subject,
        "issuer": identity_policy.GITHUB_ISSUER,
        "audiences": ["api://AzureADTokenExchange"],
    }
    args = SimpleNamespace(props=props)

    assert list(identity_policy._subject(args, production=True)) == []
    args.props = {**props, "subject": "repository_owner:contoso:environment:prod"}
    assert "names no repository" in next(iter(identity_policy._subject(args, production=True)))


def test_bootstrap_pins_the_infra_repository_template_once_after_every_credential():
    """Bootstrap's environments share one repository, so the repository's template is one
    resource, created after every environment's credential for the format."""
    from tests.test_bootstrap import bootstrap_plan

    platform = bootstrap_plan()
    template = platform.one(TEMPLATE)
    credentials = [*platform.of_type(APP_FIC), *platform.of_type(UAMI_FIC)]
    github_credentials = [
        c for c in credentials if c.inputs.get("issuer") == "https://token.actions.githubusercontent.com"
    ]
    assert github_credentials and {c.urn for c in github_credentials} <= set(template.dependencies)
    assert template.inputs["useDefault"] is True  # the shipped file says immutable


def test_the_permission_tables_ask_for_actions_on_every_repository_with_a_template(stack_plans):
    """GitHub REST "Set the customization template for an OIDC subject claim for a repository"
    (docs.github.com/rest/actions/oidc) needs the repository permission "Actions" (write; read to
    refresh): `mlinfra permissions` and the README tables list it wherever a template is planned."""
    from mlinfra.planner.stackfile import load_stack_config
    from mlinfra.review.permissions import DEPLOYER, PREVIEW, requirements
    from tests.conftest import GITHUB_STACKS

    for stack in GITHUB_STACKS:
        plan = stack_plans[stack]
        [template] = plan.of_type(TEMPLATE)
        needs = requirements(
            plan, load_stack_config(PROJECT_DIR, stack).values["azure-native:subscriptionId"]
        )
        github = {
            (r.identity, r.permission)
            for r in needs
            if r.system == "GitHub" and template.inputs["repository"] in r.scope
        }
        assert {(DEPLOYER, "Actions: write"), (PREVIEW, "Actions: read")} <= github


def test_the_environments_view_names_the_repository_of_a_custom_subject():
    from mlinfra.planner.views import environments_view

    plan = build({"oidcSubjectFormat": "custom", "oidcSubjectClaims": GOVERNED})
    [view] = environments_view(plan)
    assert view["repository"] == "contoso/churn-mlops"
    ids_only = build(
        {"oidcSubjectFormat": "custom", "oidcSubjectClaims": {"claimKeys": ["repository_id", "context"]}}
    )
    [view] = environments_view(ids_only)
    assert view["repository"] == "churn-mlops"  # no `repo` segment: the environment's repository input


def test_a_production_stack_with_a_governed_custom_subject_plans_and_passes_the_policy_pack():
    """End to end: the real program with `custom` claim keys pinned to an approved reusable
    workflow, then the policy pack (ID-3, ID-4) over the plan."""
    from mlinfra.review.check import check_plan
    from tests.conftest import PRODUCTION_STACKS, first, plan, setting

    def ci_of(stack: str) -> dict:
        return cast(dict, setting(stack, "ci"))

    stack = first(tuple(s for s in PRODUCTION_STACKS if ci_of(s).get("github")))
    ci = ci_of(stack)
    ci["github"] = {**ci["github"], "oidcSubjectFormat": "custom", "oidcSubjectClaims": GOVERNED}
    result = plan(stack, **{"mlinfra:ci": ci})
    [template] = result.of_type(TEMPLATE)
    assert template.inputs["includeClaimKeys"] == GOVERNED["claimKeys"]
    subjects = [
        r.inputs["subject"]
        for r in [*result.of_type(APP_FIC), *result.of_type(UAMI_FIC)]
        if r.inputs.get("issuer") == "https://token.actions.githubusercontent.com"
    ]
    assert subjects and all(f":environment:{stack}:job_workflow_ref:" in s for s in subjects)
    violations = check_plan(result.to_json(), PROJECT_DIR, stack)
    assert [v.message for v in violations if v.policy == "federated-credential-subject"] == []


def test_fails_when_the_infra_repository_pins_a_reusable_workflow():
    """Bootstrap's infra-preview serves pull-request.yml's preview job, which is no reusable workflow
    and runs at refs/pull/<n>/merge. GitHub documents `job_workflow_ref` only for reusable workflows
    ("OIDC token claims"), so the claim is missing or changes per pull request: refused."""
    from bootstrap.settings import GitHubRepositorySettings

    with pytest.raises(ValidationError, match="job_workflow_ref cannot serve the infra repository"):
        GitHubRepositorySettings.model_validate(
            {"repository": "contoso/mlinfra", "oidcSubjectFormat": "custom", "oidcSubjectClaims": GOVERNED},
            by_name=False,
        )
    ok = {"claimKeys": ["repo", "context"], "repositoryIds": True}
    GitHubRepositorySettings.model_validate(
        {"repository": "contoso/mlinfra", "oidcSubjectFormat": "custom", "oidcSubjectClaims": ok},
        by_name=False,
    )


def _aliases_by_name(monkeypatch, fields: dict) -> dict[str, list[str]]:
    from mlinfra.planner import recorder
    from mlinfra.planner.recorder import RecordingMonitor

    seen: dict[str, list[str]] = {}

    class AliasSpy(RecordingMonitor):
        def RegisterResource(self, request):
            names = [alias.spec.name for alias in request.aliases if alias.HasField("spec")]
            seen[request.name] = names + [urn.split("::")[-1] for urn in request.aliasURNs]
            return super().RegisterResource(request)

    monkeypatch.setattr(recorder, "RecordingMonitor", AliasSpy)
    build(fields)
    return seen


def test_upgrading_renames_the_credential_instead_of_adding_a_second_with_the_same_subject(monkeypatch):
    """Before formats were named the credential was `<env>-federation`; the credential of
    `oidcSubjectFormat` takes that name as an alias, so Pulumi replaces it (delete first) rather
    than creating a duplicate issuer + subject, which Entra refuses. A format only also trusted is
    a new credential (docs/ci-cd.md, step 1 keeps oidcSubjectFormat)."""
    alone = _aliases_by_name(monkeypatch, {"oidcSubjectFormat": "immutable"})
    assert alone["live-github-federation-immutable"] == ["live-github-federation"]
    adding = _aliases_by_name(
        monkeypatch, {"oidcSubjectFormat": "classic", "oidcSubjectAlsoTrusted": ["immutable"]}
    )
    assert adding["live-github-federation-classic"] == ["live-github-federation"]
    assert adding["live-github-federation-immutable"] == []
