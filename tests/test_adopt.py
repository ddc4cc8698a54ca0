"""`mlinfra adopt` (review-3-identity-ci R6): the `pulumi import` command for an object that
already exists, named as the program declares it, with the id in the provider's import form."""

import shlex
import subprocess
import sys

import pytest

from mlinfra.review.adopt import AdoptError, command, id_pattern, import_example
from tests.test_bootstrap import PROJECT_DIR, bootstrap_plan

ADOPTABLE = (
    "azuredevops:index/environment:Environment",
    "azuredevops:index/variableGroup:VariableGroup",
    "azuredevops:index/serviceEndpointAzureRM:ServiceEndpointAzureRM",
    "azuread:index/application:Application",
    "azuread:index/servicePrincipal:ServicePrincipal",
    "github:index/repositoryEnvironment:RepositoryEnvironment",
)


@pytest.fixture(scope="module")
def platform():
    return bootstrap_plan()


@pytest.mark.parametrize("type_token", ADOPTABLE)
def test_every_adoptable_type_has_the_providers_import_example(type_token):
    """The import form is read from the installed SDK's "## Import" section (the provider's
    documentation), and its own example fits the shape derived from it."""
    example = import_example(type_token)
    assert example, type_token
    assert id_pattern(example).match(example)


def test_the_shapes_are_the_documented_ones():
    assert import_example("azuread:index/application:Application").startswith("/applications/")
    assert id_pattern("myrepo:myenv").match("mlinfra:infra-prod")
    assert not id_pattern("myrepo:myenv").match("mlinfra")
    guid_slash_number = id_pattern("00000000-0000-0000-0000-000000000000/0")
    assert guid_slash_number.match("d00c4a7a-54b8-50fd-b518-3a32d64a3486/12")
    assert not guid_slash_number.match("12")
    assert not guid_slash_number.match("not-a-guid/12")


def test_the_command_names_the_resource_as_the_program_declares_it(platform):
    (environment,) = [
        r
        for r in platform.of_type("azuredevops:index/environment:Environment")
        if r.inputs["name"] == "infra-prod"
    ]
    words = shlex.split(
        command(platform, environment.name, "d00c4a7a-54b8-50fd-b518-3a32d64a3486/12", "platform")
    )
    assert words[:5] == [
        "pulumi",
        "import",
        environment.type,
        environment.name,
        "d00c4a7a-54b8-50fd-b518-3a32d64a3486/12",
    ]
    parent = next(r for r in platform.resources if r.urn == environment.parent)
    assert words[words.index("--parent") + 1] == f"{parent.name}={parent.urn}"
    assert words[words.index("--provider") + 1].endswith(f"={environment.provider}")
    assert "--generate-code=false" in words  # the program already declares it


def test_a_malformed_id_and_an_unknown_name_are_refused(platform):
    (environment,) = [
        r
        for r in platform.of_type("azuredevops:index/environment:Environment")
        if r.inputs["name"] == "infra-prod"
    ]
    with pytest.raises(AdoptError, match=r"--id: got '12'; expected an import id .* shaped like"):
        command(platform, environment.name, "12", "platform")
    with pytest.raises(AdoptError, match=rf"did you mean {environment.name}\?"):
        command(platform, environment.name[:-1], "x", "platform")


def test_the_cli_exits_2_with_one_line():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlinfra",
            "adopt",
            "--project-dir",
            "bootstrap",
            "--stack",
            "platform",
            "--resource",
            "no-such-resource",
            "--id",
            "x",
        ],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(
        "error: --resource: got 'no-such-resource'"
    )
