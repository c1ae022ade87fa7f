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

help:
	@echo "make demo      run the responder on every file in events/, then the backstop, against an embedded AWS (moto)"
	@echo "make test      ruff, mypy, cfn-lint + sam validate --lint, pytest (what CI runs)"
	@echo "make rules-check   rule files against the upstream snapshot and the ATT&CK v18->v19 table (part of make test)"
	@echo "make invoke EVENT=events/...json [ARGS=--json]   one event through the local runner"
	@echo "make build     sam build (python3.13, arm64)"
	@echo "make redrive QUEUE_URL=... FUNCTION=... [ARGS=--dry-run]   dead letters back to the function"
	@echo "make doctor STACK=NAME [ARGS=--json|--send-test|...]   check a deployed stack really alerts (real AWS, read-only)"
	@echo "make bench     cold start, per-event cost, memory, package size (writes bench/results.json)"
	@echo "make sam-local sam local invoke of every event in a runtime container against moto (root, Docker)"
	@echo "make lock      re-pin constraints.txt from requirements-dev.txt"

$(BIN)/.installed: requirements-dev.txt constraints.txt src/requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -r requirements-dev.txt
	touch $@

demo: $(BIN)/.installed
	@$(RUN) -m recorder_guard demo events
	@$(RUN) -m recorder_guard backstop

invoke: $(BIN)/.installed
	@$(RUN) -m recorder_guard invoke $(EVENT) $(ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench

typecheck: $(BIN)/.installed
	$(BIN)/mypy

template-check: $(BIN)/.installed
	$(BIN)/cfn-lint template.yaml templates/forwarder.yaml
	$(SAM_ENV) $(BIN)/sam validate --lint --region $(REGION) --template-file template.yaml
	$(SAM_ENV) $(BIN)/sam validate --lint --region $(REGION) --template-file templates/forwarder.yaml

test: lint typecheck template-check
	$(RUN) -m pytest

# Also part of `make test` (plain pytest collects both files).
rules-check: $(BIN)/.installed
	$(RUN) -m pytest -q -p no:cacheprovider tests/unit/test_upstream.py tests/unit/test_attack.py

redrive: $(BIN)/.installed
	$(RUN) -m recorder_guard redrive --queue-url "$(QUEUE_URL)" --function "$(FUNCTION)" $(ARGS)

# Exit status: non-zero when a check fails (make reports the CLI's 1 as its own 2).
doctor: $(BIN)/.installed
	@test -n "$(STACK)" || { echo "usage: make doctor STACK=NAME [ARGS=...]" >&2; exit 2; }
	@$(RUN) -m recorder_guard doctor --stack "$(STACK)" $(ARGS)

build: $(BIN)/.installed
	$(SAM_ENV) $(BIN)/sam build --template-file template.yaml

bench: build
	$(SAM_ENV) $(BIN)/python bench/bench.py $(ARGS)

# Every file in events/ through `sam local invoke` in a stand-in Lambda runtime image
# (scripts/local-runtime-image.sh) against moto_server; checks the topic against
# events/README.md. ARGS=--endpoint URL uses a running moto_server instead of starting one.
sam-local: build
	$(SAM_ENV) $(RUN) -m tests.sam_local $(ARGS)

lock: $(BIN)/.installed
	$(BIN)/python -m pip freeze --exclude-editable | sed '1i # Exact versions CI tested; regenerate with `make lock` after changing requirements-dev.txt.' > constraints.txt

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis bench/.runtime-venv
