"""The plan for reviewers (issue 31): the text plan opens with a summary (counts, what is public,
who gains what, trust, findings, cost-bearing resources), the tree comes after, wrapped to the
terminal's width, and `--format markdown` renders the same summary for a PR or job summary."""

import re

import pytest

from mlinfra.planner.plan_summary import COSTS, summarize, summary_lines
from mlinfra.planner.render import to_markdown, to_text
from mlinfra.planner.views import access_view, network_view
from tests.conftest import STACKS, planner_cli

HEADINGS = ("Resources", "Public", "Who gains what", "Trusted to sign in", "Findings", "Cost-bearing")


@pytest.mark.parametrize("stack", STACKS)
def test_the_summary_comes_before_the_tree_in_reading_order(stack_plans, stack):
    text = to_text(stack_plans[stack], width=100)
    positions = [text.index(f"  {heading}:\n") for heading in HEADINGS]
    assert positions == sorted(positions)
    assert positions[-1] < text.index(" +  pulumi:pulumi:Stack")


@pytest.mark.parametrize("stack", STACKS)
def test_the_summary_agrees_with_the_plan(stack_plans, stack):
    """Counts add up to the plan, every public resource of the network view and every principal
    of the access view is named, and every resource of a billing type is listed."""
    plan = stack_plans[stack]
    summary = summarize(plan)
    assert sum(summary.counts.values()) == summary.total == len(plan.resources)
    public = {e["resource"] for e in network_view(plan)["exposure"] if e["publicNetworkAccess"] == "Enabled"}
    assert set(summary.public) == public
    roles = sum(len(granted) for _, granted in summary.gains)
    assert roles == len(access_view(plan))
    assert len([r for r in plan.resources if r.type in COSTS]) <= len(summary.costs)


def test_a_public_stage_says_what_is_public_and_a_private_one_says_nothing_is(stack_plans):
    by_public = {stack: bool(summarize(plan).public) for stack, plan in stack_plans.items()}
    assert True in by_public.values() and False in by_public.values(), by_public
    for stack, public in by_public.items():
        lines = dict(summary_lines(summarize(stack_plans[stack]), stack))["Public"]
        assert (lines == ["nothing accepts traffic from the internet"]) is not public


@pytest.mark.parametrize("width", [80, 120])
def test_the_tree_wraps_to_the_width_but_keeps_an_arm_id_whole(stack_plans, width):
    """Long lines break at spaces; a token longer than the width (an ARM id, a URL) is not cut,
    so it can be copied from the terminal."""
    # The largest plan: the most nesting, the longest names and ids.
    plan = max(stack_plans.values(), key=lambda plan: len(plan.resources))
    text = to_text(plan, width=width)
    tree = text[text.index(" +  pulumi:pulumi:Stack") : text.index("\nResources: ")]
    for line in tree.splitlines():
        if len(line) > width:
            assert max(len(token) for token in line.split()) > width // 2, line
    assert "/subscriptions/" in tree


def test_the_width_comes_from_columns(monkeypatch, stack_plans):
    plan = next(iter(stack_plans.values()))
    monkeypatch.setenv("COLUMNS", "70")
    narrow = to_text(plan)
    monkeypatch.setenv("COLUMNS", "400")
    wide = to_text(plan)
    assert narrow == to_text(plan, width=70) and wide == to_text(plan, width=400)
    assert narrow != wide


def test_markdown_has_the_summary_the_access_table_and_the_folded_tree(stack_plans):
    plan = next(iter(stack_plans.values()))
    markdown = to_markdown(plan)
    for heading in HEADINGS:
        assert f"\n**{heading}**\n" in markdown
    assert re.search(r"^\| Principal \| .+ \|$", markdown, re.MULTILINE)
    assert "<details>" in markdown and "```text\n" in markdown and markdown.rstrip().endswith("</details>")
    for who, _ in summarize(plan).gains:
        assert who in markdown


def test_the_cli_takes_format_markdown():
    run = planner_cli("--stack", STACKS[0], "--format", "markdown")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"### Plan of stack `{STACKS[0]}`")
