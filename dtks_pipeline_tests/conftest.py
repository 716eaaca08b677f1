"""Fixtures shared by the whole suite."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "true")


@pytest.fixture(scope="session")
def small_sample(tmp_path_factory):
    """A small generated delivery root (3 months + _truth), made once per test session."""
    from dtks_pipeline.sample.generator import generate

    root = tmp_path_factory.mktemp("sample") / "sources"
    generate(root, families=300, seed=11)
    return root


@pytest.fixture(autouse=True)
def _no_stale_dagster_instance_state():
    """Dagster keeps the defs-state storage of the last instance entered in a context
    variable; a test that evaluated a sensor or schedule against a temporary instance
    leaves it pointing at a deleted SQLite file, and the next in-process run fails with
    "unable to open database file". Clear it after every test."""
    from dagster._core.storage.defs_state import base

    yield
    base._current_storage.set(None)


# A small published warehouse (3,000 families, two months), shared by the planning and report tests.
from dtks_pipeline_tests.published_sample import published_sample  # noqa: E402,F401
# A 150-family sample (CLI tests) and small_sample's first two months through the monthly job.
from dtks_pipeline_tests.pipeline_sample import pipeline_months, pipeline_sample  # noqa: E402,F401
