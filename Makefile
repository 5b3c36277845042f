# Gatepass. `make dev` runs the whole system locally; `make test` runs every check CI runs.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum requirements-dev.txt | cut -c1-12)
RUNTIME := $(shell $(PYTHON) -c 'import sys; print(f"python{sys.version_info[0]}.{sys.version_info[1]}")')
export PATH := $(abspath $(BIN)):$(PATH)
export SAM_CLI_TELEMETRY := 0
TEMPLATES := template.yaml $(wildcard container/template.yaml) $(wildcard pipeline/template.yaml) $(wildcard edge/template.yaml)
# checkov lives in its own virtualenv: its dependency pins clash with the project's.
CHECKOV_VENV ?= .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(shell sha1sum requirements-checkov.txt | cut -c1-12)
# The local OpenID Connect provider (node oidc-provider), installed from its lockfile.
OIDC_DIR := devstack/oidc
OIDC_STAMP := $(OIDC_DIR)/node_modules/.installed-$(shell sha1sum $(OIDC_DIR)/package-lock.json | cut -c1-12)
PYTEST_ARGS ?=
# pytest-xdist workers: `make test` and `make pytest` spread the suite over one per core (at most
# MAX_WORKERS), whole test files at a time; the tier targets run serially unless WORKERS is
# given (make web WORKERS=2). WORKERS=0 runs `make test` serially. See docs/decisions/0009.
WORKERS ?=
MAX_WORKERS ?= 8
XDIST = -n $(1) --maxprocesses $(MAX_WORKERS) --dist loadfile
# The test tiers: each is a folder of tests/ and the marker its tests carry.
TIERS := unit integration web template e2e

.PHONY: help install node dev test lint format typecheck imports cfn-lint validate checkov build pytest bench clean replay-projector backfill-ticket-keys $(TIERS)

help:
	@echo "make dev    run Gatepass locally (AWS stand-in, API, mailbox, database, cache, web)"
	@echo "make test   lint, type check, validate and build the templates, then run every test"
	@echo "make unit | integration | web | template | e2e   run one tier of tests (PYTEST_ARGS=...)"
	@echo "make bench  run the benchmarks and write docs/performance.md"
	@echo "make replay-projector REPLAY_ARGS=\"--stack NAME\"  replay the projector's dead letters"

$(STAMP): requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

$(OIDC_STAMP): $(OIDC_DIR)/package-lock.json
	cd $(OIDC_DIR) && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

node: $(OIDC_STAMP)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MAKE) --no-print-directory typecheck imports cfn-lint validate checkov

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: install
	$(BIN)/mypy

# Import rules (pyproject.toml [tool.importlinter]); the packages live in layers/ and container/.
imports: install
	PYTHONPATH=layers:container:. $(BIN)/lint-imports --no-cache

cfn-lint: install
	$(BIN)/cfn-lint --append-rules cfn_lint_serverless.rules -- $(TEMPLATES)

validate: install
	$(BIN)/sam validate --lint

$(CHECKOV_STAMP): requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	rm -f $(CHECKOV_VENV)/.installed-* && touch $@

# Offline (--skip-download) on every template and on the root after the SAM transform; fails on
# any finding that is not skipped in the template with its reason.
checkov: install $(CHECKOV_STAMP)
	$(BIN)/python tools/checkov_gate.py --checkov $(CHECKOV_VENV)/bin/checkov

build: install
	$(BIN)/sam build --cached --parallel --parameter-overrides PythonRuntime=$(RUNTIME)

pytest: install node
	$(BIN)/python -m pytest $(call XDIST,$(or $(WORKERS),auto)) --durations=25 $(PYTEST_ARGS)

test: lint build pytest

# One tier: its folder, and only tests carrying its marker (tests/template checks they all do).
$(TIERS): install node
	$(BIN)/python -m pytest tests/$@ -m $@ $(call XDIST,$(or $(WORKERS),0)) $(PYTEST_ARGS)

# DEV_ARGS passes options through, e.g. make dev DEV_ARGS="--confirm-subscriptions manual".
dev: install node
	$(BIN)/python -m devstack $(DEV_ARGS)

bench: install
	$(BIN)/python -m bench

# The projector's dead letters, replayed: REPLAY_ARGS="--stack gatepass" (AWS) or "--local ..."
# (make dev's stack); docs/operations.md, "Replaying the projector's dead letters".
replay-projector: install
	PYTHONPATH=layers:. $(BIN)/python -m ops.replay_projector $(REPLAY_ARGS)

# Every event created before per-event keys gets a random key of its own (ADR 0064):
# BACKFILL_ARGS="--stack gatepass [--dry-run]"; docs/operations.md, "Ticket signing keys".
backfill-ticket-keys: install
	PYTHONPATH=layers:. $(BIN)/python -m ops.backfill_ticket_keys $(BACKFILL_ARGS)

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache test-artifacts $(OIDC_DIR)/node_modules
