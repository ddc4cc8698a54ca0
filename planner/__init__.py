"""The command's name before the package layout (issue 31): `python -m planner ...` is an alias of
`mlinfra ...` (mlinfra/cli.py), kept so scripts and checkouts that still call it go on working."""
