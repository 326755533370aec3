# Every command sets itself up: a fresh machine needs only python3 (3.11+) and this repository.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install browser demo test lint package-test ci clean bench bench-full screenshots

$(STAMP): pyproject.toml sandbox/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e './sandbox[aws]' -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Debian's headless chromium, for the tests that load the HTML report in a real browser
browser:
	bash scripts/install-browser.sh

## Full scan of the built-in sandbox organisation (Northwind Dental); reports in ./hygiene-demo/
demo: install
	$(BIN)/hygiene demo --output hygiene-demo

## Screenshots of the demo report for review, and its printed page count: build/screenshots/ (about a minute)
screenshots: install browser
	$(BIN)/python scripts/screenshots.py --out build/screenshots

## The test suite
test: install browser
	$(BIN)/python -m pytest -q

## ruff (lint + format) and mypy, as configured in pyproject.toml
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## A non-editable install into a fresh venv must find the built-in checks and policies
package-test: install
	bash scripts/package-test.sh

ci: test lint package-test

## Benchmarks against the sandboxes with 50 ms latency (docs/benchmarks.md): 1,000 and 10,000 users, about a minute
bench: install
	$(BIN)/python benchmarks/run.py --sizes 1000,10000 --latency-ms 50 --out build/benchmarks.json

## Every size: 1,000, 10,000 and 50,000 users per platform (a few minutes)
bench-full: install
	$(BIN)/python benchmarks/run.py --sizes 1000,10000,50000 --latency-ms 50 --out build/benchmarks-full.json

clean:
	rm -rf $(VENV) build dist *.egg-info hygiene-demo hygiene-output .pytest_cache .mypy_cache .ruff_cache
