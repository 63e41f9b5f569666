# The README's two commands: `make demo` and `make test`. Both set everything up themselves.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Two installs: serving needs only the [server] extra; the tests and linters need [dev].
SERVE_STAMP := $(VENV)/.installed-server
STAMP := $(VENV)/.installed
PORT ?= 8080
# make bench BENCH_ARGS=--quick: a short try of the serving benchmark (benchmarks/serve.py).
BENCH_ARGS ?=
export STAC_BRIDGE_HOME ?= $(CURDIR)/.stac-bridge

.PHONY: demo test setup serve-setup system-deps db-up db-down lint typecheck bench clean

demo: serve-setup
	$(BIN)/stac-bridge db up
	BIN=$(BIN) bash scripts/build-demo.sh
	STAC_BRIDGE_FILES_DIR=$(CURDIR)/examples/demo/files $(BIN)/stac-bridge serve --host 127.0.0.1 --port $(PORT)

test: setup
	bash scripts/run-tests.sh

setup: system-deps $(STAMP)

serve-setup: system-deps $(SERVE_STAMP)

system-deps:
	@bash scripts/bootstrap.sh

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(SERVE_STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e ".[server]"
	touch $(SERVE_STAMP)

# The tests' venv also gets the sixth provider of tests/test_plugin_provider.py, a distribution of its own.
$(STAMP): pyproject.toml tests/plugin_provider/pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m pip install --quiet --no-deps -e tests/plugin_provider
	touch $(SERVE_STAMP) $(STAMP)

db-up: serve-setup
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
	$(BIN)/python -m benchmarks.enrich
	$(BIN)/python -m benchmarks.serve $(BENCH_ARGS)
	$(BIN)/python -m benchmarks.overhead

clean:
	-$(BIN)/stac-bridge db destroy
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
