"""Composition root of the bootstrap project: state backend, infra identities, infra repository.

An administrator runs it once (docs/from-zero.md, "From zero"), first on a local backend; its outputs are the
commands that initialise the stage stacks on the backend it creates.
"""

import sys
from pathlib import Path

# `pulumi up` runs this file with bootstrap/ on sys.path; the repository's `mlinfra` package and
# this package are imported from the repository root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pulumi

from bootstrap.program import build

outputs = build()
for key, value in outputs.items():
    pulumi.export(key, value)
