# wagate: `make demo` runs the full flow, `make test` runs every check.
# Both install what they need first (`make install`).

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export UV_PYTHON_DOWNLOADS := never
# uv comes from PATH when the machine has it, else it is installed with pip.
UV = $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")

.PHONY: install demo test lint unit integration e2e bench lock clean screenshots

install: $(VENV)/.installed

$(VENV)/.installed: requirements/dev.txt pyproject.toml
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 \
		|| $(PYTHON) -m pip install --quiet --disable-pip-version-check uv
	@test -x $(BIN)/python || $(UV) venv --quiet --python $(PYTHON) $(VENV)
	$(UV) pip sync --quiet --require-hashes --compile-bytecode --python $(BIN)/python requirements/dev.txt
	$(UV) pip install --quiet --no-deps --no-build-isolation --python $(BIN)/python -e .
	@touch $@

lock:
	$(UV) pip compile pyproject.toml --generate-hashes --no-emit-index-url --python-version 3.11 -q -o requirements/runtime.txt
	$(UV) pip compile pyproject.toml --extra dev --generate-hashes --no-emit-index-url --python-version 3.11 -q -o requirements/dev.txt

demo: install
	$(BIN)/python -m wagate demo

lint: install
	$(BIN)/ruff check src tests bench docs
	$(BIN)/ruff format --check src tests bench docs
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: install
	$(BIN)/pytest tests/unit

integration: install
	$(BIN)/pytest tests/integration

e2e: install
	$(BIN)/python -m compileall -q src
	$(BIN)/pytest tests/e2e

# End-to-end tests mostly wait on the processes they start, so three test
# processes keep two cores busy; --dist loadfile keeps a module's shared servers in one.
PYTEST_WORKERS ?= 3

# The tests start hundreds of interpreters (gateways, their workers, the CLI): the
# sources are compiled once, even where PYTHONDONTWRITEBYTECODE keeps each from saving its own.
test: lint
	$(BIN)/python -m compileall -q src
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile

bench: install
	$(BIN)/python -m bench

# The portal's screenshots in docs/portal/ (needs Debian's chromium).
screenshots: install
	$(BIN)/python docs/screenshots.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
