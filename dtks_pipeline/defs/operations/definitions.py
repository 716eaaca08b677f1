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
from dtks_pipeline.defs.payout.definitions import defs as payout_defs
from dtks_pipeline.defs.quality.definitions import defs as quality_defs
from dtks_pipeline.defs.registry.definitions import defs as registry_defs
from dtks_pipeline.defs.sources.definitions import defs as sources_defs

UPSTREAM_DEFS = (sources_defs, registry_defs, payout_defs, quality_defs)

published_warehouse = build_published_warehouse(asset_keys_of(UPSTREAM_DEFS))

defs = dg.Definitions(
    assets=[published_warehouse],
    jobs=[monthly_job],
    schedules=[monthly_schedule],
    sensors=[delivery_sensor],
)
