"""The plan cache (mlinfra/planner/plan_cache.py): a hit is exactly the plan a fresh run makes, and any
change that could change a plan misses."""

import dataclasses
import datetime
import json
import shutil
from pathlib import Path

import pytest

from mlinfra.planner import plan_cache, recorder, revisions, stack_references
from mlinfra.planner.recorder import Plan, plan_stack
from mlinfra.planner.render import to_json, to_text
from mlinfra.planner.stackfile import load_stack_config
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


def store_as_run(cache: Path, project_dir: Path, stack_plan: Plan, repository: Path | None = None) -> str:
    """Store `stack_plan` as a run in `project_dir` by the planner of `repository` leaves it: the
    plans its stack references answered stored under the keys that planner computes, and recorded
    in it. Returns its key."""
    references = {
        name: store_as_run(
            cache,
            project_dir,
            plan(stack_references._referenced_config(project_dir, name, None).stack),
            repository,
        )
        for name in stack_plan.references
    }
    config = load_stack_config(project_dir, stack_plan.stack)
    stored_key = plan_cache.plan_key(project_dir, config, repository)
    plan_cache.store(cache, stored_key, dataclasses.replace(stack_plan, references=references))
    return stored_key


def current(project_dir: Path, stack: str, cache: Path, config_file: Path | None = None) -> bool:
    """Whether the plan of `stack` stored in `cache` is still current (its references too)."""
    config = load_stack_config(project_dir, stack, config_file)
    stored = plan_cache.load(cache, plan_cache.plan_key(project_dir, config))
    return stored is not None and stack_references.references_current(project_dir, config, stored, cache)


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
    store_as_run(cache, PROJECT_DIR, stack_plans[stack])

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


def test_editing_a_referenced_stack_file_makes_the_referencing_plans_stale(project, cache, stack_plans):
    """The key leaves other stacks' files out; a plan that referenced one is a hit only while the
    plan that answered the reference is still the one its file gives (`Plan.references`)."""
    referencing = [stack for stack in STACKS if stack_plans[stack].references]
    assert referencing, "no stage references another stack: nothing to check"
    for stack in referencing:
        store_as_run(cache, project, stack_plans[stack])
        assert current(project, stack, cache)
    before = key(project, referencing[0])
    shared = project / f"Pulumi.{SHARED_STACKS[0]}.yaml"
    shared.write_text(shared.read_text().replace("config:", "config:\n  mlinfra:uniqueSuffix: zz9zz", 1))
    assert key(project, referencing[0]) == before  # the same key ...
    assert not any(current(project, stack, cache) for stack in referencing)  # ... but stale


def test_editing_another_stages_file_keeps_a_stage_s_plan(project, cache, stack_plans):
    """One stack file edited: the plans of the stacks that do not reference it stay hits."""
    stack, other = STACKS[0], STACKS[-1]
    assert stack != other and other not in {name.rsplit("/", 1)[-1] for name in stack_plans[stack].references}
    store_as_run(cache, project, stack_plans[stack])
    before = key(project, stack)
    path = project / f"Pulumi.{other}.yaml"
    path.write_text(path.read_text().replace("config:", "config:\n  mlinfra:uniqueSuffix: zz9zz", 1))
    assert key(project, stack) == before and current(project, stack, cache)


@pytest.mark.parametrize(
    "name", [f"Pulumi.{STACKS[0]}.yaml", f"Pulumi.{SHARED_STACKS[0]}.yaml", "Pulumi.yaml"]
)
def test_a_comment_or_layout_change_in_a_stack_file_keeps_the_key(project, name):
    """Stack files count by their parsed content: a comment cannot change a plan."""
    before = key(project)
    path = project / name
    path.write_text("# a comment\n" + path.read_text() + "\n# another\n")
    assert key(project) == before


def test_a_stack_file_that_does_not_parse_counts_by_its_bytes(tmp_path):
    broken = tmp_path / "Pulumi.qa.yaml"
    broken.write_text("config: [unclosed\n")
    first = plan_cache._digest_document(broken)
    broken.write_text("config: [unclosed \n")
    assert plan_cache._digest_document(broken) != first


@pytest.mark.parametrize(
    "path",
    [
        "__main__.py",
        "mlinfra/access/grants.py",
        "mlinfra/planner/mock_cloud.py",
        "mlinfra/facts/data/x.json",
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
    monkeypatch.setenv("TEST_MLINFRA_IN_SCRATCH", "1")  # the suite's own switch: no program reads it
    assert key(project) == before
    versions = plan_cache._versions()
    monkeypatch.setattr(plan_cache, "_versions", lambda: {**versions, "pulumi-azure-native": "0.0.1"})
    assert key(project) != before


def test_a_reference_answered_beside_a_config_file_elsewhere_is_checked_there(project, tmp_path, cache):
    """Stack references look beside the referencing file first (an example's stacks refer to each
    other): a referenced file that appears there, with other values, makes the plan stale."""
    stack = next(stack for stack in STACKS if plan(stack).references)
    elsewhere = tmp_path / "example"
    elsewhere.mkdir()
    config_file = elsewhere / f"Pulumi.{stack}.yaml"
    shutil.copy(project / config_file.name, config_file)
    config = load_stack_config(project, stack, config_file)
    stored = dataclasses.asdict(plan(stack))
    assert stack_references.references_current(project, config, stored, None)
    shared = f"Pulumi.{SHARED_STACKS[0]}.yaml"
    (elsewhere / shared).write_text((project / shared).read_text())  # the same values: still current
    assert stack_references.references_current(project, config, stored, None)
    (elsewhere / shared).write_text(
        (project / shared).read_text().replace("config:", "config:\n  mlinfra:uniqueSuffix: zz9zz", 1)
    )
    assert not stack_references.references_current(project, config, stored, None)


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
    store_as_run(cache, PROJECT_DIR, stack_plans[cached])
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
    """mlinfra/config/stage_config.py checks a client secret's expiry against today's date."""
    before = key(project)
    tomorrow = datetime.date.fromordinal(datetime.date.today().toordinal() + 1)

    class Tomorrow(datetime.date):
        @classmethod
        def today(cls):
            return tomorrow

    monkeypatch.setattr(plan_cache.datetime, "date", Tomorrow)
    assert key(project) != before


def test_the_bootstrap_project_misses_when_a_stage_stack_file_changes(project):
    """bootstrap/settings.py reads the stages' stack files of the project it is in: the stack
    files of the enclosing project are in its key."""
    before = key(project / "bootstrap", "platform")
    stage_file = project / f"Pulumi.{STACKS[0]}.yaml"
    stage_file.write_text(
        stage_file.read_text().replace("config:", "config:\n  mlinfra:uniqueSuffix: zz9zz", 1)
    )
    assert key(project / "bootstrap", "platform") != before


def test_a_diff_finds_the_plan_a_checkout_s_own_planner_stored(project, cache, monkeypatch, stack_plans):
    """`mlinfra diff` plans the base revision in its checkout, with the checkout's planner: the
    child keys its plan on that checkout's code, and the diff must look it up the same way."""
    stack = STACKS[0]
    store_as_run(cache, project, stack_plans[stack], repository=project)  # as the checkout's child
    (project / "mlinfra" / "planner" / "extra.py").write_text("# only in the checkout\n")  # its code differs
    assert revisions.cached_plans(project, [stack], cache) == {}
    store_as_run(cache, project, stack_plans[stack], repository=project)
    assert revisions.cached_plans(project, [stack], cache) == {stack: json.loads(to_json(stack_plans[stack]))}


def test_the_working_tree_planned_in_this_process_answers_as_the_child_does(stack_plans):
    """`mlinfra diff` plans its own project's working tree in its process (`revisions.plan_here`)
    and another revision in a child running that revision's `_BUNDLE`: same documents, a missing
    stack file as None, an unplannable stack as its error."""
    stacks = [STACKS[0], "nostackfile"]
    here = revisions.plan_here(PROJECT_DIR, stacks)
    cache = plan_cache.cache_dir(PROJECT_DIR)  # the session's: the child reads the plan, as the diff does
    child = revisions.finish_plans(revisions.start_plans(PROJECT_DIR, stacks, cache), "the working tree")
    assert here == child == {STACKS[0]: json.loads(to_json(stack_plans[STACKS[0]])), "nostackfile": None}


def test_the_bootstrap_project_misses_when_the_landing_zone_changes(project):
    """bootstrap/stack_facts.py `hub_zones` reads the enclosing project's prerequisites.yaml (the
    zones it leaves to the hub team's grant): that file is in the bootstrap plan's key, and a
    stage's plan, which never reads it, keeps its key."""
    before, stage = key(project / "bootstrap", "platform"), key(project, STACKS[0])
    declared = project / "prerequisites.yaml"
    declared.write_text(declared.read_text().replace("rg-dns-hub/", "rg-dns-hub-2/"))
    assert key(project / "bootstrap", "platform") != before
    assert key(project, STACKS[0]) == stage
