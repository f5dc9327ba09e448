# The two commands a newcomer needs: `make test` (every check) and, once the sandbox lands, `make demo`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
CHECKOV_VENV ?= .venv-checkov
CHECKOV_VERSION ?= 3.3.30
PYTEST_ARGS ?=

BIN := $(VENV)/bin

.PHONY: test lint format bench venv clean

# The project venv is rebuilt whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,dev]'
	touch $@

# checkov pins an old boto3, so it lives in its own venv and never downgrades ours.
$(CHECKOV_VENV)/.installed:
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet 'checkov==$(CHECKOV_VERSION)'
	touch $@

venv: $(VENV)/.installed $(CHECKOV_VENV)/.installed

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	terraform fmt -recursive .

# pytest exits 5 when it collects nothing, so an empty run fails here as it should.
test: venv lint
	CHECKOV_BIN=$(abspath $(CHECKOV_VENV))/bin/checkov $(BIN)/pytest $(PYTEST_ARGS)

bench: $(VENV)/.installed
	@for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .pytest_cache .ruff_cache .hypothesis
