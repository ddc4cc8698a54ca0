"""Config errors name every problem at once, each with its full key path, and a misspelt key gets
the closest allowed one (issue 30, "Messages")."""

import pytest

from components.config import ConfigError
from tests.conftest import STACKS, plan, setting


def _error(**overrides) -> str:
    with pytest.raises(ConfigError) as error:
        plan(STACKS[0], **overrides)
    return str(error.value)


def test_a_misspelt_section_names_the_closest():
    message = _error(**{"mlinfra:tagz": {"a": "b"}})
    assert "mlinfra:tagz: unknown key; allowed keys: " in message
    assert message.endswith("did you mean tags?") or "did you mean tags?;" in message


def test_a_misspelt_nested_key_names_the_closest_with_its_full_path():
    network = dict(setting(STACKS[0], "network", {}))
    network["publicNetworkAccesEnabled"] = network.pop("publicNetworkAccessEnabled", False)
    message = _error(**{"mlinfra:network": network})
    assert (
        "mlinfra:network.publicNetworkAccesEnabled: unknown key; allowed keys: publicNetworkAccessEnabled"
        in message
    )
    assert "did you mean publicNetworkAccessEnabled?" in message


def test_every_problem_comes_at_once():
    """Not in rounds: a misspelt section, a misspelt key and a bad value, in one error."""
    network = dict(setting(STACKS[0], "network", {}))
    network["publicNetworkAccesEnabled"] = network.pop("publicNetworkAccessEnabled", False)
    message = _error(
        **{"mlinfra:tagz": {"a": "b"}, "mlinfra:network": network, "mlinfra:workload": "Bad_Name"}
    )
    for part in (
        "mlinfra:tagz: unknown key",
        "mlinfra:network.publicNetworkAccesEnabled: unknown key",
        "mlinfra:workload: got",
    ):
        assert part in message, part


def test_a_key_far_from_every_allowed_one_gets_no_guess():
    message = _error(**{"mlinfra:zzzzqqq": 1})
    assert (
        "mlinfra:zzzzqqq: unknown key" in message
        and "did you mean" not in message.split("mlinfra:zzzzqqq")[1].split(";")[1]
    )
