"""`reports/monthly`: the month's report page, materialized right after the month is published.

It depends on the payout tables it summarises and on `operations/published_warehouse`,
so it runs only once every asset and blocking check of the month has passed and the
month is published; it reads that published file read-only (the same file `dtks
report` reads), so the page shows exactly what other departments can query, and a
failure here holds back only the report, never publication. The page goes to
$DTKS_REPORTS, else `reports/` beside the warehouse folder (data/reports for
data/warehouse/dtks.duckdb).
"""

import os
from pathlib import Path

import dagster as dg

from dtks_pipeline.defs.operations.assets import PUBLISHED_KEY
from dtks_pipeline.defs.operations.query import connect_read_only
from dtks_pipeline.defs.payout.assets import CHANGES, SUMMARY, WAITING_LIST
from dtks_pipeline.defs.reports.monthly import write_report
from dtks_pipeline.defs.shared import OWNERS, WarehouseResource, monthly_partitions

REPORT_KEY = dg.AssetKey(["reports", "monthly"])
REPORTS_ENV_VAR = "DTKS_REPORTS"


def reports_dir(warehouse: WarehouseResource) -> Path:
    """$DTKS_REPORTS, else `<warehouse folder>/../reports`."""
    return Path(os.environ.get(REPORTS_ENV_VAR) or warehouse.published_path.parent.parent / "reports")


@dg.asset(
    key=REPORT_KEY,
    group_name="reports",
    partitions_def=monthly_partitions,
    deps=[PUBLISHED_KEY, SUMMARY, CHANGES, WAITING_LIST],
    kinds={"html"},
    owners=OWNERS,
    description=(
        "One self-contained HTML page per month (inline SVG charts, no CDN): KPM and Rp per program by kecamatan, "
        "coverage by desil, entries and exits by reason, the registry and data quality over the months, families held. "
        "Reads the published warehouse after the month's publication; only aggregates, no NIK or names."
    ),
)
def monthly_report(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    period = context.partition_key
    published = warehouse.published_path
    if not published.is_file():
        raise dg.Failure(description=f"published warehouse {published} not found: publish {period} first")
    con = connect_read_only(published)
    try:
        path, report = write_report(con, period, reports_dir(warehouse))
    finally:
        con.close()
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(path)),
        "summary": dg.MetadataValue.md(report.summary_md),
        "charts": report.n_charts,
        "kpm_total": int(report.totals.loc[report.totals["program"] == "TOTAL", "kpm"].sum()),
    })
