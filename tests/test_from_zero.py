"""docs/from-zero.md and `mlinfra todo` (issue 27: the "From zero" steps come from the repository's
data and cover every placeholder of every file; issue 31: `todo`), and the first run in order:
bootstrap, then shared, then each stage, each from the previous one's outputs, verified as one
estate."""

import json
import re
import subprocess
import sys

import pytest

from mlinfra.config.stage_catalog import deployment_order
from mlinfra.estate import model
from mlinfra.estate.prerequisites import load
from mlinfra.facts.stack_names import is_shared_stack
from mlinfra.planner.stackfile import available_stacks, load_stack_config
from mlinfra.repository import from_zero, todo
from mlinfra.repository.placeholders import is_placeholder, placeholders
from tests.conftest import copy_repository
from tests.test_bootstrap import BOOTSTRAP_DIR, PROJECT_DIR, bootstrap_plan

IDENTITY_AND_DELIVERY = {"EV-1", "EV-3", "EV-4", "EV-5", "EV-6", "EV-7", "EV-8", "EV-9"}
"""The estate verifier's identity, rights and delivery rules (mlinfra/estate/findings.py)."""


@pytest.fixture(scope="module")
def page() -> str:
    return (PROJECT_DIR / from_zero.PAGE).read_text(encoding="utf-8")


def test_the_page_is_what_the_files_say(page):
    """`make from-zero` rewrites it; a change to a stack file, the catalog or prerequisites.yaml
    that leaves the page stale fails here."""
    assert page == from_zero.render(PROJECT_DIR)


def test_every_placeholder_of_every_file_is_named(page):
    """Issue 27: every placeholder in every file, Pulumi.yaml and Pulumi.shared.yaml included."""
    found = placeholders(PROJECT_DIR)
    files = {p.file for p in found}
    assert {"Pulumi.yaml", "Pulumi.shared.yaml", "bootstrap/Pulumi.platform.yaml"} <= files
    for placeholder in found:
        assert f"| `{placeholder.file}` | `{placeholder.key}` | `{placeholder.value}` |" in page


def test_the_placeholder_rule_is_the_programs_rule():
    """The page lists what the programs refuse under the real engine (mlinfra/config/config_guards.py)."""
    assert is_placeholder("00000000-0000-0000-0000-000000000012")
    assert is_placeholder("https://dev.azure.com/contoso")
    assert is_placeholder("contoso/churn-mlops")
    assert not is_placeholder("2b1f9c3e-4d5a-4e6f-8a7b-9c0d1e2f3a4b")
    assert not is_placeholder("contosoland/repo")


def test_every_prerequisite_is_a_step(page):
    for item in load(PROJECT_DIR).items:
        assert f"| `{item.id}` | {item.owner} |" in page


def test_stack_init_follows_bootstrap_and_the_deployment_order(page):
    """Step 6 is bootstrap's stackInitCommands, shared first."""
    plan = bootstrap_plan()
    stacks = [re.search(r"stack init (\S+)", c).group(1) for c in plan.outputs["stackInitCommands"]]
    assert stacks == deployment_order(available_stacks(PROJECT_DIR), PROJECT_DIR / "Pulumi.yaml")
    listed = re.findall(r'^pulumi stack init (\S+) --secrets-provider "\$SECRETS"$', page, re.MULTILINE)
    assert listed[-len(stacks) :] == stacks  # after bootstrap's own (step 4)
    for stack in stacks:
        assert f"infra-{stack}" in page


def test_owners_step_names_each_entra_stack(page):
    for stack in (s for s in available_stacks(PROJECT_DIR) if not is_shared_stack(s)):
        identity = json.loads(
            load_stack_config(PROJECT_DIR, stack).values.get("mlinfra:deploymentIdentity", "{}")
        )
        if identity.get("kind") == "entra-application":
            assert f"| `Pulumi.{stack}.yaml` | `mlinfra:deploymentIdentity.owners[0]` |" in page


def test_from_zero_check_exits_1_when_stale(tmp_path):
    root = copy_repository(tmp_path / "repo")
    (root / from_zero.PAGE).write_text("stale\n", encoding="utf-8")
    assert from_zero.main(["--check"], root) == 1
    assert from_zero.main([], root) == 0
    assert from_zero.main(["--check"], root) == 0


def test_todo_lists_placeholders_prerequisites_and_copies(tmp_path, capsys):
    root = copy_repository(tmp_path / "repo")
    stages = [s for s in deployment_order(available_stacks(root), root / "Pulumi.yaml") if s != "shared"]
    first, second = stages[:2]
    subscription = load_stack_config(root, first).values["azure-native:subscriptionId"]
    text = (root / f"Pulumi.{second}.yaml").read_text()
    text = re.sub(r"(?m)^(  azure-native:subscriptionId: ).*$", rf"\g<1>{subscription}", text)
    (root / f"Pulumi.{second}.yaml").write_text(text)
    assert todo.main([], root) == 0
    assert todo.main(["--strict"], root) == 1
    out = capsys.readouterr().out
    assert f"copied       stacks {first}, {second} deploy into one subscription {subscription.lower()}" in out
    assert out.count("placeholder  ") >= len(placeholders(PROJECT_DIR))
    assert "by hand      bootstrap-administrator" in out


def test_todo_from_the_command_line_is_quick():
    result = subprocess.run(
        [sys.executable, "-m", "mlinfra", "todo"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and "left before the first real pulumi up" in result.stdout


def test_first_run_in_order_leaves_no_identity_or_delivery_finding(tmp_path):
    """Issue 27, "From zero, runnable and tested": bootstrap is planned first; its outputs fill the
    stack files as step 5 says (each deployer the first owner of its stack's app); then the shared
    stack and each stage are planned in deployment order (the stages read the shared stack's
    outputs through their stack references) and the estate verifier runs over the result."""
    root = copy_repository(tmp_path / "repo")
    principals = bootstrap_plan().outputs["deployerPrincipalIds"]
    for stack, principal in principals.items():
        path = root / f"Pulumi.{stack}.yaml"
        identity = json.loads(load_stack_config(root, stack).values.get("mlinfra:deploymentIdentity", "{}"))
        if identity.get("kind") != "entra-application" or is_shared_stack(stack):
            continue
        text = path.read_text()
        first = identity["owners"][0]
        assert text.count(first) == 1, stack
        path.write_text(text.replace(first, principal))
    estate = model.build(root)
    order = [s.stack for s in estate.stacks if s.kind != "bootstrap"]
    assert order == deployment_order(order, root / "Pulumi.yaml")
    left = [f.line for f in estate.findings if f.rule in IDENTITY_AND_DELIVERY]
    assert not left, "\n".join(left)
    assert (root / BOOTSTRAP_DIR.name).is_dir()
