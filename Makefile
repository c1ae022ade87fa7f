# recorder-guard: every command a user or CI needs. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN := PYTHONPATH=src $(BIN)/python
# sam build needs python3.13 on PATH for the python3.13 runtime; pyenv provides it here.
SAM_ENV := PYENV_VERSION=$${PYENV_VERSION:-3.11.7:3.13.0} PATH="$(CURDIR)/$(BIN):$$PATH" SAM_CLI_TELEMETRY=0
REGION ?= us-east-1
EVENT ?= events/stop_recorder_assumed_role.json

.PHONY: help demo test rules-check lint typecheck template-check build bench invoke redrive doctor lock clean sam-local

# `make help` prints every target from its `##` comment, so the list cannot drift.
help: ## this list
	@awk -F ':[^#]*## ' '/^[a-z][a-z-]*:.*## / { printf "  make %-15s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

# Runs a recorder_guard command and exits with its code (README: exit codes). GNU make then
# reports "Error N" with that code, and itself always exits 2 when a recipe fails
# (https://www.gnu.org/software/make/manual/html_node/Running.html); for the code itself,
# run the printed command. 141 (the reader went away, as `| head` does) ends quietly.
define recorder_guard
	@$(RUN) -m recorder_guard $(1); code=$$?; \
	if [ $$code -eq 141 ]; then exit 0; fi; \
	if [ $$code -ne 0 ]; then \
	  echo "make $@: python -m recorder_guard $(firstword $(1)) exited $$code; exit codes: python -m recorder_guard --help" >&2; \
	fi; exit $$code
endef

$(BIN)/.installed: requirements-dev.txt constraints.txt src/requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -r requirements-dev.txt
	touch $@

demo: $(BIN)/.installed ## every file in events/, then the backstop, against an embedded AWS (moto), then a summary
	$(call recorder_guard,demo events)

invoke: $(BIN)/.installed ## one event through the local runner: EVENT=events/...json [ARGS=--json]
	$(call recorder_guard,invoke $(EVENT) $(ARGS))

lint: $(BIN)/.installed ## ruff format --check and ruff check
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench

typecheck: $(BIN)/.installed ## mypy, strict
	$(BIN)/mypy

template-check: $(BIN)/.installed ## cfn-lint and sam validate --lint on both templates
	$(BIN)/cfn-lint template.yaml templates/forwarder.yaml
	$(SAM_ENV) $(BIN)/sam validate --lint --region $(REGION) --template-file template.yaml
	$(SAM_ENV) $(BIN)/sam validate --lint --region $(REGION) --template-file templates/forwarder.yaml

test: lint typecheck template-check ## lint, typecheck, template-check, then pytest (what CI runs)
	$(RUN) -m pytest

# Also part of `make test` (plain pytest collects both files).
rules-check: $(BIN)/.installed ## rule files against the upstream snapshot and the ATT&CK v18->v19 table (part of make test)
	$(RUN) -m pytest -q -p no:cacheprovider tests/unit/test_upstream.py tests/unit/test_attack.py

redrive: $(BIN)/.installed ## dead letters back to the function: QUEUE_URL=... FUNCTION=... [ARGS=--dry-run]
	$(call recorder_guard,redrive --queue-url "$(QUEUE_URL)" --function "$(FUNCTION)" $(ARGS))

doctor: $(BIN)/.installed ## check that a deployed stack would really alert (real AWS, read-only): STACK=NAME [ARGS=--json|--send-test|...]
	@test -n "$(STACK)" || { echo "usage: make doctor STACK=NAME [ARGS=...]" >&2; exit 2; }
	$(call recorder_guard,doctor --stack "$(STACK)" $(ARGS))

build: $(BIN)/.installed ## sam build (python3.13, arm64)
	$(SAM_ENV) $(BIN)/sam build --template-file template.yaml

bench: build ## cold start, per-event cost, memory, package size (writes bench/results.json)
	$(SAM_ENV) $(BIN)/python bench/bench.py $(ARGS)

# Every file in events/ through `sam local invoke` in a stand-in Lambda runtime image
# (scripts/local-runtime-image.sh) against moto_server; checks the topic against
# events/README.md. ARGS=--endpoint URL uses a running moto_server instead of starting one.
sam-local: build ## sam local invoke of every event in a runtime container against moto (root, Docker)
	$(SAM_ENV) $(RUN) -m tests.sam_local $(ARGS)

lock: $(BIN)/.installed ## re-pin constraints.txt from requirements-dev.txt
	$(BIN)/python -m pip freeze --exclude-editable | sed '1i # Exact versions CI tested; regenerate with `make lock` after changing requirements-dev.txt.' > constraints.txt

clean: ## remove .venv, build output and caches
	rm -rf $(VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis bench/.runtime-venv
