"""Copies of a warehouse built once per session, for the tests that run or re-run a month on it.

Only the working files (`work/`: the working DuckDB file and the month records) are copied, so
that a test's runs start from the fixture's working state. `publish_copy=True` publishes the copy
(a published file and an analyst file of its own), as the last month's run left it.
"""
from __future__ import annotations

import shutil
from pathlib import Path


def snapshot_working(warehouse: Path, to: Path) -> Path:
    """Keep the working files of the warehouse whose published file is `warehouse`; returns `to`."""
    shutil.copytree(warehouse.parent / "work", to / "work")
    return to


def copy_warehouse(folder: Path, to: Path, name: str = "dtks.duckdb", *, publish_copy: bool = False) -> Path:
    """Copy the working files of the warehouse folder `folder` into `to`; returns the published path in `to`."""
    shutil.copytree(folder / "work", to / "work")
    published = to / name
    if publish_copy:
        from dtks_pipeline.defs.operations.publish import publish

        publish(to / "work" / name, published)
    return published
