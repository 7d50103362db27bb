# Tidings — every target does its own set-up on a fresh machine.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install lint typecheck migrate demo bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install Tidings with its development tools
	$(BIN)/tidings migrate

run: install ## serve API + worker on http://127.0.0.1:8000 with SQLite and demo data
	$(BIN)/tidings run --demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck ## the whole suite, on SQLite and PostgreSQL (PostgreSQL must be running)
	$(BIN)/pytest -n 2 -q

bench: $(STAMP)
	$(BIN)/python -m bench.engine --customers 100000 --db postgres

clean:
	rm -rf $(VENV) tidings.db tidings.db-wal tidings.db-shm .pytest_cache .mypy_cache .ruff_cache
