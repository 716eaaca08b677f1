"""Assembles the project's Definitions from each domain folder."""
from __future__ import annotations

import dagster as dg

from dtks_pipeline.defs.operations.definitions import defs as operations_defs
from dtks_pipeline.defs.payout.definitions import defs as payout_defs
from dtks_pipeline.defs.planning.definitions import defs as planning_defs
from dtks_pipeline.defs.quality.definitions import defs as quality_defs
from dtks_pipeline.defs.registry.definitions import defs as registry_defs
from dtks_pipeline.defs.reports.definitions import defs as reports_defs
from dtks_pipeline.defs.shared import default_resources
from dtks_pipeline.defs.sources.definitions import defs as sources_defs


def build_definitions(resources: dict | None = None) -> dg.Definitions:
    """All domains plus resources (from environment variables unless given)."""
    return dg.Definitions.merge(
        sources_defs,
        registry_defs,
        payout_defs,
        quality_defs,
        operations_defs,
        reports_defs,
        planning_defs,
        # In process: DuckDB takes one writer per file, and a check must never open the
        # file while another process's step writes it (runs from the UI included).
        dg.Definitions(resources=resources or default_resources(), executor=dg.in_process_executor),
    )


defs = build_definitions()
