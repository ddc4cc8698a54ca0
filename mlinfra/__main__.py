"""`python -m mlinfra`: the same as the `mlinfra` console script."""

from mlinfra.cli import run

if __name__ == "__main__":
    raise SystemExit(run())
