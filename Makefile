# Two commands on a fresh clone: `make plan` (offline plan of a stack) and `make test`.
VENV  ?= venv
PY    := $(VENV)/bin/python
STACK ?=
FORMAT ?= text

.PHONY: plan test lint bench workflows clean
.DEFAULT_GOAL := plan

# The same ./venv the Pulumi CLI uses (Pulumi.yaml: virtualenv venv), rebuilt when requirements change.
$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

plan: $(VENV)/.installed
	@$(PY) -m planner $(if $(STACK),--stack $(STACK)) --format $(FORMAT)

test: $(VENV)/.installed
	$(PY) -m pytest -q

# Lint and format check (ruff); configuration in pyproject.toml.
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Planner cost against the Pulumi-runtime floor, scaling, graph depth; writes docs/benchmarks.md.
bench: $(VENV)/.installed
	$(PY) -m bench.run

# Stage lists and matrices of .github/workflows, azure-pipelines.yml and templates/ from the stage
# catalog (mlinfra:stages in Pulumi.yaml) and the stack files; run after adding a stage or a stack.
workflows: $(VENV)/.installed
	$(PY) -m planner.delivery_files --write

clean:
	rm -rf $(VENV) .pytest_cache
