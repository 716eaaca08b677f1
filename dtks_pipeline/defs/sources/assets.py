"""One ingestion asset per delivery (SOURCES.md), monthly, with its checks: row conservation
(blocking) and file quarantine (WARN: a quarantined file holds back only itself)."""

import json

import dagster as dg

from dtks_pipeline.defs.shared import OWNERS, WAREHOUSE_POOL, SourcesResource, WarehouseResource, monthly_partitions
from dtks_pipeline.defs.sources import file_status as fs
from dtks_pipeline.defs.sources import quarantine
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
    cols = ["source_file", "status", "rows_read", "rows_staged", "rows_rejected", "rows_quarantined", "rows_blank"]
    lines = ["| " + " | ".join(cols) + " | reason |", "|" + "---|" * (len(cols) + 1)]
    for row in files.head(40).itertuples(index=False):
        reason = str(getattr(row, "status_reason", "") or "").replace("|", "/")[:160]
        lines.append("| " + " | ".join(str(getattr(row, c)) for c in cols) + f" | {reason} |")
    if len(files) > 40:
        lines.append(f"| ... {len(files) - 40} more files |" + " |" * len(cols))
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
        for q in outcome.quarantined:
            context.log.warning(f"{q['source_file']} ({period}) quarantined: {q['reason']}")
        for u in outcome.unused:
            context.log.warning(f"{u['source_file']} ({period}) not used: {u['reason']}")
        context.log.info(f"staging.{spec.name} {period}: {outcome.staged:,} staged, {outcome.rejected:,} rejected, "
                         f"{outcome.quarantined_rows:,} quarantined")
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": outcome.staged,
                "rows_rejected": outcome.rejected,
                "rejected_by_reason": dg.MetadataValue.json(outcome.reason_counts),
                "flags_by_code": dg.MetadataValue.json(outcome.flag_counts),
                "rows_quarantined": outcome.quarantined_rows,
                "quarantined_files": dg.MetadataValue.json(outcome.quarantined),
                "unused_files": dg.MetadataValue.json(outcome.unused),
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
        description=("Every delivered row is staged, rejected or quarantined: rows_read = rows_staged + rows_rejected + "
                     "rows_quarantined for every file, rows_read counting the file's physical data lines."),
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


def build_quarantine_check(spec: SourceSpec, asset: dg.AssetsDefinition) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=asset,
        name="file_quarantine",
        blocking=False,
        pool=WAREHOUSE_POOL,
        description=(
            "No file of this source is quarantined (KARANTINA): unreadable, wrong separator or encoding, a missing "
            "column, a foreign village code, or far more rows rejected than the source's history allows (binomial "
            "test on the file's size, see defs/sources/quarantine.py). Severity WARN: a quarantined file holds back "
            "only itself; the month goes on with the source's other files or its last accepted snapshot."
        ),
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        period = context.partition_key
        with warehouse.connect() as con:
            files = con.execute(
                f"SELECT source_file, status, rows_read, coalesce(status_reason, message) AS reason FROM {fs.SOURCE_FILES_TABLE} "
                "WHERE period = ? AND source = ? AND status IN (?, ?) ORDER BY source_file",
                [period, spec.name, fs.KARANTINA, fs.DITERIMA],
            ).df()
        held = files[files["status"] == fs.KARANTINA]
        accepted = files[files["status"] == fs.DITERIMA]
        return dg.AssetCheckResult(
            passed=held.empty,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "quarantined_files": dg.MetadataValue.json(held[["source_file", "rows_read", "reason"]].to_dict("records")),
                "accepted_files": dg.MetadataValue.json(accepted[["source_file", "rows_read", "reason"]].to_dict("records")),
                "expected_share_prior": quarantine.PRIOR_SHARE,
                "alpha": quarantine.ALPHA,
            },
            description="; ".join(f"{r.source_file}: {r.reason}" for r in held.itertuples())[:2000] or None,
        )

    return _check


staging_assets = {name: build_staging_asset(spec) for name, spec in SOURCES.items()}
staging_checks = [
    build(SOURCES[name], asset)
    for name, asset in staging_assets.items()
    for build in (build_conservation_check, build_quarantine_check)
]
