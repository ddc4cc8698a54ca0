"""examples/ml-project: one model version goes dev -> registry -> preprod -> prod (issue 15)."""

import re

from lint.workflows import load, ml_extension_problems
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
