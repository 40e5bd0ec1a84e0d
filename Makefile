# Every target sets up what it needs, idempotently, on a fresh Debian machine with Python 3.11.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT    := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get
# pytest caches its rewritten test modules, and Python the project's modules, as bytecode (in the
# gitignored __pycache__ dirs) even where PYTHONDONTWRITEBYTECODE is set, as on this machine: a warm
# run collects the unit layer in 1.5 s instead of 3 s per xdist worker.
PYTEST := env -u PYTHONDONTWRITEBYTECODE $(PY) -m pytest
REPORT_DIR ?= reports

.PHONY: help setup venv postgres chromium test unit integration e2e demo bench clean

help: ## list targets
	@awk -F':.*## ' '/^[a-z0-9-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] >= (3, 11), "Python 3.11+ is required, found " + sys.version' 
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

venv: $(STAMP) ## .venv with the project and its test tools installed

postgres: ## Debian's PostgreSQL server binaries and libnss-wrapper (the local RDS endpoint names; apt, only when missing)
	@if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then \
	  echo "installing Debian's PostgreSQL"; \
	  $(APT) update -qq && $(APT) install -y -qq --no-install-recommends postgresql postgresql-contrib ssl-cert; \
	fi
	@ls /usr/lib/postgresql/*/bin/postgres >/dev/null
	@if ! ls /usr/lib/*/libnss_wrapper.so /usr/lib/libnss_wrapper.so >/dev/null 2>&1; then \
	  echo "installing Debian's libnss-wrapper"; \
	  $(APT) update -qq && $(APT) install -y -qq --no-install-recommends libnss-wrapper; \
	fi

chromium: ## Debian's Chromium for the browser test (apt, only when missing)
	@if [ ! -x /usr/bin/chromium ]; then \
	  echo "installing Debian's Chromium"; \
	  $(APT) update -qq && $(APT) install -y -qq --no-install-recommends chromium chromium-driver fonts-dejavu-core; \
	fi
	@/usr/bin/chromium --version >/dev/null

setup: venv postgres chromium ## everything the test layers need

test: setup ## every test layer: unit, integration (local cloud, policy pack, browser), e2e
	PGIAM_REQUIRE_LAYERS=unit,integration,e2e $(PYTEST) -n auto -m "unit or integration or e2e"

unit: venv ## the unit layer only (what pull requests run)
	$(PYTEST) -n auto -m unit

integration: setup ## the integration layer only
	$(PYTEST) -n auto -m integration

e2e: setup ## the local end-to-end layer only
	$(PYTEST) -m e2e

demo: setup ## the main job: one ephemeral stack on the local cloud, start to teardown, with its report
	@mkdir -p $(REPORT_DIR)
	$(PY) -m pgiam e2e --target local --program infra --report $(REPORT_DIR)/e2e.json

bench: setup ## the benchmark scripts (figures go to the README)
	$(PY) benchmarks/unit_layer.py

clean: ## remove the virtualenv and reports
	rm -rf $(VENV) $(REPORT_DIR)
