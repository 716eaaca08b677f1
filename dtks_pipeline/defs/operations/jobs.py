"""The monthly job: every asset of a month, ending with publication."""
from __future__ import annotations

import dagster as dg

from dtks_pipeline.defs.operations.assets import PUBLISHED_KEY
from dtks_pipeline.defs.shared import monthly_partitions

MONTHLY_JOB_NAME = "dtks_monthly"

# Everything the publication depends on, plus the publication itself. The
# selection is resolved when the Definitions are merged, so assets the other
# domains add later are included without touching this file.
monthly_job = dg.define_asset_job(
    MONTHLY_JOB_NAME,
    selection=dg.AssetSelection.assets(PUBLISHED_KEY).upstream(),
    partitions_def=monthly_partitions,
    description="Materialize one month: sources -> registry -> payout -> quality -> publication.",
)
