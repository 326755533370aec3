# Every command sets itself up: a fresh machine needs only python3 (3.11+) and this repository.
#
# Three install levels, each from a lock file with hashes (requirements/*.txt, refreshed by `make lock`), each
# with its own stamp; each adds only what is missing:
#   app   the scanner                                   make install
#   demo  + the local fakes of the vendors (sandbox/)   make demo
#   dev   + the test, lint and packaging tools          make test / lint / package-test / bench
# uv (pinned with hashes in requirements/uv.txt) installs them; pip only installs uv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
# the universal lock: every platform's wheels and markers, for Python 3.11 and later
LOCK_FLAGS := --universal --python-version 3.11 --generate-hashes --no-emit-package hygiene \
	--no-emit-package hygiene-sandbox --custom-compile-command 'make lock' --quiet
# the lock pins every package, the build back-end included: nothing is resolved or fetched unpinned
INSTALL := $(UV) pip install --python $(BIN)/python --quiet
LOCAL := $(INSTALL) --no-deps --no-build-isolation
# a dependency added to pyproject.toml but not to the lock fails here, not at run time
CHECK := @$(UV) pip check --python $(BIN)/python --quiet || { echo "make: the lock files lack a dependency: make lock"; exit 1; }
PIP_UV := install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements/uv.txt

.PHONY: install install-demo install-dev browser demo test lint package-test ci clean bench bench-full lock lock-upgrade screenshots

# The venv has no pip of its own (creating one with pip takes seconds): python3's pip (22.3 or later, through
# --python) installs uv into it, or, without one, the venv's own pip once ensurepip has made it.
$(VENV)/.stamp-uv: requirements/uv.txt
	@echo "make: creating $(VENV) and installing the installer, uv, pinned with hashes (a few seconds)..."
	$(PYTHON) -m venv --without-pip $(VENV)
	@if $(PYTHON) -m pip --python $(BIN)/python --version >/dev/null 2>&1; then \
		$(PYTHON) -m pip --python $(BIN)/python $(PIP_UV); \
	else \
		$(BIN)/python -m ensurepip --default-pip >/dev/null && $(BIN)/python -m pip $(PIP_UV); \
	fi
	touch $@

$(VENV)/.stamp-app: $(VENV)/.stamp-uv requirements/app.txt pyproject.toml
	@echo "make: installing hygiene and its dependencies, locked with hashes (about 5 s; 10 s when uv's download" \
		"cache is empty)..."
	$(INSTALL) --require-hashes -r requirements/app.txt
	$(LOCAL) -e .
	$(CHECK)
	touch $@

$(VENV)/.stamp-demo: $(VENV)/.stamp-app requirements/demo.txt sandbox/pyproject.toml
	@echo "make: adding the local fakes of Microsoft 365, Google Workspace and AWS (sandbox/, moto)..."
	$(INSTALL) --require-hashes -r requirements/demo.txt
	$(LOCAL) -e ./sandbox
	$(CHECK)
	touch $@

$(VENV)/.stamp-dev: $(VENV)/.stamp-demo requirements/dev.txt
	@echo "make: adding the test, lint and packaging tools (pytest, ruff, mypy, ...)..."
	$(INSTALL) --require-hashes -r requirements/dev.txt
	$(CHECK)
	touch $@

## The scanner alone, in .venv/ (.venv/bin/hygiene)
install: $(VENV)/.stamp-app
## ... and the local fakes of the vendors, what `make demo` needs
install-demo: $(VENV)/.stamp-demo
## ... and the development tools
install-dev: $(VENV)/.stamp-dev

## Debian's headless chromium, for the tests that load the HTML report in a real browser
browser:
	bash scripts/install-browser.sh

## Full scan of the built-in sandbox organisation (Northwind Dental); reports in ./hygiene-demo/
demo: install-demo
	@echo "make: starting the demo (about 20 s): $(BIN)/hygiene demo --output hygiene-demo"
	@$(BIN)/hygiene demo --output hygiene-demo

## Screenshots of the demo report for review, and its printed page count: build/screenshots/ (about a minute)
screenshots: install browser
	$(BIN)/python scripts/screenshots.py --out build/screenshots

## The test suite
test: install-dev browser
	$(BIN)/python -m pytest -q

## ruff (lint + format) and mypy, as configured in pyproject.toml
lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## A non-editable install into a fresh venv must find the built-in checks and policies
package-test: install-dev
	bash scripts/package-test.sh

ci: test lint package-test

## Benchmarks against the sandboxes with 50 ms latency (docs/benchmarks.md): 1,000 and 10,000 users, about a minute
bench: install-dev
	$(BIN)/python benchmarks/run.py --sizes 1000,10000 --latency-ms 50 --out build/benchmarks.json

## Every size: 1,000, 10,000 and 50,000 users per platform (a few minutes)
bench-full: install-dev
	$(BIN)/python benchmarks/run.py --sizes 1000,10000,50000 --latency-ms 50 --out build/benchmarks-full.json

## Re-compile the lock files after a change of dependencies in pyproject.toml or requirements/*.in, keeping every
## pin that still fits; `make lock-upgrade` moves every package to its newest release. Commit requirements/*.txt.
lock: $(VENV)/.stamp-uv
	$(UV) pip compile requirements/dev.in $(LOCK_FLAGS) $(UPGRADE) -o requirements/dev.txt
	$(UV) pip compile requirements/demo.in -c requirements/dev.txt $(LOCK_FLAGS) -o requirements/demo.txt
	$(UV) pip compile requirements/app.in -c requirements/dev.txt $(LOCK_FLAGS) -o requirements/app.txt
	$(UV) pip compile requirements/uv.in $(LOCK_FLAGS) $(UPGRADE) -o requirements/uv.txt

lock-upgrade:
	$(MAKE) lock UPGRADE=--upgrade

clean:
	rm -rf $(VENV) build dist *.egg-info sandbox/*.egg-info hygiene-demo hygiene-output .pytest_cache .mypy_cache .ruff_cache
