# The two commands a newcomer needs: `make demo` (the whole pipeline on this machine) and `make test` (every check).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
CHECKOV_VENV ?= .venv-checkov
CHECKOV_VERSION ?= 3.3.30
PYTEST_ARGS ?=
# make demo AGGREGATION=lambda|firehose|all LOAD=s3_event|schedule|ec2_cron|emr_compaction|all CHANGES=10000
#           DATA_API_MODE=async|poll BACKFILL=none|step_functions|checkpoint_table|export SEED_ITEMS=20000 EC2_HOSTS=1
#           FAIL_COMPACTION=1 (LOAD=emr_compaction: the first s3-dist-cp step fails; its cluster must still terminate)
#           CALIBRATE=8,24 (LOAD=s3_event: objects and COPYs per hour at each rate beside the planner's prediction)
AGGREGATION ?= lambda
LOAD ?= s3_event
CHANGES ?= 10000
DATA_API_MODE ?= async
BACKFILL ?= none
SEED_ITEMS ?= 20000
EC2_HOSTS ?= 1
FAIL_COMPACTION ?=
CALIBRATE ?=

BIN := $(VENV)/bin

.PHONY: demo test lint format bench venv clean verify-aws layer docs plan calibrate

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

# The planner's objects and COPYs per hour against the sandbox at 8 and 24 changes/s, within 20 % (issue 14 item 3),
# on its own (make test runs it too, after its other demos).
calibrate: $(VENV)/.installed
	$(BIN)/pytest -p no:cacheprovider tests/sandbox/test_calibration.py

# Terraform apply on an in-process moto, the handlers in a local Lambda runtime, Redshift's Data API on a
# throwaway PostgreSQL; prints a report (0 mismatches or exit 1), then destroys and stops everything.
demo: $(VENV)/.installed
	$(BIN)/python -m tests.sandbox.demo --aggregation '$(AGGREGATION)' --load '$(LOAD)' --changes '$(CHANGES)' --data-api-mode '$(DATA_API_MODE)' \
		--backfill '$(BACKFILL)' --seed-items '$(SEED_ITEMS)' --ec2-hosts '$(EC2_HOSTS)' $(if $(FAIL_COMPACTION),--fail-compaction) \
		$(if $(CALIBRATE),--calibrate '$(CALIBRATE)')

# examples/complete on a real AWS account (Redshift Serverless included), proven and destroyed in one command.
# It refuses to run without an explicit account and region; AWS_PROFILE/AWS_REGION are honoured:
#   make verify-aws ARGS='--account-id 123456789012 --region eu-west-1 [--profile p] [--yes] [--changes 2000]'
ARGS ?=
verify-aws: $(VENV)/.installed
	$(BIN)/python -m tests.aws.verify_aws $(ARGS)

# The psycopg2 Lambda layer (pinned psycopg2-binary for python3.12 on x86_64), reproducible to the byte:
# .build/layers/psycopg2-binary-<version>-py3.12-x86_64.zip; pass it as redshift.psycopg2_layer_zip.
layer: $(VENV)/.installed
	$(BIN)/python -m tests.layer.build_psycopg2_layer

# README.md's inputs and outputs tables, rendered from variables.tf and outputs.tf (tests/test_readme_tables.py
# fails when they differ): run it after changing a variable or an output.
docs: $(VENV)/.installed
	$(BIN)/python -m tests.readme_tables --write

# Cost and freshness of every aggregation x load_strategy for a documented example (README, "Choosing a strategy"):
#   make plan PLAN_ARGS='--rate 50 --item-kb 2 --freshness 600 --tfvars terraform.tfvars --plot plan.svg'
PLAN_ARGS ?= --profile 5,4,3,3,3,4,8,20,40,60,80,90,100,90,80,70,60,60,70,80,60,30,15,8 --item-kb 1 --update-share 0.6 --delete-share 0.1 --freshness 900 --plot docs/plan.png
plan: $(VENV)/.installed
	$(BIN)/python -m ddb_cdc.plan $(PLAN_ARGS)

bench: $(VENV)/.installed
	@for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .pytest_cache .ruff_cache .hypothesis
