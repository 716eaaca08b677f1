"""Assembles the project's Definitions from each domain folder."""
import dagster as dg

from dtks_pipeline.defs.operations.definitions import defs as operations_defs
from dtks_pipeline.defs.payout.definitions import defs as payout_defs
from dtks_pipeline.defs.quality.definitions import defs as quality_defs
from dtks_pipeline.defs.registry.definitions import defs as registry_defs
from dtks_pipeline.defs.shared import default_resources
from dtks_pipeline.defs.sources.definitions import defs as sources_defs

defs = dg.Definitions.merge(
    sources_defs,
    registry_defs,
    payout_defs,
    quality_defs,
    operations_defs,
    dg.Definitions(resources=default_resources()),
)
