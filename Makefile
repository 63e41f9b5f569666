# The README's two commands: `make demo` and `make test`. Both set everything up themselves.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8080
export STAC_BRIDGE_HOME ?= $(CURDIR)/.stac-bridge

.PHONY: demo test setup system-deps db-up db-down lint typecheck bench clean

demo: setup db-up
	BIN=$(BIN) bash scripts/build-demo.sh
	STAC_BRIDGE_FILES_DIR=$(CURDIR)/examples/demo/files $(BIN)/stac-bridge serve --host 127.0.0.1 --port $(PORT)

test: setup
	bash scripts/run-tests.sh

setup: system-deps $(STAMP)

system-deps:
	@bash scripts/bootstrap.sh

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

db-up: setup
	$(BIN)/stac-bridge db up

db-down:
	$(BIN)/stac-bridge db down

lint: setup
	$(BIN)/ruff check stac_bridge tests benchmarks examples
	$(BIN)/mypy

bench: setup db-up
	$(BIN)/python -m benchmarks.transforms
	$(BIN)/python -m benchmarks.harvest
	$(BIN)/python -m benchmarks.load
	$(BIN)/python -m benchmarks.search

clean:
	-$(BIN)/stac-bridge db destroy
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
