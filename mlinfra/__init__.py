"""mlinfra: the MLOps delivery estate on Azure, as one Python package (docs/layout.md).

Layers, each importing only those above it:
- `facts`: Azure and CI facts as data (roles, regions, naming, role definitions);
- `settings`, `config`: the typed stack config, its catalog and its rules;
- `stage`, `access`, `shared`: the Pulumi components the programs compose;
- `planner`, `diff`, `review`, `estate`, `doctor`, `repository`: the readers, which run the
  programs offline and read their plans, never the components' internals;
- `cli`: the `mlinfra` command; `bench`, `lint`: this repository's own tooling.
"""
