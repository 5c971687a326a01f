# Two commands for a fresh machine: `make run` and `make test` (see README).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-12)

.PHONY: run test test-services test-services-all chaos setup local-env migrate bench clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

setup: $(STAMP)

## This machine's var/.env (DEBUG=1, a generated SECRET_KEY), once: `python manage.py …` then works bare.
local-env: setup
	$(PY) -m config.local_env

migrate: local-env
	DEBUG=$${DEBUG:-1} $(PY) manage.py migrate --noinput

## Set everything up and run web + worker + beat on the embedded default.
run: migrate
	DEBUG=$${DEBUG:-1} $(PY) manage.py bootstrap_demo
	DEBUG=$${DEBUG:-1} $(PY) manage.py finops_bootstrap_demo
	DEBUG=$${DEBUG:-1} $(PY) manage.py registry_bootstrap_demo
	DEBUG=$${DEBUG:-1} VENV=$(VENV) bin/serve

## Set up and run the test suite (SQLite, tasks eager; service tests skip without services).
test: setup
	$(PY) -m pytest

## The service leg: PostgreSQL, Redis, a real worker and a real browser (used by .ci/run).
## It runs the tests that need services or run differently on PostgreSQL (every
## `services`/`browser` test and the paths of tests/service_leg.txt), not the
## whole suite again: `make test` has run that on SQLite. `test-services-all`
## runs the whole suite on the services.
test-services: setup
	RUNSIGHT_REQUIRE_SERVICES=1 RUNSIGHT_SERVICE_LEG=1 $(PY) -m pytest

test-services-all: setup
	RUNSIGHT_REQUIRE_SERVICES=1 $(PY) -m pytest

## Fault injection on a stack the suite starts itself (PostgreSQL, Redis, gunicorn, workers, beat).
chaos: setup
	$(PY) -m pytest tests/chaos -m chaos -p no:cacheprovider

bench: setup
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) var .pytest_cache
