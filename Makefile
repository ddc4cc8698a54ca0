# Two commands on a fresh clone: `make plan` (offline plan of a stack) and `make test`;
# `make diff` compares the working tree's plans with another revision's (BASE, default HEAD).
# Nothing needed beforehand but Python 3.11+ (with pip) and make: uv comes from the package index.
VENV   ?= venv
PY     := $(VENV)/bin/python
# The console script (pyproject.toml, [project.scripts]); `$(PY) -m mlinfra` is the same.
MLINFRA := $(VENV)/bin/mlinfra
PYTHON ?= python3
# The interpreter ./venv is built on: any CPython 3.11+ (default PYTHON). A build with PGO and LTO
# (Debian's /usr/bin/python3, python.org's) runs the planner and the tests about a quarter faster
# than a default source build such as pyenv's (docs/benchmarks.md, "Interpreter").
VENV_PYTHON ?= $(PYTHON)
STACK  ?=
FORMAT ?= text
TOOLS  := .tools

# uv at the version uv.lock pins (dependency group `uv`): the one on PATH when it is that version,
# otherwise a private copy that pip installs, hash-checked against uv.lock, into .tools/.
UV_VERSION := $(shell $(PYTHON) -m mlinfra.lint.lockfile uv-version)
ifeq ($(word 2,$(shell uv --version 2>/dev/null)),$(UV_VERSION))
UV     := uv
UV_DEP :=
else
UV     := $(TOOLS)/bin/uv
UV_DEP := $(UV)
endif

# The ./venv the Pulumi CLI uses too (Pulumi.yaml: toolchain uv, virtualenv venv; the CLI runs uv
# with UV_PROJECT_ENVIRONMENT set to it), built from uv.lock exactly, with the dev group.
export UV_PROJECT_ENVIRONMENT := $(VENV)
# Bytecode is written by whichever process first imports a module, never compiled ahead: a fresh
# clone's first plan compiles only the ~1,600 modules a plan imports, not the ~8,500 installed
# (uv's UV_COMPILE_BYTECODE, ~20 s), and every later process reads them. Where the environment sets
# PYTHONDONTWRITEBYTECODE (as on the CI machines) nothing would ever be written and every process
# would compile the SDK from source again, so make's commands run without it (docs/benchmarks.md).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: help plan bootstrap-plan diff test check verify todo from-zero doctor lint bench bench-smoke bench-first-run workflows deps lock clean
.DEFAULT_GOAL := plan

$(TOOLS)/bin/uv: uv.lock
	@mkdir -p $(TOOLS)
	$(PYTHON) -m mlinfra.lint.lockfile uv-requirement > $(TOOLS)/uv-requirement.txt
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
		--only-binary :all: --upgrade --root-user-action=ignore --target $(TOOLS) -r $(TOOLS)/uv-requirement.txt
	@touch $@

# --locked: a uv.lock that no longer matches pyproject.toml is an error, never rewritten here.
$(VENV)/.synced: uv.lock pyproject.toml $(UV_DEP)
	$(UV) sync --locked --quiet --python $(VENV_PYTHON)
	@touch $@

# This list: each target and the first line of the comment above it.
help:
	@awk '/^# / && !c { c = substr($$0, 3) } /^$$/ { c = "" } /^[a-z][a-z-]*:/ && !/:=/ { 		split($$0, t, ":"); printf "  make %-15s %s\n", t[1], c; c = "" }' $(MAKEFILE_LIST)

# STACK and CONFIG_FILE are for the targets that take one stack; any other target refuses them
# rather than ignore them (`make verify STACK=dev` would otherwise check everything silently).
CONFIG_FILE ?=
no-stack = $(if $(STACK)$(CONFIG_FILE),$(error make $@ covers every stack: STACK and CONFIG_FILE are for make plan and make check))

# Install ./venv from uv.lock (every other target does it first when needed).
deps: $(VENV)/.synced

# Offline plan of one stack (STACK; CONFIG_FILE for an example's file).
# STACK defaults to the catalog's first stage.
plan: $(VENV)/.synced
	@$(MLINFRA) $(if $(STACK),--stack $(STACK)) $(if $(CONFIG_FILE),--config-file $(CONFIG_FILE)) --format $(FORMAT)

# What this working tree changes against BASE (a git revision), per stack.
# FORMAT=markdown for a PR comment.
BASE ?= HEAD
diff: $(VENV)/.synced
	$(no-stack)
	@$(MLINFRA) diff --base $(BASE) --format $(FORMAT)

# Offline plan of the bootstrap project (state backend, infra identities, infra repository).
BOOTSTRAP_STACK ?= platform
bootstrap-plan: $(VENV)/.synced
	@$(MLINFRA) --project-dir bootstrap --stack $(BOOTSTRAP_STACK) --format $(FORMAT)

# The test suite, one worker per core.
# pytest-xdist; the workers and the planner's child processes share the
# plan cache in .cache/plans (mlinfra/planner/plan_cache.py), so a stack is planned once per content.
# worksteal: an idle worker takes tests queued for a busy one (the `long` ones run first).
test: $(VENV)/.synced
	$(no-stack)
	$(PY) -m pytest -q -n auto --dist worksteal

# The policy pack over every stack and example (or STACK), offline.
# policy/; fails on a
# mandatory violation (a production stage's). Online, `pulumi preview|up --policy-pack policy`.
STACKS   := $(patsubst Pulumi.%.yaml,%,$(wildcard Pulumi.*.yaml))
EXAMPLES := $(wildcard examples/*/Pulumi.*.yaml)
check: $(VENV)/.synced
ifneq ($(STACK),)
	@$(MLINFRA) check --stack $(STACK) $(if $(CONFIG_FILE),--config-file $(CONFIG_FILE))
else
	$(no-stack)
	@$(MLINFRA) check $(foreach stack,$(STACKS),--stack $(stack))
	@for file in $(EXAMPLES); do \
		stack=$${file##*/Pulumi.}; stack=$${stack%.yaml}; \
		echo "$$file:"; $(MLINFRA) check --stack $$stack --config-file $$file || exit 1; \
	done
endif

# The estate verifier over the repository and each example, offline.
# mlinfra/estate: every stack, identity, pipeline and network path of the
# repository and of each example, offline; fails on any finding.
verify: $(VENV)/.synced
	$(no-stack)
	@$(MLINFRA) estate --examples

# What is left before the first real `pulumi up`.
# Placeholders per file and key, prerequisites not
# done, stacks copying another's subscription, range or owners (offline, a second).
todo: $(VENV)/.synced
	$(no-stack)
	@$(MLINFRA) todo

# docs/from-zero.md from the repository's files (a test fails when it is stale).
from-zero: $(VENV)/.synced
	$(no-stack)
	@$(MLINFRA) from-zero

# Read-only live preflight of the tenant (docs/doctor.md): the estate, or STACK=<s> alone.
# REPLAY=<dir> runs it over recorded responses instead; live, it first adds the
# doctor dependency group (azure-identity) to ./venv, and BOOTSTRAP_OUTPUTS=<file> names
# bootstrap's `pulumi stack output --json` (the deployers' real object ids).
REPLAY ?=
BOOTSTRAP_OUTPUTS ?=
doctor: $(VENV)/.synced
	$(if $(REPLAY),,@$(UV) sync --locked --quiet --group doctor --python $(VENV_PYTHON))
	@$(MLINFRA) doctor $(if $(STACK),--stack $(STACK),--estate) $(if $(REPLAY),--replay $(REPLAY)) $(if $(BOOTSTRAP_OUTPUTS),--bootstrap-outputs $(BOOTSTRAP_OUTPUTS)) --format $(FORMAT)

# Lint, format check and types.
# ruff, pyright against the SDKs' own type information;
# configuration in pyproject.toml.
lint: $(VENV)/.synced
	$(no-stack)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pyright

# The benchmarks; writes docs/benchmarks.md.
# Planner cost against the Pulumi-runtime floor, scaling, graph depth.
bench: $(VENV)/.synced
	$(PY) -m mlinfra.bench.run

# CI's smoke of the bench: one round, one stack, into a temporary file.
# .ci/run; no ratio judged; fails when the bench
# breaks. Writes to a new temporary folder, never to the committed docs/benchmarks.md.
bench-smoke: $(VENV)/.synced
	$(PY) -m mlinfra.bench.run --smoke --output "$$(mktemp -d)/benchmarks.md"
	$(PY) -m mlinfra.bench.first_run --dry-run

# Time a fresh clone's first plan, this Makefile against the one before issue 32.
# TEST=1 also times the first make test; the table goes to docs/benchmarks.md.
ROUNDS ?= 3
bench-first-run: $(VENV)/.synced
	$(PY) -m mlinfra.bench.first_run --rounds $(ROUNDS) $(if $(TEST),--test)

# Update every pin to its newest release of the same major version, and re-lock.
# Every exact pin in pyproject.toml to the newest release of its major version
# (.pulumi-version follows pulumi), transitive packages to their newest, uv.lock rewritten, venv synced.
lock: $(UV_DEP)
	$(PYTHON) -m mlinfra.lint.lockfile upgrade $(UV)
	$(UV) sync --locked --quiet --python $(VENV_PYTHON)
	@touch $(VENV)/.synced

# Regenerate the CI files' stage lists from the stage catalog.
# Stage lists and matrices of .github/workflows, azure-pipelines.yml and templates/ from the stage
# catalog (mlinfra:stages in Pulumi.yaml) and the stack files; run after adding a stage or a stack.
workflows: $(VENV)/.synced
	$(PY) -m mlinfra.repository.delivery_files --write

# Remove ./venv, the tools and the caches.
clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .cache
