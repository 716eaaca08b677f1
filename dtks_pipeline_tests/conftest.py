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
