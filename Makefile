# Tidings — every target does its own set-up on a fresh machine.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install frontend lint typecheck migrate demo bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

NODE_STAMP := frontend/node_modules/.package-lock.json

$(NODE_STAMP): frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	@touch $@

frontend: $(STAMP) $(NODE_STAMP) ## build the editor into src/tidings/ui_dist (served at /ui) and run its unit tests
	@mkdir -p frontend/.generated
	$(BIN)/python -m tidings.api.ui > frontend/.generated/editor-meta.json
	cd frontend && npm run build && npm test

install: $(STAMP) frontend ## create .venv, install Tidings with its development tools, build the editor
	$(BIN)/tidings migrate

run: install ## serve API + worker on http://127.0.0.1:8000 with SQLite and demo data
	$(BIN)/tidings run --demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck frontend ## the whole suite, on SQLite and PostgreSQL (PostgreSQL must be running)
	@test -x /usr/bin/chromium || { echo "make test needs Chromium at /usr/bin/chromium for the editor's browser tests (tests/e2e): apt-get install chromium (.ci/run installs it)"; exit 2; }
	$(BIN)/pytest -n 2 -q

bench: $(STAMP)
	$(BIN)/python -m bench.engine --customers 100000 --db postgres

clean:
	rm -rf $(VENV) frontend/node_modules frontend/.generated src/tidings/ui_dist tidings.db tidings.db-wal tidings.db-shm tidings-secret-key .pytest_cache .mypy_cache .ruff_cache
