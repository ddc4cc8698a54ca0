"""The plan cache (planner/plan_cache.py): a hit is exactly the plan a fresh run makes, and any
change that could change a plan misses."""

import dataclasses
import datetime
import json
import shutil
from pathlib import Path

import pytest

from planner import plan_cache, recorder, revisions, stack_references
from planner.recorder import Plan, plan_stack
from planner.render import to_json, to_text
from planner.stackfile import load_stack_config
from tests.conftest import PROJECT_DIR, SHARED_STACKS, STACKS, plan


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    directory = tmp_path / "plans"
    monkeypatch.setenv(plan_cache.CACHE_VARIABLE, str(directory))
    return directory


@pytest.fixture
def project(tmp_path) -> Path:
    """A copy of the repository (code, stack files, bootstrap project), elsewhere."""
    copy = tmp_path / "project"
    shutil.copytree(PROJECT_DIR, copy, ignore=shutil.ignore_patterns(*plan_cache.NOT_CODE))
    return copy


def key(project_dir: Path, stack: str = STACKS[0], config_file: Path | None = None) -> str:
    return plan_cache.plan_key(project_dir, load_stack_config(project_dir, stack, config_file))


@pytest.mark.parametrize("stack", STACKS + SHARED_STACKS)
def test_a_stored_plan_reads_back_as_the_same_plan(stack, stack_plans, cache):
    fresh = stack_plans[stack] if stack in stack_plans else plan(stack)  # both run the program
    plan_cache.store(cache, "k", fresh)
    stored = plan_cache.load(cache, "k")
    assert stored is not None
    again = Plan.from_dict(stored)
    assert again.to_json() == fresh.to_json()
    assert again.lookups == fresh.lookups
    assert to_text(again) == to_text(fresh) and to_json(again) == to_json(fresh)


@pytest.mark.plan_cache
def test_a_hit_does_not_run_the_program(cache, monkeypatch, stack_plans):
    stack = STACKS[0]
    config = load_stack_config(PROJECT_DIR, stack)
    plan_cache.store(cache, plan_cache.plan_key(PROJECT_DIR, config), stack_plans[stack])

    def no_run(*_args, **_kwargs):
        raise AssertionError("the program ran although its plan was cached")

    monkeypatch.setattr(recorder, "record", no_run)
    assert plan_stack(PROJECT_DIR, stack).to_json() == stack_plans[stack].to_json()


def test_a_copy_of_the_project_elsewhere_has_the_same_keys(project):
    for stack in STACKS:
        assert key(project, stack) == key(PROJECT_DIR, stack)


def test_editing_the_stack_file_misses(project):
    before = key(project)
    path = project / f"Pulumi.{STACKS[0]}.yaml"
    path.write_text(path.read_text().replace("config:", "config:\n  mlinfra:uniqueSuffix: zz9zz", 1))
    assert key(project) != before


def test_editing_a_stack_file_a_reference_could_reach_misses(project):
    before = key(project)
    shared = project / f"Pulumi.{SHARED_STACKS[0]}.yaml"
    shared.write_text(shared.read_text().replace("config:", "config:\n  mlinfra:uniqueSuffix: zz9zz", 1))
    assert key(project) != before


@pytest.mark.parametrize(
    "name", [f"Pulumi.{STACKS[0]}.yaml", f"Pulumi.{SHARED_STACKS[0]}.yaml", "Pulumi.yaml"]
)
def test_a_comment_or_layout_change_in_a_stack_file_keeps_the_key(project, name):
    """Stack files count by their parsed content: a comment cannot change a plan."""
    before = key(project)
    path = project / name
    path.write_text("# a comment\n" + path.read_text() + "\n# another\n")
    assert key(project) == before


def test_a_stack_file_that_does_not_parse_counts_by_its_bytes(project):
    broken = project / "Pulumi.qa.yaml"
    broken.write_text("config: [unclosed\n")
    first = key(project)
    broken.write_text("config: [unclosed \n")
    assert key(project) != first


@pytest.mark.parametrize(
    "path",
    [
        "__main__.py",
        "components/grants.py",
        "planner/mock_cloud.py",
        "components/data/x.json",
        "bootstrap/identities.py",
    ],
)
def test_editing_the_code_or_its_data_misses(project, path):
    before = key(project)
    target = project / path
    target.write_text((target.read_text() if target.exists() else "") + "\n# edited\n")
    assert key(project) != before


def test_another_package_version_or_environment_misses(project, monkeypatch):
    before = key(project)
    monkeypatch.setenv("MLINFRA_SOMETHING", "1")
    assert key(project) != before
    monkeypatch.delenv("MLINFRA_SOMETHING")
    assert key(project) == before
    monkeypatch.setenv("MLINFRA_TEST_IN_SCRATCH", "1")  # a test suite's switch: no program reads it
    assert key(project) == before
    versions = plan_cache._versions()
    monkeypatch.setattr(plan_cache, "_versions", lambda: {**versions, "pulumi-azure-native": "0.0.1"})
    assert key(project) != before


def test_a_config_file_elsewhere_keys_on_the_stack_files_beside_it(project, tmp_path):
    elsewhere = tmp_path / "example"
    elsewhere.mkdir()
    config_file = elsewhere / f"Pulumi.{STACKS[0]}.yaml"
    shutil.copy(project / config_file.name, config_file)
    before = key(project, STACKS[0], config_file)
    (elsewhere / "Pulumi.other.yaml").write_text("config: {}\n")
    assert key(project, STACKS[0], config_file) != before


def test_a_failing_program_stores_nothing(cache, tmp_path):
    config_file = tmp_path / f"Pulumi.{STACKS[0]}.yaml"
    config_file.write_text(
        (PROJECT_DIR / config_file.name).read_text() + "  mlinfra:workload: NOT a valid workload\n"
    )
    with pytest.raises(Exception):  # noqa: B017  # which error is the config tests' business
        plan_stack(PROJECT_DIR, STACKS[0], config_file)
    assert not list(cache.glob("*.json"))


@pytest.mark.plan_cache
def test_a_torn_entry_is_planned_again_and_replaced(cache, monkeypatch, stack_plans):
    stack = STACKS[0]
    entry = cache / f"{key(PROJECT_DIR, stack)}.json"
    cache.mkdir()
    entry.write_text('{"resources": [')
    monkeypatch.setattr(recorder, "record", lambda program, config: stack_plans[stack])
    assert plan_stack(PROJECT_DIR, stack).to_json() == stack_plans[stack].to_json()
    assert json.loads(entry.read_text()) == dataclasses.asdict(stack_plans[stack])


def test_off_writes_nothing(tmp_path, monkeypatch, stack_plans):
    monkeypatch.setenv(plan_cache.CACHE_VARIABLE, "off")
    monkeypatch.chdir(tmp_path)
    assert plan_cache.cache_dir(PROJECT_DIR) is None
    plan_cache.store(plan_cache.cache_dir(PROJECT_DIR), "k", stack_plans[STACKS[0]])
    assert not list(tmp_path.rglob("*.json"))


def test_the_oldest_entries_go_beyond_the_limit(cache, monkeypatch, stack_plans):
    monkeypatch.setattr(plan_cache, "MAX_ENTRIES", 2)
    for name in ("a", "b", "c"):
        plan_cache.store(cache, name, stack_plans[STACKS[0]])
    assert sorted(path.stem for path in cache.glob("*.json")) == ["b", "c"]


def test_a_stack_reference_answered_from_the_cache_plans_nothing(cache, monkeypatch):
    shared = SHARED_STACKS[0]
    config = load_stack_config(PROJECT_DIR, shared)
    outputs = {"registryId": "/subscriptions/x/registries/y"}
    plan_cache.store(cache, plan_cache.plan_key(PROJECT_DIR, config), Plan("p", shared, [], outputs))

    def no_plan(*_args, **_kwargs):
        raise AssertionError("the referenced stack was planned although its plan was cached")

    monkeypatch.setattr(recorder, "plan_config", no_plan)
    assert stack_references.referenced_outputs(PROJECT_DIR, shared, STACKS[0]) == outputs


def test_a_diff_reads_cached_plans_and_plans_only_the_rest(cache, stack_plans):
    cached, uncached = STACKS[0], STACKS[1]
    plan_cache.store(cache, key(PROJECT_DIR, cached), stack_plans[cached])
    found = revisions.cached_plans(PROJECT_DIR, [cached, uncached, "nostackfile"], cache)
    assert found == {cached: json.loads(to_json(stack_plans[cached])), "nostackfile": None}


def test_a_test_that_patches_this_process_plans_without_the_cache(monkeypatch, stack_plans):
    """tests/conftest.py: a test using `monkeypatch` runs its program even when the plan cache
    holds that plan (a patched function is not in the key), and keeps the cache for the rest."""
    stack = STACKS[0]
    runs = []
    real = recorder.record
    monkeypatch.setattr(
        recorder, "record", lambda program, config: runs.append(config.stack) or real(program, config)
    )
    assert plan(stack).to_json() == stack_plans[stack].to_json()
    assert runs == [stack] and plan_cache.cache_dir(PROJECT_DIR) is not None


def test_other_tests_share_the_session_cache():
    assert plan_cache.cache_dir(PROJECT_DIR) is not None


def test_another_day_misses(project, monkeypatch):
    """components/config.py checks a client secret's expiry against today's date."""
    before = key(project)
    tomorrow = datetime.date.fromordinal(datetime.date.today().toordinal() + 1)

    class Tomorrow(datetime.date):
        @classmethod
        def today(cls):
            return tomorrow

    monkeypatch.setattr(plan_cache.datetime, "date", Tomorrow)
    assert key(project) != before


def test_the_bootstrap_project_misses_when_a_stage_stack_file_changes(project, monkeypatch):
    """bootstrap/settings.py reads the stages' stack files of the repository it is in."""
    monkeypatch.setattr(plan_cache, "REPOSITORY", project)  # the copy's own planner
    before = key(project / "bootstrap", "platform")
    stage_file = project / f"Pulumi.{STACKS[0]}.yaml"
    stage_file.write_text(
        stage_file.read_text().replace("config:", "config:\n  mlinfra:uniqueSuffix: zz9zz", 1)
    )
    assert key(project / "bootstrap", "platform") != before


def test_a_diff_finds_the_plan_a_checkout_s_own_planner_stored(project, cache, monkeypatch, stack_plans):
    """`planner diff` plans the base revision in its checkout, with the checkout's planner: the
    child keys its plan on that checkout's code, and the diff must look it up the same way."""
    stack = STACKS[0]
    config = load_stack_config(project, stack)
    with monkeypatch.context() as patched:
        patched.setattr(plan_cache, "REPOSITORY", project)  # what the child in the checkout computes
        stored_key = plan_cache.plan_key(project, config)
    plan_cache.store(cache, stored_key, stack_plans[stack])
    (project / "planner" / "extra.py").write_text("# only in the checkout\n")  # its code differs
    assert revisions.cached_plans(project, [stack], cache) == {}
    with monkeypatch.context() as patched:
        patched.setattr(plan_cache, "REPOSITORY", project)
        stored_key = plan_cache.plan_key(project, config)
    plan_cache.store(cache, stored_key, stack_plans[stack])
    assert revisions.cached_plans(project, [stack], cache) == {stack: json.loads(to_json(stack_plans[stack]))}


def test_the_working_tree_planned_in_this_process_answers_as_the_child_does(stack_plans):
    """`planner diff` plans its own project's working tree in its process (`revisions.plan_here`)
    and another revision in a child running that revision's `_BUNDLE`: same documents, a missing
    stack file as None, an unplannable stack as its error."""
    stacks = [STACKS[0], "nostackfile"]
    here = revisions.plan_here(PROJECT_DIR, stacks)
    cache = plan_cache.cache_dir(PROJECT_DIR)  # the session's: the child reads the plan, as the diff does
    child = revisions.finish_plans(revisions.start_plans(PROJECT_DIR, stacks, cache), "the working tree")
    assert here == child == {STACKS[0]: json.loads(to_json(stack_plans[STACKS[0]])), "nostackfile": None}
