"""Fixtures shared by the whole suite."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "true")


# `make test` runs the suite on two pytest-xdist workers with `--dist loadgroup --no-loadscope-reorder`.
# A session fixture that runs the monthly job is built once per worker that asks for it, and a module
# fixture once per worker that runs a test of the module: every test that uses one of the shared month
# runs goes to one worker, and the other tests of a module stay together. The groups of the shared runs
# are handed out first (the longest units), so that neither worker ends the run alone on one of them.
SHARED_RUNS = ("published_sample", "pipeline_months", "pipeline_sample")


def _shared_run(item) -> str | None:
    return next((name for name in SHARED_RUNS if name in getattr(item, "fixturenames", ())), None)


def _group(item) -> str:
    return _shared_run(item) or item.nodeid.split("::")[0]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    if not (hasattr(config, "workerinput") and config.getvalue("loadgroup")):
        return
    # An xdist worker: the order its collection is scheduled in (shared runs first), and the group as the
    # node id's "@" suffix, which --dist loadgroup schedules by. (xdist 3.8 writes that suffix to
    # `item._nodeid`, which pytest 9 no longer reads: its marks have no effect.)
    from _pytest.nodeid import coerce_node_id

    rank = {name: i for i, name in enumerate(SHARED_RUNS)}
    items.sort(key=lambda item: rank.get(_shared_run(item), len(SHARED_RUNS)))
    for item in items:
        if "@" not in item.nodeid:
            item._id = coerce_node_id(f"{item.nodeid}@{_group(item)}")


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
