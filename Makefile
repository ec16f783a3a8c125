# The README's two commands: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ARCHIVE ?= demo-archive
EXTRAS ?= all,dev

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

run: $(STAMP)
	SILLOK_PASSPHRASE=$${SILLOK_PASSPHRASE:-demo-passphrase} $(BIN)/sillok tour $(ARCHIVE)

test: $(STAMP)
	$(BIN)/ruff check sillok tests bench
	$(BIN)/mypy
	$(BIN)/pytest -q -n 2 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check sillok tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) demo-archive test-output .pytest_cache .mypy_cache .ruff_cache
