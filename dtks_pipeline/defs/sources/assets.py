"""One ingestion asset per delivery (SOURCES.md), monthly, plus its row-conservation check."""

import json
import os

import dagster as dg

from dtks_pipeline.defs.shared import OWNERS, WAREHOUSE_POOL, SourcesResource, WarehouseResource, monthly_partitions
from dtks_pipeline.defs.sources.specs import SOURCES, SourceSpec
from dtks_pipeline.defs.sources.staging import StagingFailed, conservation_violations, stage_source
from dtks_pipeline.defs.sources.validation import staging_columns
from dtks_pipeline.lib.masking import preview_markdown



def column_schema(source: str) -> dg.TableSchema:
    identity = [
        dg.TableColumn("period", "string", description="delivery month YYYY-MM"),
        dg.TableColumn("source_file", "string", description="file path inside the period folder"),
        dg.TableColumn("source_row", "integer", description="1-based data row number"),
    ]
    return dg.TableSchema(columns=identity + [dg.TableColumn(k, v) for k, v in staging_columns(source).items()])


def _files_markdown(files) -> str:
    cols = ["source_file", "status", "rows_read", "rows_staged", "rows_rejected", "rows_blank"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in files[cols].head(40).itertuples(index=False):
        lines.append("| " + " | ".join(str(v) for v in row) + " |")
    if len(files) > 40:
        lines.append(f"| ... {len(files) - 40} more files | | | | | |")
    return "\n".join(lines)


def build_staging_asset(spec: SourceSpec) -> dg.AssetsDefinition:
    @dg.asset(
        name=spec.name,
        key_prefix="staging",
        partitions_def=monthly_partitions,
        group_name="ingestion",
        kinds={"duckdb", "pandera", "csv" if spec.filename else "xlsx"},
        owners=OWNERS,
        pool=WAREHOUSE_POOL,
        description=(
            f"{spec.description}\n\nReads `{spec.filename or 'desa/<kode_desa>.xlsx|csv'}` of the month, repairs what is "
            "unambiguous, validates with pandera and writes `staging." + spec.name + "`; rejected rows go to "
            "`audit.rejected_rows` with a reason code, per-file accounting to `audit.source_files`."
        ),
        metadata={"dagster/column_schema": column_schema(spec.name), "source_kind": spec.kind},
    )
    def _asset(context: dg.AssetExecutionContext, sources: SourcesResource, warehouse: WarehouseResource) -> dg.MaterializeResult:
        period = context.partition_key
        with warehouse.connect() as con:
            try:
                outcome = stage_source(con, spec.name, sources.period_dir(period), period)
            except StagingFailed as exc:
                raise dg.Failure(description=f"staging.{spec.name} {period}: {exc}", allow_retries=False) from exc
            preview = con.execute(f"SELECT * FROM staging.{spec.name} WHERE period = ? LIMIT 5", [period]).df()
        if outcome.note:
            context.log.warning(outcome.note)
        context.log.info(f"staging.{spec.name} {period}: {outcome.staged:,} staged, {outcome.rejected:,} rejected")
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": outcome.staged,
                "rows_rejected": outcome.rejected,
                "rejected_by_reason": dg.MetadataValue.json(outcome.reason_counts),
                "flags_by_code": dg.MetadataValue.json(outcome.flag_counts),
                "files": dg.MetadataValue.md(_files_markdown(outcome.files)),
                "note": outcome.note or "all files delivered",
                "preview": dg.MetadataValue.md(preview_markdown(preview)),
            }
        )

    return _asset


def build_conservation_check(spec: SourceSpec, asset: dg.AssetsDefinition) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=asset,
        name="row_conservation",
        blocking=True,
        pool=WAREHOUSE_POOL,
        description="Every delivered row is staged or rejected: rows_read = rows_staged + rows_rejected for every file.",
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        period = context.partition_key if context.has_partition_key else None
        with warehouse.connect() as con:
            bad = conservation_violations(con, spec.name, period)
            totals = con.execute(
                "SELECT count(*), coalesce(sum(rows_read), 0) FROM audit.source_files WHERE period = ? AND source = ?",
                [period, spec.name],
            ).fetchone()
        return dg.AssetCheckResult(
            passed=bad.empty,
            metadata={
                "files": totals[0],
                "rows_read": int(totals[1]),
                "violations": dg.MetadataValue.json(json.loads(bad.to_json(orient="records"))),
            },
        )

    return _check


# A delivery whose rows are rejected en masse is broken (a shifted or corrupted
# column), not dirty: staging it would silently shrink the registry.
MAX_REJECTED_SHARE = float(os.environ.get("DTKS_MAX_REJECTED_SHARE", "0.05"))
MIN_ROWS_FOR_RATE = 50  # a 10-row village file with 1 bad row is not a broken delivery


def build_rejection_rate_check(spec: SourceSpec, asset: dg.AssetsDefinition) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=asset,
        name="rejection_rate",
        blocking=True,
        pool=WAREHOUSE_POOL,
        description=(
            f"No file of {MIN_ROWS_FOR_RATE}+ rows has more than {MAX_REJECTED_SHARE:.0%} of its rows rejected: "
            "a higher share means a broken delivery (corrupted or shifted column), which must stop the registry."
        ),
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        period = context.partition_key
        with warehouse.connect() as con:
            files = con.execute(
                "SELECT source_file, rows_read, rows_rejected FROM audit.source_files "
                "WHERE period = ? AND source = ? AND status = 'OK' AND rows_read >= ?",
                [period, spec.name, MIN_ROWS_FOR_RATE],
            ).df()
            files["share"] = files["rows_rejected"] / files["rows_read"]
            broken = files[files["share"] > MAX_REJECTED_SHARE]
            # Name the problem: the commonest reason and column of each broken file.
            causes = con.execute(
                "SELECT source_file, reason_code, split_part(message, ':', 1) AS kolom, count(*) AS n "
                "FROM audit.rejected_rows WHERE period = ? AND source = ? GROUP BY ALL ORDER BY n DESC",
                [period, spec.name],
            ).df()
        problems = []
        for row in broken.itertuples():
            top = causes[causes["source_file"] == row.source_file].head(3)
            problems.append({
                "source_file": row.source_file,
                "rejected_share": round(float(row.share), 4),
                "top_causes": [f"{c.kolom}: {c.reason_code} ({int(c.n):,} rows)" for c in top.itertuples()],
            })
        worst = files["share"].max() if len(files) else 0.0
        return dg.AssetCheckResult(
            passed=not problems,
            metadata={
                "max_rejected_share": round(float(worst), 4),
                "threshold": MAX_REJECTED_SHARE,
                "broken_files": dg.MetadataValue.json(problems),
            },
            description="; ".join(f"{p['source_file']}: {p['rejected_share']:.1%} rejected, mostly {p['top_causes'][0]}" for p in problems) or None,
        )

    return _check


staging_assets = {name: build_staging_asset(spec) for name, spec in SOURCES.items()}
staging_checks = [
    build(SOURCES[name], asset)
    for name, asset in staging_assets.items()
    for build in (build_conservation_check, build_rejection_rate_check)
]
