# yilian (医联) — make run: serve the demo on SQLite; make test: every test; make lint: ruff, mypy, import-linter.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export YILIAN_DATABASE_URL ?= sqlite:///./var/yilian.db

.PHONY: run install install-dev test test-unit test-e2e lint format clean serve demo

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python requirements/run.lock pyproject.toml
	$(BIN)/python -m pip install --quiet -r requirements/run.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements/dev.lock
	$(BIN)/python -m pip install --quiet -r requirements/dev.lock
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/yilian db upgrade
	$(BIN)/yilian demo --if-empty
	$(BIN)/yilian serve

test: install-dev
	$(BIN)/pytest

test-unit: install-dev
	$(BIN)/pytest --ignore=tests/e2e

test-e2e: install-dev
	$(BIN)/pytest tests/e2e

lint: install-dev
	$(BIN)/ruff check yilian tests benchmarks migrations
	$(BIN)/ruff format --check yilian tests benchmarks migrations
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install-dev
	$(BIN)/ruff format yilian tests benchmarks migrations
	$(BIN)/ruff check --fix yilian tests benchmarks migrations

clean:
	rm -rf $(VENV) var test-output .pytest_cache .mypy_cache .ruff_cache
