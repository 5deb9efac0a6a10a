# The README's two commands are `make demo` and `make test`; both set up .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_WORKERS ?= 2

.PHONY: install system-deps demo test lint unit bench clean

install: $(STAMP)

# Exact, hash-checked versions from the lock; the project itself installs editable on top.
$(STAMP): pyproject.toml requirements/lock.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Strongroom needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements/lock.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

# Optional Debian packages (bubblewrap); skipped with a note when not root.
system-deps:
	@scripts/system-deps.sh

demo: install system-deps
	$(BIN)/strongroom demo $(if $(INPUT),--input $(INPUT),)

lint: install
	$(BIN)/ruff check src tests $(wildcard bench)
	$(BIN)/lint-imports
	$(BIN)/mypy src/strongroom/media src/strongroom/crypto src/strongroom/storage src/strongroom/outbound src/strongroom/worker

test: lint
	@scripts/system-deps.sh test
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup tests

unit: install
	$(BIN)/python -m pytest -q tests/unit

bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache
