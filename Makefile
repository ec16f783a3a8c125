# The README's two commands: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ARCHIVE ?= demo-archive
EXTRAS ?= all,dev

.PHONY: run test test-fast lint bench clean browsers publish

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

# A tour of the demo archive on the command line, then the web interface on it.
run: $(STAMP)
	SILLOK_PASSPHRASE=$${SILLOK_PASSPHRASE:-demo-passphrase} $(BIN)/sillok tour $(ARCHIVE)
	SILLOK_PASSPHRASE=$${SILLOK_PASSPHRASE:-demo-passphrase} $(BIN)/sillok serve $(ARCHIVE) --demo

# The demo archive's public records as open data (docs/publishing.md), and how to browse them.
OPEN_DATA ?= open-data.db
publish: $(STAMP)
	@test -d $(ARCHIVE) || SILLOK_PASSPHRASE=$${SILLOK_PASSPHRASE:-demo-passphrase} $(BIN)/sillok demo $(ARCHIVE) --size 2000
	SILLOK_PASSPHRASE=$${SILLOK_PASSPHRASE:-demo-passphrase} $(BIN)/sillok publish data $(ARCHIVE) --output $(OPEN_DATA) --force
	@echo "Browse it with Datasette: $(BIN)/datasette $(OPEN_DATA) --metadata $(basename $(OPEN_DATA)).metadata.yml"
	@echo "then open http://127.0.0.1:8001/ (search: /$(basename $(notdir $(OPEN_DATA)))/acts?_search=요덕)"

# Debian's Chromium (driven by Playwright in the browser tests) and Nanum fonts for Hangul.
browsers:
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi nanum; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-nanum; \
	fi

test: $(STAMP) browsers
	$(BIN)/ruff check sillok tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -q -n 2 --dist loadfile

# Everything but the slow tests (Spark, Chromium, crashes, Schemathesis, large imports) and
# PostgreSQL: a few minutes, for the edit-test loop. `make test` is the whole suite.
test-fast: $(STAMP)
	$(BIN)/ruff check sillok tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -q -n 2 --dist loadfile -m "not slow and not postgresql"

lint: $(STAMP)
	$(BIN)/ruff check sillok tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b; done

clean:
	rm -rf $(VENV) demo-archive test-output .pytest_cache .mypy_cache .ruff_cache
