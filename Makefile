# The two commands of the README: `make demo` (set-up + a full run on the sample data)
# and `make test`. Everything runs from the project's own .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DAGSTER_HOME := $(CURDIR)/.dagster_home
export DTKS_SOURCES ?= $(CURDIR)/data/sources
export DTKS_WAREHOUSE ?= $(CURDIR)/data/warehouse/dtks.duckdb
export GX_ANALYTICS_ENABLED := false
export DAGSTER_DISABLE_TELEMETRY := true

.PHONY: env demo test ui lock sample benchmark clean instance-postgres

# --compile-bytecode: every run imports Dagster, pandas and Great Expectations; without .pyc files
# (PYTHONDONTWRITEBYTECODE set, a read-only venv) each process compiles them again (README, Benchmarks).
$(BIN)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==0.13.9
	$(BIN)/uv pip sync --quiet --compile-bytecode -p $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet -p $(BIN)/python --no-deps -e .
	touch $@

# The instance configuration (SQLite in DAGSTER_HOME); `make instance-postgres` switches it.
$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME) && cp dagster.yaml $@

env: $(BIN)/.installed $(DAGSTER_HOME)/dagster.yaml

instance-postgres: env
	cp dagster_postgres.yaml $(DAGSTER_HOME)/dagster.yaml

# Sample deliveries are generated once (deterministic by seed); delete data/sources to regenerate.
$(DTKS_SOURCES)/2022-10: | $(BIN)/.installed
	$(BIN)/dtks generate --out $(DTKS_SOURCES)

sample: $(DTKS_SOURCES)/2022-10

demo: env sample
	$(BIN)/dtks run --sources $(DTKS_SOURCES) --warehouse $(DTKS_WAREHOUSE)

# Two pytest-xdist workers (2 cores: most of a month run is single-threaded Python); `--dist loadgroup`
# keeps each shared month run on one worker, handed out first (dtks_pipeline_tests/conftest.py).
test: env
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup --no-loadscope-reorder

ui: env
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

benchmark: env sample
	$(BIN)/dtks benchmark ingestion --sources $(DTKS_SOURCES)
	$(BIN)/dtks benchmark registry --sources $(DTKS_SOURCES)
	$(BIN)/dtks benchmark payout --sources $(DTKS_SOURCES)

# Re-pin the transitive dependency set after changing pyproject.toml.
lock: env
	$(BIN)/uv pip compile -q -p 3.11 pyproject.toml --extra dev --extra bench -o requirements.lock

clean:
	rm -rf $(VENV) data/sources data/warehouse .dagster_home
