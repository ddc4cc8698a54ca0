# Two commands on a fresh clone: `make plan` (offline plan of a stack) and `make test`;
# `make diff` compares the working tree's plans with another revision's (BASE, default HEAD).
VENV  ?= venv
PY    := $(VENV)/bin/python
STACK ?= dev
FORMAT ?= text

.PHONY: plan diff test lint bench clean
.DEFAULT_GOAL := plan

# The same ./venv the Pulumi CLI uses (Pulumi.yaml: virtualenv venv), rebuilt when requirements change.
$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

plan: $(VENV)/.installed
	@$(PY) -m planner --stack $(STACK) --format $(FORMAT)

# What this working tree changes against BASE (a git revision), per stack; FORMAT=markdown for a PR comment.
BASE ?= HEAD
diff: $(VENV)/.installed
	@$(PY) -m planner diff --base $(BASE) --format $(FORMAT)

test: $(VENV)/.installed
	$(PY) -m pytest -q

# Lint and format check (ruff); configuration in pyproject.toml.
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Planner cost against the Pulumi-runtime floor, scaling, graph depth; writes docs/benchmarks.md.
bench: $(VENV)/.installed
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache
