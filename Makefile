# The only entry points humans and CI use. Everything installs from the lock file.
SHELL := /bin/bash
PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
UV_VERSION := 0.13.9
VENV := .venv
BIN := $(VENV)/bin
export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export UV_PYTHON := $(shell command -v $(PYTHON))

.PHONY: install browser demo test test-fast test-spark dev bench bench-large bench-ingest lint fmt dbt-build check clean docs

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet "uv==$(UV_VERSION)"

# Bytecode compiled at install: with PYTHONDONTWRITEBYTECODE set (as on the build machines) every
# process would otherwise compile dagster, dbt and friends from source, 3 s per `peoplemart` call.
$(BIN)/peoplemart: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --compile-bytecode
	touch $@

# Parsed at install, as a deployment prepares dagster-dbt's manifest: a night whose manifest is
# older than a project file parses the whole project first (7 s of a 100,000-employee night).
# The same files orchestration/dbt_manifest.py compares against.
MANIFEST := dbt_project/target/manifest.json
DBT_PROJECT_FILES := dbt_project/dbt_project.yml dbt_project/profiles.yml \
	$(shell find dbt_project/models dbt_project/macros dbt_project/seeds dbt_project/tests -type f 2>/dev/null)
$(MANIFEST): $(BIN)/peoplemart $(DBT_PROJECT_FILES)
	cd dbt_project && ../$(BIN)/dbt parse --profiles-dir . --quiet
	touch $@

install: $(BIN)/peoplemart $(MANIFEST) ## create .venv from uv.lock and parse the dbt project

# The dashboard test drives Debian's Chromium (a test tool's own browser download cannot work
# offline). Installed once per machine; needs root, as CI and the build machines have.
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null || \
	  (apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null)

browser: $(CHROMIUM) ## Debian's Chromium for the dashboard test

demo: install ## generate a synthetic organisation into demo/ and run the whole pipeline
	$(BIN)/peoplemart demo --dir demo

test: install browser ## lint + the whole test suite (unit, dbt, Dagster, end-to-end, browser)
	$(BIN)/ruff check .
	$(BIN)/pytest -n 2 --dist loadgroup --no-loadscope-reorder --durations=15

# Not in `make test`: five minutes of Spark's per-statement start-up on two cores, and a Java
# runtime (17+) the machine must have.
# Its own environment: with pyspark importable, pandera loads its Spark integration in every
# pipeline process.
SPARK_VENV := .venv-spark
test-spark: install ## the dbt project built on Spark (pyspark, local); marts equal DuckDB's
	UV_PROJECT_ENVIRONMENT=$(SPARK_VENV) $(UV) sync --frozen --compile-bytecode --group spark
	$(SPARK_VENV)/bin/pytest -m spark

test-fast: install
	$(BIN)/pytest -n 2 -m "not slow"

dev: install ## the Dagster UI on http://127.0.0.1:3000 for the demo home
	$(BIN)/peoplemart dev --home demo/home --landing demo/landing --port 3000

bench: install ## pipeline vs a DuckDB query and pandas, 10k and 100k x 10y (bench/results/)
	$(BIN)/peoplemart bench --scale standard

bench-large: install ## the same with 1,000,000 employees (hours; needs ~16 GB)
	$(BIN)/peoplemart bench --scale large

bench-ingest: install ## generation and ingestion rows/s vs DuckDB read_csv, 100k x 10y
	$(BIN)/python -m bench.ingest --employees 100000 --years 10

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

dbt-build: install
	cd dbt_project && PEOPLEMART_HOME=$(CURDIR)/demo/home ../$(BIN)/dbt build --profiles-dir .

check: lint test

clean:
	rm -rf demo build dbt_project/target dbt_project/logs .pytest_cache

docs: install ## re-render docs/extracts.md (contracts) and docs/kpi_catalog.md (metrics)
	$(BIN)/python -m ingestion.contract_docs
	$(BIN)/python -m metrics.catalog
