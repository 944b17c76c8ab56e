# Tradewinds — two commands on a fresh machine:
#   make run    create the venv, install, replay 24 simulated hours through every step
#   make test   install dev deps, start the Pub/Sub + Firestore emulators, run the suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
HOURS ?= 24
SEED ?= 7

.PHONY: browser-deps run up test venv install-run install-dev emulators-start emulators-stop bench lint fmt clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.run-installed: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -q -e '.[functions,runtime]'
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -q -e '.[functions,runtime,ml,dev]'
	touch $(VENV)/.run-installed $@

# checkov (the Terraform scanner in tests/unit/test_checkov.py) pins packages the project's
# own venv cannot hold (an `hcl2` fork, packaging<24): it gets a venv of its own
$(VENV)/.checkov-installed: terraform/requirements-checkov.txt | $(VENV)/bin/python
	$(PYTHON) -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/python -m pip install -q -r terraform/requirements-checkov.txt
	touch $@

venv install-run: $(VENV)/.run-installed
install-dev: $(VENV)/.dev-installed

run: $(VENV)/.run-installed
	$(VENV)/bin/tradewinds run --hours $(HOURS) --seed $(SEED)

# feed, executor, predictor (with the ml extra and a model) and the function steps on one bus
# and store, each on its own port, until Ctrl-C (docs/local-services.md); e.g. UP_ARGS=--emulators
up: $(VENV)/.run-installed
	$(VENV)/bin/tradewinds up $(UP_ARGS)

# Debian's chromium and its driver for the console's browser tests (tests/browser): installed
# with apt-get when missing (CI runs as root on a fresh machine); nothing downloads a browser
browser-deps:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; }

test: $(VENV)/.dev-installed $(VENV)/.checkov-installed browser-deps
	$(PY) -m infra.emulators start
	set -a; source .emulators/env; set +a; \
	$(PY) -m pytest -q -p no:cacheprovider; rc=$$?; \
	$(PY) -m infra.emulators stop; exit $$rc

emulators-start: $(VENV)/.dev-installed
	$(PY) -m infra.emulators start

emulators-stop:
	$(PY) -m infra.emulators stop

bench: $(VENV)/.dev-installed
	$(PIP) install -q -e '.[bench]'  # vectorbt: the peer of bench/backtest.py
	for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check shared functions runtime infra tests bench
	terraform fmt -check -recursive terraform

clean:
	rm -rf $(VENV) runs .emulators .pytest_cache
