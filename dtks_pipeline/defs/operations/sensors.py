"""Start a month's run as soon as its delivery folder is complete.

"Complete" and "up to date" are defined once, in `delivery.py`. The sensor
requests at most one month per tick, the oldest first, and none while a run
of the monthly job is queued or in progress: a month builds on the previous
one (incumbency, accumulated events), so months must run in order. A month published before the month preceding it was
published again (a corrected, re-delivered month) is requested again, so the months
after a correction are rebuilt in order. It opens no DuckDB connection;
materializations come from the Dagster instance.
"""

from pathlib import Path

import dagster as dg

from dtks_pipeline.defs.operations.assets import PUBLISHED_KEY
from dtks_pipeline.defs.operations.delivery import delivery_status, is_up_to_date, last_published, period_folders
from dtks_pipeline.defs.operations.jobs import MONTHLY_JOB_NAME, monthly_job
from dtks_pipeline.defs.shared import SourcesResource, monthly_partitions

ACTIVE_STATUSES = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


@dg.sensor(
    name="dtks_delivery_sensor",
    job=monthly_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Runs a month when its folder under DTKS_SOURCES holds every agency file and is not yet published.",
)
def delivery_sensor(context: dg.SensorEvaluationContext, sources: SourcesResource):
    root = Path(sources.root)
    periods = period_folders(root)
    if not periods:
        return dg.SkipReason(f"no period folder (YYYY-MM) under {root}")

    active = context.instance.get_runs(
        filters=dg.RunsFilter(job_name=MONTHLY_JOB_NAME, statuses=ACTIVE_STATUSES), limit=1
    )
    if active:
        run = active[0]
        return dg.SkipReason(
            f"run {run.run_id[:8]} ({run.tags.get('dagster/partition', '?')}) is still {run.status.value.lower()}; "
            "months are run one at a time"
        )

    valid = set(monthly_partitions.get_partition_keys())
    waiting: list[str] = []
    previous_published: float | None = None  # when the month before was last published
    for period in periods:
        published_at = last_published(context.instance, PUBLISHED_KEY, period)
        rebuilt_before, previous_published = previous_published, published_at
        if period not in valid:
            waiting.append(f"{period}: not a closed month of the pipeline yet")
            continue
        status = delivery_status(root / period)
        if not status.complete:
            # An old month that was published incomplete (by the schedule) is not nagged about.
            if published_at is None:
                waiting.append(status.describe())
            continue
        # A month published before its predecessor was (re)published was built on the
        # old predecessor: it is rebuilt, so the published history stays consistent.
        stale = published_at is not None and rebuilt_before is not None and published_at < rebuilt_before
        if not stale and is_up_to_date(context.instance, PUBLISHED_KEY, status):
            continue
        if stale:
            context.log.info(f"{period}: rebuilt because the month before it was published again")
            return dg.RunRequest(
                run_key=f"{period}@{status.fingerprint}@after-{rebuilt_before:.0f}",
                partition_key=period,
                tags={"dtks/trigger": "delivery_sensor", "dtks/rebuild": "earlier month republished"},
            )
        context.log.info(status.describe())
        return dg.RunRequest(
            run_key=f"{period}@{status.fingerprint}",
            partition_key=period,
            tags={"dtks/trigger": "delivery_sensor", "dtks/delivery_fingerprint": status.fingerprint},
        )
    if waiting:
        return dg.SkipReason("waiting for: " + " | ".join(waiting))
    return dg.SkipReason("every complete month is already published")
