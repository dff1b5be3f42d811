# MWMS HeadOffice — the two set-up commands are `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# A local run is a development run; production sets DEBUG=false and SECRET_KEY itself.
export DEBUG ?= true
PASSWORD ?= mwms-demo-2026

.PHONY: run test lint install install-dev migrate seed serve clean

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	  || { echo "MWMS HeadOffice needs Python 3.11 or newer: run make with PYTHON=python3.11 (or newer)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(PY) manage.py migrate --no-input

seed: migrate
	$(PY) manage.py seed_demo --password "$(PASSWORD)"

run: seed
	@echo ""
	@echo "  MWMS HeadOffice is starting on http://127.0.0.1:8000"
	@echo "  Sign in as 'reviewer' (HeadOffice) or '<brain>_owner' (e.g. research_owner), password: $(PASSWORD)"
	@echo "  Django admin: http://127.0.0.1:8000/admin/ (user 'admin', same password)"
	@echo ""
	@echo "  A background worker (manage.py db_worker) sends webhook deliveries beside the web server."
	@echo ""
	@$(PY) manage.py db_worker --no-reload --verbosity 0 & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  $(PY) manage.py runserver 127.0.0.1:8000

# The layers contract (pyproject.toml, [tool.importlinter]) is checked before every test run.
lint: install-dev
	$(VENV)/bin/lint-imports --no-cache

test: lint
	$(PY) -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis test-artifacts test-results
