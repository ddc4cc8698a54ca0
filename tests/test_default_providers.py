"""Default providers off for azuread, github and azuredevops (review R9), and the offline planner
refusing a resource or invoke that forgets its explicit provider, as the engine does.

Source: `pulumi:disable-default-providers` (pulumi/pulumi#8829, "Allow disabling default
providers"): a stack config list of package names, `*` for all; a resource or invoke of a listed
package without an explicit provider fails the update.
"""

import subprocess
import sys
from pathlib import Path

import pulumi
import pulumi_azuread as azuread
import pulumi_github as github
import pytest
import yaml

from mlinfra.planner.recorder import DefaultProviderDisabled
from mlinfra.planner.stackfile import StackFileError
from tests.conftest import PROJECT_DIR, STACKS, copy_repository, run_program

DISABLED = {"azuread", "github", "azuredevops"}
STACK_FILES = sorted(PROJECT_DIR.glob("Pulumi.*.yaml")) + sorted(PROJECT_DIR.glob("examples/*/Pulumi.*.yaml"))
KEY = "pulumi:disable-default-providers"


@pytest.mark.parametrize("path", STACK_FILES, ids=lambda p: str(p.relative_to(PROJECT_DIR)))
def test_every_stack_file_disables_the_ci_and_entra_default_providers(path: Path):
    """Stack config `azuread:*`, `github:*`, `azuredevops:*` never reaches the explicit providers
    (review R9), so a resource that silently fell back to a default provider would deploy with
    whatever ambient credentials the runner has. The list must name the packages exactly."""
    config = yaml.safe_load(path.read_text())["config"]
    assert set(config.get(KEY, [])) >= DISABLED


def test_a_resource_without_its_explicit_provider_fails_the_plan():
    def program():
        azuread.Application("forgotten", display_name="app-forgotten")

    with pytest.raises(DefaultProviderDisabled, match=r"'azuread'.*azuread:index/application:Application"):
        run_program(program, **{KEY: sorted(DISABLED)})


def test_an_invoke_without_its_explicit_provider_fails_the_plan():
    def program():
        return github.get_user_output(username="octocat").id

    with pytest.raises(DefaultProviderDisabled, match=r"'github'.*invoke 'github:index/getUser:getUser'"):
        run_program(program, **{KEY: sorted(DISABLED)})


def test_an_explicit_provider_passes_and_other_packages_keep_their_default():
    def program():
        entra = azuread.Provider("entra", tenant_id="t")
        azuread.Application("named", display_name="app-named", opts=pulumi.ResourceOptions(provider=entra))
        # azure-native is not in the list: its default provider (stack config) stays allowed.
        import pulumi_azure_native as azure_native

        azure_native.resources.ResourceGroup("rg", resource_group_name="rg-x")
        return azuread.get_client_config_output(opts=pulumi.InvokeOutputOptions(provider=entra)).object_id

    plan = run_program(program, **{KEY: sorted(DISABLED)})
    assert {r.name for r in plan.resources} >= {"entra", "named", "rg"}


def test_the_wildcard_disables_every_default_provider():
    def program():
        import pulumi_azure_native as azure_native

        azure_native.resources.ResourceGroup("rg", resource_group_name="rg-x")

    with pytest.raises(DefaultProviderDisabled, match="'azure-native'"):
        run_program(program, **{KEY: ["*"]})


def test_fails_when_disable_default_providers_is_not_a_list():
    with pytest.raises(StackFileError, match=r"pulumi:disable-default-providers: expected a list.*'azuread'"):
        run_program(lambda: None, **{KEY: "azuread"})


@pytest.mark.long
def test_the_planner_cli_reports_a_forgotten_provider_with_exit_status_1(tmp_path):
    project = copy_repository(tmp_path / "project")
    main = project / "__main__.py"
    main.write_text(
        main.read_text()
        + "\nimport pulumi_github\npulumi_github.ActionsVariable('forgotten', repository='r',"
        " variable_name='V', value='v')\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "mlinfra", "--stack", STACKS[0], "--project-dir", str(project)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1, result.stderr
    assert "Default provider for 'github' disabled" in result.stderr
    assert "github:index/actionsVariable:ActionsVariable" in result.stderr
