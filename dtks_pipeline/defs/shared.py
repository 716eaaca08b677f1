"""What every domain shares: the monthly partitions and the configurable resources.

Paths come from environment variables (DTKS_SOURCES, DTKS_WAREHOUSE) so that the
Dagster UI, the schedule and the `dtks` CLI all see the same folders.
"""
from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb

from dtks_pipeline.lib import warehouse

FIRST_MONTH = "2022-10"
monthly_partitions = dg.MonthlyPartitionsDefinition(start_date=FIRST_MONTH, fmt="%Y-%m")

# Assets that write the warehouse share this pool (limit 1 in dagster.yaml).
WAREHOUSE_POOL = "duckdb"
# Who answers for every asset of the pipeline (shown in the UI).
OWNERS = ["team:dinas-sosial-data"]


class SourcesResource(dg.ConfigurableResource):
    """The delivery root: one folder per period (YYYY-MM)."""

    root: str

    def period_dir(self, period: str) -> Path:
        return Path(self.root) / period


class WarehouseResource(dg.ConfigurableResource):
    """The warehouse: `path` is the published file readers open; assets write a
    working copy beside it (`<dir>/work/<name>`) that is published atomically
    once a month's assets and blocking checks have passed.
    """

    path: str

    @property
    def published_path(self) -> Path:
        return Path(self.path)

    @property
    def working_path(self) -> Path:
        return self.published_path.parent / "work" / self.published_path.name

    def connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        """A connection to the working database (what assets and checks use)."""
        return warehouse.connect(self.working_path, read_only=read_only)


def default_resources() -> dict:
    return {
        "sources": SourcesResource(root=dg.EnvVar("DTKS_SOURCES")),
        "warehouse": WarehouseResource(path=dg.EnvVar("DTKS_WAREHOUSE")),
    }


def resources_for(sources_root: str | Path, warehouse_path: str | Path) -> dict:
    """Explicit resources for the CLI and tests."""
    return {
        "sources": SourcesResource(root=str(sources_root)),
        "warehouse": WarehouseResource(path=str(warehouse_path)),
    }
