# Every command sets itself up: a fresh machine needs only python3 (3.11+) and this repository.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test lint package-test ci clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Full scan of the built-in sandbox organisation (Northwind Dental); reports in ./hygiene-demo/
demo: install
	$(BIN)/hygiene demo --output hygiene-demo

## The test suite
test: install
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

clean:
	rm -rf $(VENV) build dist *.egg-info hygiene-demo hygiene-output .pytest_cache .mypy_cache .ruff_cache
