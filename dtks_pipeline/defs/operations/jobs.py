"""The monthly job: every asset of a month, ending with publication."""
from __future__ import annotations

import dagster as dg

from dtks_pipeline.defs.operations.assets import PUBLISHED_KEY

MONTHLY_JOB_NAME = "dtks_monthly"

# Everything the publication depends on, plus the publication itself. The
# selection is resolved when the Definitions are merged, so assets the other
# domains add later are included without touching this file.
#
# In-process executor: the steps of a month run one after the other in the
# run's own process. DuckDB admits one process per file as soon as one of
# them writes, and with the default multiprocess executor an asset check
# outside the pool "duckdb" opened the file while an asset was writing it
# ("Could not set lock on file", seen under dagster-daemon). It is also
# faster here: no Python start-up and Dagster import per step on 2 cores.
# Its partitions (monthly) are inferred from the selected assets.
monthly_job = dg.define_asset_job(
    MONTHLY_JOB_NAME,
    # ...and what reads the published month (reports/monthly), which runs after publication.
    selection=dg.AssetSelection.assets(PUBLISHED_KEY).upstream() | dg.AssetSelection.assets(PUBLISHED_KEY).downstream(),
    executor_def=dg.in_process_executor,
    description="Materialize one month: sources -> registry -> payout -> quality -> publication.",
)
