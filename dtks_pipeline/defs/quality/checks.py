"""Great Expectations suites as Dagster asset checks, one per table and month.

Each check (`gx_suite` on registry/persons, registry/families,
registry/exclusions, payout/payments, payout/waiting_list, payout/changes,
payout/summary) reads the month's rows from the working DuckDB (read-only),
masks them (`frames`), builds the month's suite (`suites`), validates it with
GX (`gx_run`) and returns an AssetCheckResult whose metadata names every
failed expectation with its unexpected count and a masked sample, plus the
path of the Data Docs index and of this validation's page.

All checks are blocking. A failed ERROR expectation (integrity: see suites.py
for which those are) stops what is downstream (payout after the registry,
publication after payout); a check whose only failures are WARN expectations
(the +-20 % row-count bands) is reported with severity WARN and does not block.

Where the GX project lives (GxResource): the resource's `root_dir` if set,
else $DTKS_GX_DIR (relative paths against the working directory), else
`data/gx` of the project the warehouse belongs to: `<dir>/../gx` when the
warehouse file sits in a folder named `warehouse` (the project layout
`data/warehouse/dtks.duckdb` gives `data/gx`, git-ignored), otherwise `gx`
beside the warehouse file (tests with `tmp_path/w.duckdb` get `tmp_path/gx`).
Data Docs: `<gx dir>/uncommitted/data_docs/local_site/index.html`.
"""
import os
from pathlib import Path

import dagster as dg
import duckdb

from dtks_pipeline.defs.payout.programs import Program, ProgramsResource
from dtks_pipeline.defs.quality import frames
from dtks_pipeline.defs.quality.suites import ERROR, SUITES, SuiteContext, TableSuite, expectations_for
from dtks_pipeline.defs.shared import WAREHOUSE_POOL, WarehouseResource
from dtks_pipeline.lib.regions import village_codes

GX_DIR_ENV_VAR = "DTKS_GX_DIR"
CHECK_NAME = "gx_suite"


def resolve_gx_dir(explicit: "str | None", warehouse_path: "str | Path") -> Path:
    """The GX project folder: explicit, else $DTKS_GX_DIR, else derived from the warehouse path."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(GX_DIR_ENV_VAR)
    if env:
        return Path(env)
    folder = Path(warehouse_path).absolute().parent
    return (folder.parent if folder.name == "warehouse" else folder) / "gx"


class GxResource(dg.ConfigurableResource):
    """Where the Great Expectations project and its Data Docs are written (see the module docstring)."""

    root_dir: str | None = None

    def resolve(self, warehouse_path: str | Path) -> Path:
        return resolve_gx_dir(self.root_dir, warehouse_path)


def suite_context(con: duckdb.DuckDBPyConnection, table: str, period: str, programs: list[Program]) -> SuiteContext:
    prev = frames.previous_period(period)
    return SuiteContext(
        period=period,
        village_codes=village_codes(),
        programs_paying=tuple(p.code for p in programs if p.pays_in(period)),
        programs_all=tuple(p.code for p in programs),
        previous_rows=frames.row_count(con, table, prev),
        programs_paying_previous=tuple(p.code for p in programs if p.pays_in(prev)),
    )


def validate_table(
    con: duckdb.DuckDBPyConnection, table: str, period: str, programs: "list[Program]", gx_dir: Path, build_docs: bool = True
):
    """Validate one month of one table; returns gx_run.SuiteOutcome, or None when the table is absent."""
    from dtks_pipeline.defs.quality.gx_run import run_suite

    prepared = frames.read_prepared(con, table, period, {p.code: p.amount_idr for p in programs})
    if prepared is None:
        return None
    expectations = expectations_for(table, suite_context(con, table, period, programs))
    return run_suite(gx_dir, table, period, prepared, expectations, build_docs=build_docs)


def check_result(outcome, table: str, period: str) -> dg.AssetCheckResult:
    """A GX outcome (or None: table absent) as an AssetCheckResult with masked, named failures."""
    if outcome is None:
        return dg.AssetCheckResult(
            passed=False, severity=dg.AssetCheckSeverity.ERROR,
            description=f"{table} does not exist in the working warehouse",
            metadata={"period": period, "failed_expectations": dg.MetadataValue.json(["table exists"])},
        )
    failed = outcome.failed
    metadata: dict = {
        "period": period,
        "rows": outcome.rows,
        "expectations_evaluated": len(outcome.expectations),
        "expectations_failed": len(failed),
        "failed_expectations": dg.MetadataValue.json([e.label for e in failed]),
    }
    for e in failed:
        metadata[f"failed: {e.label}"] = dg.MetadataValue.json(e.as_metadata())
    if outcome.docs_index:
        metadata["data_docs_index"] = dg.MetadataValue.path(str(outcome.docs_index))
        # Works offline too (GX's index loads its list from a CDN).
        metadata["data_docs_by_month"] = dg.MetadataValue.path(str(outcome.docs_index.with_name("by_month.html")))
    if outcome.docs_page:
        metadata["data_docs_page"] = dg.MetadataValue.path(str(outcome.docs_page))
    severity = dg.AssetCheckSeverity.ERROR if outcome.severity == ERROR else dg.AssetCheckSeverity.WARN
    description = (
        f"{len(outcome.expectations)} expectations passed on {outcome.rows} rows"
        if not failed else f"{len(failed)} of {len(outcome.expectations)} failed: " + ", ".join(e.label for e in failed)
    )
    return dg.AssetCheckResult(passed=not failed, severity=severity, description=description, metadata=metadata)


def _description(suite: TableSuite) -> str:
    band = "no row-count band" if suite.band is None else (
        f"row count within +-{suite.band:.0%} of the previous month ({suite.band_severity})"
        + ("" if suite.hard_band is None else f", within +-{suite.hard_band:.0%} (ERROR)"))
    return (
        f"Great Expectations suite of {suite.table} for the month: key ({', '.join(suite.key)}) not null and unique, "
        f"codes in their documented sets, NIK/NOKK 16 digits, known villages, {band}. "
        "Metadata names each failed expectation with its masked sample and links the Data Docs."
    )


def build_gx_check(suite: TableSuite) -> dg.AssetChecksDefinition:
    table = suite.table

    @dg.asset_check(
        asset=dg.AssetKey(suite.asset_path),
        name=CHECK_NAME,
        description=_description(suite),
        blocking=True,
        pool=WAREHOUSE_POOL,
        metadata={"table": table, "great_expectations_suite": table},
    )
    def _check(
        context: dg.AssetCheckExecutionContext,
        warehouse: WarehouseResource,
        programs: ProgramsResource,
        gx: GxResource,
    ) -> dg.AssetCheckResult:
        if not context.has_partition_key:
            return dg.AssetCheckResult(
                passed=False, severity=dg.AssetCheckSeverity.ERROR,
                description=f"{table}: run this check with a month (partition) of its asset",
            )
        period = context.partition_key
        gx_dir = gx.resolve(warehouse.path)
        with warehouse.connect(read_only=True) as con:
            outcome = validate_table(con, table, period, programs.load(), gx_dir)
        result = check_result(outcome, table, period)
        context.log.info(f"{table} {period}: {result.description}")
        return result

    return _check


GX_CHECKS = [build_gx_check(suite) for suite in SUITES.values()]
