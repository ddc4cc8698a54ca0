"""mlinfra/config/pulumi_yaml.py: scalars resolve as the Pulumi CLI's YAML library resolves them."""

import pytest
import yaml

from mlinfra.config.pulumi_yaml import CliSafeLoader


def load(text: str):
    return yaml.load(text, Loader=CliSafeLoader)


@pytest.mark.parametrize("word", ["no", "No", "NO", "yes", "Yes", "on", "On", "off", "OFF", "y", "n"])
def test_yaml_1_1_bool_words_stay_strings(word):
    """The CLI decodes stack files with gopkg.in/yaml.v3 (pulumi/pulumi
    sdk/go/common/encoding/marshal.go imports `yaml "gopkg.in/yaml.v3"`, sdk/go.mod v3.0.1), whose
    README ("Compatibility") says YAML 1.1 bools yes/no, on/off are bools only when decoded into a
    typed bool, otherwise strings; resolve.go's resolveMapList lists only true/True/TRUE and
    false/False/FALSE as !!bool. A config value is decoded into an interface value."""
    assert load(f"v: {word}") == {"v": word}


@pytest.mark.parametrize(
    ("text", "value"), [("true", True), ("True", True), ("TRUE", True), ("false", False), ("FALSE", False)]
)
def test_yaml_1_2_bools_stay_bools(text, value):
    """go-yaml/yaml resolve.go resolveMapList: the YAML 1.2 spellings resolve to !!bool."""
    assert load(f"v: {text}") == {"v": value}


@pytest.mark.parametrize(
    ("text", "value"), [("12", 12), ("-3", -3), ("0x1f", 31), ("1_000", 1000), ("1.5", 1.5), ("~", None)]
)
def test_numbers_and_null_resolve_as_before(text, value):
    """resolve.go: ints (with `_` removed, base prefixes), floats and the null spellings ~/null."""
    assert load(f"v: {text}") == {"v": value}


@pytest.mark.parametrize("text", ["1:30", "190:20:30", "2027-06-30", "2027-06-30T10:00:00Z"])
def test_base_60_and_dates_stay_strings(text):
    """resolve.go: "Base 60 floats are a bad idea, were dropped in YAML 1.2, and are purposefully
    unsupported here"; a timestamp reaches the program as its text (the config map keeps scalars
    as text), so the planner never turns it into a date."""
    assert load(f"v: {text}") == {"v": text}
