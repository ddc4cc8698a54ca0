# Two commands on a fresh clone: `make plan` (offline plan of a stack) and `make test`;
# `make diff` compares the working tree's plans with another revision's (BASE, default HEAD).
VENV  ?= venv
PY    := $(VENV)/bin/python
STACK ?= dev
FORMAT ?= text

.PHONY: plan bootstrap-plan diff test check lint bench clean
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

# Offline plan of the bootstrap project (state backend, infra identities, infra repository).
BOOTSTRAP_STACK ?= platform
bootstrap-plan: $(VENV)/.installed
	@$(PY) -m planner --project-dir bootstrap --stack $(BOOTSTRAP_STACK) --format $(FORMAT)

test: $(VENV)/.installed
	$(PY) -m pytest -q

# The policy pack (policy/) over the plan of every stack and example, offline; fails on a
# mandatory violation (a production stage's). Online, `pulumi preview|up --policy-pack policy`.
STACKS   := $(patsubst Pulumi.%.yaml,%,$(wildcard Pulumi.*.yaml))
EXAMPLES := $(wildcard examples/*/Pulumi.*.yaml)
check: $(VENV)/.installed
	@for stack in $(STACKS); do $(PY) -m planner check --stack $$stack || exit 1; done
	@for file in $(EXAMPLES); do \
		stack=$${file##*/Pulumi.}; stack=$${stack%.yaml}; \
		echo "$$file:"; $(PY) -m planner check --stack $$stack --config-file $$file || exit 1; \
	done

# The policy pack's own venv (PulumiPolicy.yaml: virtualenv venv), for the Pulumi CLI.
policy/venv/.installed: policy/requirements.txt
	python3 -m venv policy/venv
	policy/venv/bin/python -m pip install --quiet --disable-pip-version-check -r policy/requirements.txt
	touch $@

# Lint and format check (ruff); configuration in pyproject.toml.
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Planner cost against the Pulumi-runtime floor, scaling, graph depth; writes docs/benchmarks.md.
bench: $(VENV)/.installed
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) policy/venv .pytest_cache
