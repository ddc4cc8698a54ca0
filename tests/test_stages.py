"""The stage catalog drives the rules: production rules from the `production` trait, each relaxed
only with a reason that the plan and the diff show; stack names `<stage>` or `<workload>-<stage>`;
the `mlinfra` namespace whatever the project's name. Parametrised over the catalog and the stack
files that exist; no stage is named here."""

import dataclasses
import json

import pytest

from mlinfra.config.config_error import ConfigError
from mlinfra.config.rules.production_rules import ProductionRule
from mlinfra.diff.compare import diff_plans
from mlinfra.planner import recorder
from mlinfra.planner.stackfile import StackConfig
from tests.conftest import (
    CATALOG,
    DATA_SCIENCE_STACK,
    PRODUCTION_STACK,
    PRODUCTION_STACKS,
    PROJECT_DIR,
    STACKS,
    plan,
    problem_lines,
    stack_config,
    stage_of,
)

REASON = "vendor mirror pending approval, TICKET-42"
RELAXATION = "mlinfra:policy:ProductionRelaxation"


def refused(config: StackConfig) -> str:
    with pytest.raises(ConfigError) as caught:
        recorder.record(recorder.main_program(PROJECT_DIR), config)
    message = str(caught.value)
    return problem_lines(message)


def values(stack: str) -> dict:
    """The stack's effective `mlinfra:` objects (project defaults applied), parsed."""
    config = stack_config(stack)
    return {
        key: json.loads(value)
        for key, value in config.values.items()
        if key.startswith("mlinfra:") and value.startswith(("{", "["))
    }


def with_section(stack: str, key: str, *, drop: tuple[str, ...] = (), **changes) -> dict:
    section = {k: v for k, v in values(stack).get(key, {}).items() if k not in drop}
    return {key: {**section, **changes}}


def public(stack: str) -> dict:
    """A public network, and so no monitoring private link scope (it needs private endpoints)."""
    return {
        "mlinfra:network": {"publicNetworkAccessEnabled": True},
        **with_section(stack, "mlinfra:monitoring", drop=("privateLinkScope",)),
    }


BREAKS = {
    ProductionRule.PRIVATE_NETWORK: public,
    ProductionRule.PURGE_PROTECTION: lambda stack: {
        **with_section(stack, "mlinfra:keyVault", purgeProtectionEnabled=False),
        "mlinfra:encryption": None,  # a customer-managed key needs purge protection (ML-4)
    },
    ProductionRule.RESOURCE_PROTECTION: lambda stack: {
        "mlinfra:resourceProtection": {"protect": False, "retainOnDelete": False}
    },
    ProductionRule.ISOLATION_MODE: lambda stack: with_section(
        stack,
        "mlinfra:workspace",
        # outbound rules exist only in AllowOnlyApprovedOutbound mode
        drop=("outboundRules", "outboundRuleSets", "firewallSku", "batchEndpointsEnabled"),
        isolationMode="AllowInternetOutbound",
    ),
    ProductionRule.PREMIUM_REGISTRY: lambda stack: {
        "mlinfra:containerRegistry": {"sku": "Standard"},
        "mlinfra:encryption": None,  # a registry takes a customer-managed key in Premium only (ML-4)
        # a Standard registry needs public access (ACR-3), itself a relaxation
        **public(stack),
        "mlinfra:productionRelaxations": {"privateNetwork": REASON},
    },
    ProductionRule.HIGH_BUSINESS_IMPACT: lambda stack: with_section(
        stack, "mlinfra:workspace", highBusinessImpact=False
    ),
    ProductionRule.DIAGNOSTICS: lambda stack: {"mlinfra:diagnostics": {"enabled": False}},
    ProductionRule.LOCK: lambda stack: {"mlinfra:lock": {"kind": "None"}},
    ProductionRule.GATED_CI: lambda stack: {
        "mlinfra:ci": {
            **values(stack)["mlinfra:ci"],
            "github": {**values(stack)["mlinfra:ci"]["github"], "branchPolicy": {"anyBranch": True}},
        }
    },
}
"""One way to break each production rule, from a production stack file."""


def test_every_production_rule_has_a_breaking_case():
    assert set(BREAKS) == set(ProductionRule)


@pytest.mark.parametrize("stack", PRODUCTION_STACKS)
@pytest.mark.parametrize("rule", list(ProductionRule))
def test_fails_when_a_production_stack_breaks_a_rule_without_a_reason(stack, rule):
    overrides = BREAKS[rule](stack)
    relaxed = {**overrides.get("mlinfra:productionRelaxations", {})}
    message = refused(stack_config(stack, **{**overrides, "mlinfra:productionRelaxations": relaxed or None}))
    assert f"relax it with productionRelaxations.{rule}: <reason>" in message


@pytest.mark.parametrize("rule", list(ProductionRule))
def test_a_relaxed_rule_plans_and_shows_in_the_plan_and_the_diff(rule):
    """On one production stack: the rules come from the trait, and the test above refuses each
    unrelaxed break on every production stack file."""
    stack = PRODUCTION_STACK
    overrides = BREAKS[rule](stack)
    relaxed = {**overrides.get("mlinfra:productionRelaxations", {}), str(rule): REASON}
    relaxed_plan = plan(stack, **{**overrides, "mlinfra:productionRelaxations": relaxed})
    records = {r.inputs["rule"]: r.inputs for r in relaxed_plan.of_type(RELAXATION)}
    assert records[str(rule)] == {"stage": stage_of(stack).name, "rule": str(rule), "reason": REASON}
    diff = diff_plans(stack, plan(stack).to_json(), relaxed_plan.to_json())
    added = [change for change in diff.resources if change.type == RELAXATION and change.change == "added"]
    assert any({"path": "reason", "before": None, "after": REASON} in change.inputs for change in added)
    findings = [f.text for f in diff.findings if f.category == "relaxation"]
    assert f"production rule {rule} of stage {stage_of(stack).name} relaxed: {REASON}" in findings
    assert diff.findings[0].category == "relaxation"  # first among the security-relevant changes
    back = diff_plans(stack, relaxed_plan.to_json(), plan(stack).to_json())
    assert f"production rule {rule} of stage {stage_of(stack).name} no longer relaxed" in [
        f.text for f in back.findings
    ]


@pytest.mark.parametrize("stack", PRODUCTION_STACKS)
def test_fails_listing_every_rule_when_a_production_file_has_data_science_values(stack):
    """A production stack file with a data-science stack's values copied in: one message, every rule."""
    copied = {key: value for key, value in stack_config(DATA_SCIENCE_STACK).values.items()}
    copied["azure-native:subscriptionId"] = stack_config(stack).values["azure-native:subscriptionId"]
    message = refused(StackConfig("mlinfra", stack, copied, ()))
    broken = {rule for rule in ProductionRule if f"productionRelaxations.{rule}:" in message}
    assert broken == set(ProductionRule)


@pytest.mark.parametrize("stack", [stack for stack in STACKS if not stage_of(stack).production])
def test_fails_when_a_non_production_stack_relaxes_a_rule(stack):
    message = refused(stack_config(stack, **{"mlinfra:productionRelaxations": {"privateNetwork": REASON}}))
    assert "productionRelaxations.privateNetwork: stage" in message and "is not a production stage" in message


@pytest.mark.parametrize("stack", PRODUCTION_STACKS)
def test_fails_when_a_relaxation_relaxes_a_rule_the_stack_meets(stack):
    message = refused(
        stack_config(stack, **{"mlinfra:productionRelaxations": {"highBusinessImpact": REASON}})
    )
    assert (
        "productionRelaxations.highBusinessImpact: the stage meets this rule; remove the relaxation"
        in message
    )


@pytest.mark.parametrize("stack", PRODUCTION_STACKS)
def test_fails_when_a_relaxation_has_no_real_reason(stack):
    overrides = BREAKS[ProductionRule.HIGH_BUSINESS_IMPACT](stack)
    message = refused(
        stack_config(stack, **overrides, **{"mlinfra:productionRelaxations": {"highBusinessImpact": ""}})
    )
    assert 'mlinfra:productionRelaxations.highBusinessImpact: got ""' in message


@pytest.mark.parametrize("stack", STACKS)
def test_shipped_stack_files_need_no_relaxation(stack):
    assert plan(stack).of_type(RELAXATION) == []


# --- stack names and the catalog at run time -------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_workload_prefixed_stack_name_plans_with_its_own_ci_environment(stack):
    config = stack_config(stack)
    workload = config.values["mlinfra:workload"]
    prefixed = f"{workload}-{stage_of(stack).name}"
    result = recorder.record(
        recorder.main_program(PROJECT_DIR), StackConfig("mlinfra", prefixed, config.values, ())
    )
    environments = [
        r.inputs["environment"]
        for r in result.of_type("github:index/repositoryEnvironment:RepositoryEnvironment")
    ]
    assert environments in ([], [prefixed])


@pytest.mark.parametrize("stack", STACKS)
def test_fails_when_the_stack_names_another_workload(stack):
    config = stack_config(stack)
    message = refused(StackConfig("mlinfra", f"other-{stage_of(stack).name}", config.values, ()))
    assert (
        f'stack name: got "other-{stage_of(stack).name}"; its workload "other" must equal mlinfra:workload'
        in message
    )


def test_fails_when_the_stack_names_a_stage_outside_the_catalog():
    config = stack_config(STACKS[0])
    message = refused(StackConfig("mlinfra", "nostage", config.values, ()))
    assert (
        f'stack name: got "nostage"; expected <stage> or <workload>-<stage> with a stage of mlinfra:stages: {", ".join(CATALOG)}'
        in message
    )


def test_fails_when_the_stack_overrides_the_catalog():
    catalog = json.loads(stack_config(STACKS[0]).values["mlinfra:stages"])
    changed = [{**stage, "code": stage["code"][::-1]} for stage in catalog]
    message = refused(stack_config(STACKS[0], **{"mlinfra:stages": changed}))
    assert "mlinfra:stages: set by the stack; the stage catalog belongs to the project" in message


def test_fails_when_two_stages_share_a_code():
    catalog = json.loads(stack_config(STACKS[0]).values["mlinfra:stages"])
    twice = [*catalog, {**catalog[0], "name": catalog[0]["name"] + "x"}]
    message = refused(stack_config(STACKS[0], **{"mlinfra:stages": twice}))
    assert f"code {catalog[0]['code']} appears twice" in message


def test_fails_when_a_catalog_entry_is_malformed():
    catalog = json.loads(stack_config(STACKS[0]).values["mlinfra:stages"])
    broken = [{**catalog[0], "code": "toolong"}, *catalog[1:]]
    message = refused(stack_config(STACKS[0], **{"mlinfra:stages": broken}))
    assert 'mlinfra:stages.0.code: got "toolong"; expected 3 lowercase letters or digits' in message


def test_fails_with_what_to_do_when_settings_use_a_renamed_projects_namespace():
    """A renamed project reads `mlinfra:` still; keys under the new name would be ignored, so refused."""
    config = stack_config(STACKS[0])
    renamed = {key.replace("mlinfra:", "churnml:", 1): value for key, value in config.values.items()}
    message = refused(StackConfig("churnml", STACKS[0], renamed, ()))
    assert (
        "the config namespace is 'mlinfra' whatever the project's name; rename every 'churnml:' key"
        in message
    )


def test_a_renamed_project_keeps_every_mlinfra_setting():
    config = stack_config(STACKS[0])
    renamed = recorder.record(
        recorder.main_program(PROJECT_DIR), StackConfig("churnml", STACKS[0], config.values, ())
    )
    original = plan(STACKS[0])
    inputs = lambda result: sorted(json.dumps(r.inputs, sort_keys=True) for r in result.resources if r.custom)  # noqa: E731
    assert inputs(renamed) == inputs(original)


# --- the tests themselves name no stage ----------------------------------------------------

TESTS_DIR = PROJECT_DIR / "tests"

STACK_FILE_TESTS = {
    ("test_stack_files.py", "test_dev_is_reachable_experimental_and_disposable"): "Pulumi.dev.yaml",
    ("test_stack_files.py", "test_prod_key_vault_keeps_deleted_secrets_90_days"): "Pulumi.prod.yaml",
    ("test_github_environment.py", "test_prod_needs_two_people_in_the_reviewer_pool"): "Pulumi.prod.yaml",
    (
        "test_azure_devops_environment.py",
        "test_connection_never_sends_resource_group_next_to_credentials",
    ): "examples/azure-devops/Pulumi.prod.yaml",
    (
        "test_azure_devops_environment.py",
        "test_the_azure_devops_example_plans_with_config_file",
    ): "examples/azure-devops/Pulumi.prod.yaml",
    (
        "test_azure_devops_environment.py",
        "test_the_both_platforms_example_has_one_credential_per_platform",
    ): "examples/both-platforms/Pulumi.prod.yaml",
    ("test_azure_devops_environment.py", "test_cli_plans_a_config_file_in_json"): (
        "examples/azure-devops/Pulumi.prod.yaml"
    ),
    (
        "test_azure_devops_environment.py",
        "test_the_variable_group_has_the_github_environment_variables",
    ): "examples/*/Pulumi.prod.yaml",
    ("test_permissions.py", "test_azure_devops_stage_needs_project_rights"): (
        "examples/azure-devops/Pulumi.prod.yaml"
    ),
    ("test_credential_names.py", "test_fails_when_two_credential_names_collide_after_sanitizing"): (
        "examples/both-platforms/Pulumi.prod.yaml"
    ),
    (
        "test_ml_promotion_example.py",
        "test_github_example_passes_the_shared_version_on_and_deploys_it_twice",
    ): ("examples/ml-project/.github/workflows (hand-written for the shipped catalog)"),
    ("test_credential_names.py", "BOTH"): "examples/both-platforms/Pulumi.prod.yaml",
    ("test_ci_names.py", "test_every_variable_group_variable_follows_the_pipeline_variable_rule"): (
        "examples/azure-devops/Pulumi.prod.yaml and examples/both-platforms/Pulumi.prod.yaml"
    ),
    ("test_workflows.py", "STAGE_ENVIRONMENTS"): "examples/ml-project (hand-written for the shipped catalog)",
}
"""Tests of one shipped file that belongs to a named stage: (module, test) -> the file. Each skips
when its stage or file is gone (`with_stack_file`, `with_catalog_stage`)."""

NOT_A_STAGE = {
    ("test_naming.py", "test_suffix_is_stable_across_releases"): "known vectors of unique_suffix",
    ("test_naming.py", "test_compact_names_cannot_collide_across_workload_and_stage_boundaries"): (
        "codes given to stage_names directly"
    ),
    ("test_project_config.py", "test_fails_when_a_stack_file_sets_the_stage_catalog"): "a scratch project",
    (
        "test_project_config.py",
        "test_fails_when_the_default_is_not_of_the_declared_type",
    ): "a scratch project",
    ("test_project_config.py", "test_fails_with_what_to_do_when_the_project_is_renamed"): "a scratch project",
    ("test_dependencies.py", "test_fails_when_a_requirement_is_a_range"): "a dependency group named dev",
    ("test_project_config.py", "merged"): "the file name a scratch config is reported under",
    ("test_stages.py", "STACK_FILE_TESTS"): "the list above",
    ("conftest.py", "stack_config"): "the helpers' default stack (left as is this round)",
    ("conftest.py", "plan"): "the helpers' default stack (left as is this round)",
    ("conftest.py", "run_program"): "the helpers' default stack (left as is this round)",
}
"""Literals that are data the test builds itself, not a stage of the project: (module, name) -> why."""
SCRATCH_STAGE = {
    ("test_delivery_files.py", "test_adding_staging_takes_one_entry_one_stack_file_and_make_workflows"): (
        "the stage it adds to a scratch copy, a catalog stage only there"
    ),
    ("test_estate_mutations.py", "NEW_STAGE"): "the stage its catalog mutations add to scratch copies",
}
"""Names that are catalog stages only in the scratch copy that adds them (not checked for staleness)."""


def stage_literals(source: str, names: set[str]) -> list[tuple[str, int, str]]:
    """(top-level name, line, literal) for every string in `source` that is one of `names` (a stage
    or its code) or names a stage's stack file; docstrings are prose and left out."""
    import ast

    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    found = []
    for top in tree.body:
        if isinstance(top, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            where = top.name
        elif isinstance(top, ast.Assign) and isinstance(top.targets[0], ast.Name):
            where = top.targets[0].id
        else:
            where = f"<line {top.lineno}>"
        for node in ast.walk(top):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)) or id(node) in docstrings:
                continue
            if node.value in names or any(f"Pulumi.{name}.yaml" in node.value for name in names):
                found.append((where, node.lineno, node.value))
    return found


def _catalog_words() -> set[str]:
    return {word for stage in CATALOG.values() for word in (stage.name, stage.code)}


def test_no_test_names_a_stage_unless_it_tests_that_stages_file():
    """Tests run over the catalog and the stack files (conftest's selectors); a stage is named only
    by a test of that stage's own file. So a new stage (docs/stages.md, "Adding a stage") is tested like the
    others without editing a test."""
    allowed = set(STACK_FILE_TESTS) | set(NOT_A_STAGE) | set(SCRATCH_STAGE)
    offending = [
        f"{path.name}:{line} {where}: {literal!r}"
        for path in sorted(TESTS_DIR.glob("*.py"))
        for where, line, literal in stage_literals(path.read_text(), _catalog_words())
        if (path.name, where) not in allowed
    ]
    assert offending == [], "select stages with tests/conftest.py helpers:\n" + "\n".join(offending)


def test_every_allowed_entry_still_names_a_stage():
    """An entry whose test no longer names a stage is dropped, so the list stays the exceptions."""
    hits = {
        (path.name, where)
        for path in sorted(TESTS_DIR.glob("*.py"))
        for where, _, _ in stage_literals(path.read_text(), _catalog_words())
    }
    assert sorted(set(STACK_FILE_TESTS) | set(NOT_A_STAGE)) == sorted(
        (set(STACK_FILE_TESTS) | set(NOT_A_STAGE)) & hits
    )


def test_the_stage_literal_scan_finds_a_named_stage():
    """So the two tests above are not vacuous."""
    name = STACKS[0]
    source = (
        f'def test_x(stack_plans):\n    """About {name}."""\n    return stack_plans["{name}"]\n'
        f'PATH = "Pulumi.{name}.yaml"\n'
    )
    assert [(where, literal) for where, _, literal in stage_literals(source, _catalog_words())] == [
        ("test_x", name),
        ("PATH", f"Pulumi.{name}.yaml"),
    ]


@pytest.mark.parametrize(("production", "data_science"), [(True, False), (False, True), (False, False)])
def test_a_stage_with_one_trait_or_none_is_accepted(production, data_science):
    """mlinfra/config/stage_catalog.py: production and dataScience are each allowed alone."""
    from mlinfra.config.stage_catalog import StageDefinition, catalog_problems

    stage = StageDefinition(name="qa", code="qa1", production=production, data_science=data_science)
    assert catalog_problems([stage]) == []


def test_fails_when_a_stage_is_both_production_and_data_science():
    """docs/security-model.md RB-7: data scientists get no access to production data; the
    dataScience trait is what lets them in without a reason (mlinfra/config/stage_config.py) and what lets a
    production stage share its workspace (WS-2, mlinfra/config/rules/workspace_sharing.py). A stage with both
    traits would cancel the production rule, so the catalog refuses it with the reason."""
    catalog = json.loads(stack_config(STACKS[0]).values["mlinfra:stages"])
    both = [{**catalog[0], "production": True, "dataScience": True}, *catalog[1:]]
    message = refused(stack_config(STACKS[0], **{"mlinfra:stages": both}))
    assert f"stage {catalog[0]['name']} is both production and dataScience" in message
    assert "RB-7" in message


def test_a_catalog_problem_of_pulumi_yaml_is_reported_against_pulumi_yaml(monkeypatch):
    """The catalog is project config (Pulumi.yaml's `mlinfra:stages` default, applied to every
    stack); a problem in it is fixed there, so the message names Pulumi.yaml, not the stack file."""
    from mlinfra.config import loading as config

    real = stack_config(STACKS[0])
    assert "mlinfra:stages" in real.from_project  # the stack file leaves the catalog out
    catalog = json.loads(real.values["mlinfra:stages"])
    for broken, needle in (
        (
            [{**catalog[0], "production": True, "dataScience": True}, *catalog[1:]],
            f"Pulumi.yaml: mlinfra:stages: stage {catalog[0]['name']} is both production and dataScience",
        ),
        (
            [{**catalog[0], "code": "toolong"}, *catalog[1:]],
            'Pulumi.yaml: mlinfra:stages.0.code: got "toolong"',
        ),
    ):
        monkeypatch.setattr(config, "declared_catalog", lambda broken=broken: broken)
        # As if Pulumi.yaml declared `broken`: the value is the project's, not the stack file's.
        values = {**real.values, "mlinfra:stages": json.dumps(broken)}
        message = refused(dataclasses.replace(real, values=values))
        assert needle in message


def test_a_catalog_the_stack_file_sets_is_reported_against_the_stack_file():
    catalog = json.loads(stack_config(STACKS[0]).values["mlinfra:stages"])
    message = refused(
        stack_config(STACKS[0], **{"mlinfra:stages": [{**catalog[0], "code": "toolong"}, *catalog[1:]]})
    )
    assert "Pulumi.yaml: mlinfra:stages" not in message
