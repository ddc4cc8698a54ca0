"""YAML scalars as the Pulumi CLI resolves them, so the offline plan and `pulumi up` read the same
values from `Pulumi.yaml` and `Pulumi.<stack>.yaml`.

The CLI decodes both files with gopkg.in/yaml.v3 (pulumi/pulumi sdk/go/common/encoding/marshal.go
imports `yaml "gopkg.in/yaml.v3"`; sdk/go.mod pins v3.0.1). yaml.v3 resolves plain scalars by
YAML 1.2's core schema with few 1.1 leftovers (go-yaml/yaml resolve.go `resolveMapList`; docs/configuration.md,
"Config errors"):

- booleans are only `true`/`True`/`TRUE` and `false`/`False`/`FALSE`; the YAML 1.1 words `yes`,
  `no`, `on`, `off`, `y`, `n` stay strings when decoded into an interface value (a config value
  is one), so `mlinfra:team: no` is the string "no", not false;
- no base-60 numbers (`1:30` is a string); `2027-06-30` is handed to the program as the text it is
  (the config map keeps scalars as their text).

PyYAML's SafeLoader is YAML 1.1 and turns all of those into booleans, numbers and dates; the
resolvers here replace its bool, int, float and timestamp rules by yaml.v3's.
"""

import re

import yaml

_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
"""yaml.v3 resolve.go: the only spellings that resolve to !!bool in an untyped value."""
_INT = re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$")
"""PyYAML's int rule without its base-60 alternative (yaml.v3: "Base 60 floats are a bad idea ...
purposefully unsupported")."""
_FLOAT = re.compile(
    r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
"""PyYAML's float rule without base 60."""


def cli_resolvers() -> dict:
    """SafeLoader's implicit resolvers with yaml.v3's bool, int and float rules and no timestamp."""
    replaced = {
        "tag:yaml.org,2002:bool",
        "tag:yaml.org,2002:int",
        "tag:yaml.org,2002:float",
        "tag:yaml.org,2002:timestamp",
    }
    resolvers: dict = {
        first: [(tag, regexp) for tag, regexp in entries if tag not in replaced]
        for first, entries in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    for tag, regexp, firsts in (
        ("tag:yaml.org,2002:bool", _BOOL, "tTfF"),
        ("tag:yaml.org,2002:int", _INT, "-+0123456789"),
        ("tag:yaml.org,2002:float", _FLOAT, "-+0123456789."),
    ):
        for first in firsts:
            resolvers.setdefault(first, []).append((tag, regexp))
    return resolvers


class CliSafeLoader(yaml.SafeLoader):
    """A SafeLoader that resolves scalars as the Pulumi CLI does (module docstring)."""


CliSafeLoader.yaml_implicit_resolvers = cli_resolvers()
