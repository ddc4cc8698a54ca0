"""`python -m planner ...`: the same as `mlinfra ...` (the alias `planner/__init__.py` describes)."""

from mlinfra.cli import run

if __name__ == "__main__":
    raise SystemExit(run())
