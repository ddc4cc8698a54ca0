# Two commands on a fresh clone: `make plan` (offline plan of a stack) and `make test`.
VENV  ?= venv
PY    := $(VENV)/bin/python
STACK ?= dev
FORMAT ?= text

.PHONY: plan bootstrap-plan test lint bench clean
.DEFAULT_GOAL := plan

# The same ./venv the Pulumi CLI uses (Pulumi.yaml: virtualenv venv), rebuilt when requirements change.
$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

plan: $(VENV)/.installed
	@$(PY) -m planner --stack $(STACK) --format $(FORMAT)

# Offline plan of the bootstrap project (state backend, infra identities, infra repository).
BOOTSTRAP_STACK ?= platform
bootstrap-plan: $(VENV)/.installed
	@$(PY) -m planner --project-dir bootstrap --stack $(BOOTSTRAP_STACK) --format $(FORMAT)

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
