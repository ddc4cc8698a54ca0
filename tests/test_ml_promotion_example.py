"""examples/ml-project: one model version goes dev -> registry -> preprod -> prod (issue 15)."""

import json
import re

from mlinfra.lint.workflows import load, ml_extension_problems
from tests.test_workflows import ML_PROJECT

GITHUB = ML_PROJECT / ".github" / "workflows" / "ml-delivery.yml"
AZURE = ML_PROJECT / "azure-pipelines.yml"
REGISTRY_URI = re.compile(r"azureml://registries/[^/\s]+/models/[^/\s]+/versions/\S+")


def test_fails_when_ml_extension_is_unpinned():
    doc = {"jobs": {"a": {"steps": [{"run": "az extension add --name ml --yes"}]}}}
    assert ml_extension_problems(doc) == [
        "unpinned ml extension: `az extension add --name ml --yes` needs --version"
    ]


def test_ml_extension_with_version_passes():
    doc = {"steps": [{"inlineScript": 'az extension add --name ml --version "$(V)" --yes'}]}
    assert ml_extension_problems(doc) == []


def test_examples_pin_the_ml_extension():
    for path in (GITHUB, AZURE):
        assert ml_extension_problems(load(path)) == [], path
        assert "ML_EXTENSION_VERSION: 2.36.0" in path.read_text()


def test_github_example_passes_the_shared_version_on_and_deploys_it_twice():
    jobs = load(GITHUB)["jobs"]
    assert set(jobs["train"]["outputs"]) == {"model-name", "model-version"}
    assert "az ml model share" in GITHUB.read_text()
    models = {name: jobs[name]["env"]["MODEL"] for name in ("deploy-preprod", "release-prod")}
    assert len(set(models.values())) == 1  # prod deploys exactly what preprod tested
    assert "needs.train.outputs.model-version" in models["release-prod"]
    assert jobs["release-prod"]["environment"] == "prod" and "deploy-preprod" in jobs["release-prod"]["needs"]
    assert "online-endpoint invoke" in "".join(
        step.get("run", "") for step in jobs["deploy-preprod"]["steps"]
    )


def test_azure_example_passes_the_shared_version_on_and_deploys_it_twice():
    text = AZURE.read_text()
    stages = {stage["stage"]: stage for stage in load(AZURE)["stages"]}
    assert "##vso[task.setvariable variable=MODEL_VERSION;isOutput=true]" in text
    sources = {
        name: next(
            v["value"]
            for v in stages[name]["variables"]
            if isinstance(v, dict) and v.get("name") == "MODEL_VERSION"
        )
        for name in ("deploy_preprod", "release_prod")
    }
    assert len(set(sources.values())) == 1
    assert "az ml model share" in text and len(REGISTRY_URI.findall(text)) == 2


def _github_jobs() -> dict[str, tuple[str, object, str]]:
    """stage -> (job, runs-on, the job's text: env and scripts) of the GitHub example."""
    jobs = load(GITHUB)["jobs"]
    return {job["environment"]: (name, job["runs-on"], json.dumps(job)) for name, job in jobs.items()}


def _azure_jobs() -> dict[str, tuple[str, object, str]]:
    """stage -> (job, pool, the job's text: its stage's variables and its scripts) of the Azure DevOps example."""
    document = load(AZURE)
    found = {}
    for stage in document["stages"]:
        for job in stage["jobs"]:
            text = json.dumps([stage.get("variables"), job])
            found[job["environment"]] = (job["deployment"], job.get("pool", document["pool"]), text)
    return found


def _runs_in_group(platform: str, where) -> str | None:
    """The runner group / agent pool a job runs in, None on hosted machines."""
    if platform == "github":
        return where.get("group") if isinstance(where, dict) else None
    return None if "vmImage" in where else where.get("name")


def test_every_promotion_step_runs_where_the_verifier_proves_its_registry_path():
    """Issue 28: the example "can run its promotion from dev's runners". Each job runs where the
    estate verifier models its stage's pipeline (mlinfra:ci.runnerGroup, else hosted machines on
    the Internet), and from there EV-12 proves the registry path the job uses: publish for the job
    that runs `az ml model share` (dev's), read for the jobs that deploy the registry's model URI."""
    from mlinfra.estate import prerequisites, reachability
    from mlinfra.estate.inventory import plan_estate
    from tests.conftest import PROJECT_DIR

    estate = plan_estate(PROJECT_DIR)
    stacks = {s.stack: s for s in estate if s.kind == "stage"}
    network = reachability.build_network(estate, prerequisites.load(PROJECT_DIR))
    registries = reachability._registries(estate)
    for platform, jobs in (("github", _github_jobs()), ("azure", _azure_jobs())):
        assert set(jobs) == set(stacks), platform
        for stage, (job, where, scripts) in jobs.items():
            ci = stacks[stage].setting("mlinfra:ci") or {}
            assert _runs_in_group(platform, where) == ci.get("runnerGroup"), (platform, job)
            use = "publish" if "az ml model share" in scripts else "read"
            assert use == "publish" or "azureml://registries/" in scripts, (platform, job)
            runners = [
                p
                for p in reachability.registry_paths(stacks[stage], registries, network)
                if p.client == "runners"
            ]
            assert [(p.use, p.exists) for p in runners] == [(use, True)], (platform, job, runners)
    # The promotion starts on hosted runners: the one job that shares into the registry runs there.
    (publisher,) = [where for _, where, text in _github_jobs().values() if "az ml model share" in text]
    assert _runs_in_group("github", publisher) is None
