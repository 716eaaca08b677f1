"""Operations: publication, the monthly schedule and the delivery sensor.

Operations sit downstream of every other domain: the publication asset
depends on every asset those domains define, found here by importing their
Definitions (so a new asset upstream is picked up without editing this file).
"""
from __future__ import annotations

import dagster as dg

from dtks_pipeline.defs.operations.assets import asset_keys_of, build_published_warehouse
from dtks_pipeline.defs.operations.jobs import monthly_job
from dtks_pipeline.defs.operations.schedules import monthly_schedule
from dtks_pipeline.defs.operations.sensors import delivery_sensor
from dtks_pipeline.defs.payout import definitions as payout
from dtks_pipeline.defs.quality import definitions as quality
from dtks_pipeline.defs.registry import definitions as registry
from dtks_pipeline.defs.sources import definitions as sources

# Modules, not their `defs` objects: Dagster refuses a module that holds more
# than one Definitions object at module scope, should anyone load this one.
UPSTREAM_DEFS = (sources.defs, registry.defs, payout.defs, quality.defs)

published_warehouse = build_published_warehouse(asset_keys_of(UPSTREAM_DEFS))

defs = dg.Definitions(
    assets=[published_warehouse],
    jobs=[monthly_job],
    schedules=[monthly_schedule],
    sensors=[delivery_sensor],
)
