# yilian (医联) — make run [PORT=8080] [HOST=0.0.0.0]: serve the demo on SQLite; make test: every test; make lint: ruff, mypy, import-linter.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export YILIAN_DATABASE_URL ?= sqlite:///./var/yilian.db
# test processes (pytest-xdist; each has its own databases and its own demo server for the browser tests);
# a test file stays on one process. TEST_WORKERS=0 runs everything in this process.
TEST_WORKERS ?= 2
PYTEST := $(BIN)/pytest $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)

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
	# JuPedSim's simulator needs only numpy and shapely (in dev.lock); its declared Qt/VTK visualiser
	# dependencies (over 1 GB) are left out
	$(BIN)/python -m pip install --quiet --no-deps jupedsim==1.4.2
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/yilian db upgrade
	$(BIN)/yilian demo --if-empty
	$(BIN)/yilian serve $(if $(HOST),--host $(HOST)) $(if $(PORT),--port $(PORT))

test: install-dev
	$(PYTEST)

test-unit: install-dev
	$(PYTEST) -m "not e2e and not slow and not spark"

test-e2e: install-dev
	$(PYTEST) tests/e2e

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
