"""Small generated samples run through the monthly job, made once per session.

`pipeline_sample`: 150 generated families, three months (about 700 person mentions a
month, below `linkage_model.MIN_TRAINING_MENTIONS`, so the registry keeps the prior
m/u values: deterministic and quick; Splink's training runs on `small_sample` and the
3,000-family `published_sample`). For the tests of the `dtks` command's flow, where the
size of the sample does not matter.

`pipeline_months`: months 2022-10 and 2022-11 of the session's `small_sample` (300
families) run in process through the project's monthly job, with the working files
kept as they were after 2022-10. A test that runs a further month or re-runs one
copies them into its own tmp_path (`warehouse_copy.copy_warehouse`); nothing here is
written after the fixture returns. (Not the 150-family sample: at that size the
exclusions' month-on-month row-count band, +-50 % of a handful of rows, warns in
2022-11, and the broken-delivery test asserts that only the quarantine check fails.)
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from dtks_pipeline_tests.warehouse_copy import snapshot_working

SAMPLE_FAMILIES = 150
MONTHS = ("2022-10", "2022-11")
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@dataclass
class PipelineMonths:
    sources: Path  # the month folders 2022-10 and 2022-11 (no later month)
    warehouse: Path  # published file after 2022-11 (working files in work/, GX project in gx/ beside it)
    after_october: Path  # a folder holding the working files (work/) as they were right after 2022-10
    results: dict  # period -> Dagster ExecuteInProcessResult of the monthly job

    @property
    def gx_dir(self) -> Path:
        return self.warehouse.parent / "gx"


def run_months(sources: Path, warehouse: Path, months, snapshot_dir: Path, run_config: dict | None = None):
    """Run the monthly job in process for `months`, in order, asserting each succeeds; the working files
    after the first month are kept in `snapshot_dir`. Returns (period -> result, snapshot_dir)."""
    from dtks_pipeline.definitions import build_definitions
    from dtks_pipeline.defs.shared import resources_for

    job = build_definitions(resources_for(sources, warehouse)).resolve_job_def("dtks_monthly")
    results, first = {}, None
    for period in months:
        results[period] = job.execute_in_process(partition_key=period, raise_on_error=False, run_config=run_config)
        failures = [e.event_specific_data.error.message.splitlines()[0][:300] for e in results[period].all_events
                    if e.event_type_value == "STEP_FAILURE"]
        assert results[period].success, f"{period}: {failures}"
        if first is None:
            first = snapshot_working(warehouse, snapshot_dir)
    return results, first


@pytest.fixture(scope="session")
def pipeline_sample(tmp_path_factory) -> Path:
    """A generated delivery root of 150 families (3 months + _truth), made once per test session."""
    from dtks_pipeline.sample.generator import generate

    root = tmp_path_factory.mktemp("pipeline_sample") / "sources"
    generate(root, families=SAMPLE_FAMILIES, seed=11)
    return root


@pytest.fixture(scope="session")
def pipeline_months(small_sample, tmp_path_factory) -> PipelineMonths:
    from dtks_pipeline.defs.quality.checks import GX_DIR_ENV_VAR

    root = tmp_path_factory.mktemp("pipeline_months")
    sources = root / "sources"
    for period in MONTHS:
        shutil.copytree(small_sample / period, sources / period)
    warehouse = root / "wh" / "dtks.duckdb"
    saved = os.environ.pop(GX_DIR_ENV_VAR, None)  # the GX project goes to its default place, beside the warehouse
    try:
        results, after_october = run_months(sources, warehouse, MONTHS, root / "after_october", run_config=QUIET)
    finally:
        if saved is not None:
            os.environ[GX_DIR_ENV_VAR] = saved
    return PipelineMonths(sources, warehouse, after_october, results)
