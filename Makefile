# eduops: every target sets up what it needs on a fresh machine.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8080

.PHONY: all demo test test-fast bench lint system-deps services venv clean

all: test

system-deps:
	@bash scripts/install-system-deps.sh

$(STAMP): pyproject.toml constraints.txt setup.py src/eduops/analytics/fastpath.py
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	@touch $@

venv: $(STAMP)

services:
	@bash scripts/ensure-services.sh

demo: system-deps venv
	$(BIN)/eduops demo --port $(PORT)

test: system-deps venv services
	$(BIN)/python -m pytest -p no:cacheprovider

test-fast: venv
	$(BIN)/python -m pytest -p no:cacheprovider -x -m "not slow and not browser"

bench: system-deps venv services
	$(BIN)/python -m bench

lint: venv
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

clean:
	rm -rf $(VENV) build *.egg-info
