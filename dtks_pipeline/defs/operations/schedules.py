"""The monthly deadline run.

On the 5th of each month at 02:00 WITA (Asia/Makassar, Bali's time zone) the
previous month is run with whatever has been delivered by then: a missing
snapshot means "use the last delivered one" (SOURCES.md), so the payout of
the month is produced on time even if an agency is late. A month whose folder
holds no file at all is skipped: nothing was delivered. The run is skipped
when the month is already published after its newest file (typically
because the delivery sensor ran it as soon as the folder was complete).
"""

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg

from dtks_pipeline.defs.operations.assets import PUBLISHED_KEY
from dtks_pipeline.defs.operations.delivery import delivery_status, is_up_to_date
from dtks_pipeline.defs.operations.jobs import monthly_job
from dtks_pipeline.defs.operations.month_state import delivered_files
from dtks_pipeline.defs.shared import FIRST_MONTH, SourcesResource

TIMEZONE = "Asia/Makassar"
CRON = "0 2 5 * *"  # 02:00 on the 5th


def period_before(when: dt.datetime) -> str:
    """The month before `when`'s month, in Bali's time zone: 2022-12-05 02:00 -> '2022-11'."""
    local = when.astimezone(ZoneInfo(TIMEZONE)) if when.tzinfo else when
    last_day_before = local.date().replace(day=1) - dt.timedelta(days=1)
    return last_day_before.strftime("%Y-%m")


@dg.schedule(
    name="dtks_monthly_schedule",
    job=monthly_job,
    cron_schedule=CRON,
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="02:00 WITA on the 5th: run and publish the previous month with what has been delivered.",
)
def monthly_schedule(context: dg.ScheduleEvaluationContext, sources: SourcesResource):
    when = context.scheduled_execution_time or dt.datetime.now(ZoneInfo(TIMEZONE))
    period = period_before(when)
    if period < FIRST_MONTH:
        return dg.SkipReason(f"{period} is before the first month {FIRST_MONTH}")
    if not delivered_files(Path(sources.root) / period):
        # An empty month must not be published from the previous month's data.
        return dg.SkipReason(f"{period}: nothing delivered ({Path(sources.root) / period} holds no file); not run")
    status = delivery_status(Path(sources.root) / period, settle=0)
    if status.newest_mtime is not None and is_up_to_date(context.instance, PUBLISHED_KEY, status):
        return dg.SkipReason(f"{period} is already published after its newest delivered file")
    return dg.RunRequest(
        partition_key=period,
        tags={"dtks/trigger": "monthly_schedule", "dtks/delivery": status.describe()[:200]},
    )
