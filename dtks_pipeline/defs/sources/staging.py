"""Stage one source of one period into the warehouse, all or nothing.

Reads every file of the source, validates it, and in ONE transaction replaces the
period's rows of `staging.<source>`, `audit.rejected_rows`, `audit.flags` and
`audit.source_files` for that source. If any file fails as a whole, nothing of
the source is staged for the period, the failure is recorded in
`audit.source_files`, and StagingFailed is raised naming the file and the reason.
No Dagster here: the asset wraps it.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from dtks_pipeline.defs.sources.reading import DeliveryError, read_delivery
from dtks_pipeline.defs.sources.specs import SOURCES, SourceSpec
from dtks_pipeline.defs.sources.validation import SQL_TYPES, FileResult, staging_columns, validate_file
from dtks_pipeline.lib import regions
from dtks_pipeline.lib.warehouse import replace_period, table_exists, transaction

STATUS_OK = "OK"
STATUS_NOT_DELIVERED = "TIDAK_DIKIRIM"
STATUS_FAILED = "GAGAL"
STATUS_NOT_LOADED = "TIDAK_DIMUAT"

ROW_KEYS = ["period", "source_file", "source_row"]


class StagingFailed(Exception):
    """A source's delivery for a month failed as a whole."""


@dataclass
class StagingOutcome:
    source: str
    period: str
    files: pd.DataFrame  # the audit.source_files rows written
    reason_counts: dict[str, int] = field(default_factory=dict)
    flag_counts: dict[str, int] = field(default_factory=dict)
    staged: int = 0
    rejected: int = 0
    note: str = ""  # what a person should know (not delivered, using an earlier snapshot, ...)


def delivered_files(spec: SourceSpec, period_dir: Path) -> list[tuple[Path, str]]:
    """(path, source_file) of the files of this source in a period folder."""
    if spec.filename:
        path = period_dir / spec.filename
        return [(path, spec.filename)] if path.exists() else []
    folder = period_dir / "desa"
    if not folder.is_dir():
        return []
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in (".xlsx", ".csv") and not p.name.startswith("~$")]
    return [(p, f"desa/{p.name}") for p in sorted(files)]


def last_delivered_period(con: duckdb.DuckDBPyConnection, source: str, period: str) -> str | None:
    """The latest period <= `period` in which this source was staged OK."""
    if not table_exists(con, "audit.source_files"):
        return None
    row = con.execute(
        "SELECT max(period) FROM audit.source_files WHERE source = ? AND period <= ? AND status = ?",
        [source, period, STATUS_OK],
    ).fetchone()
    return row[0] if row else None


def _empty_staging(source: str) -> pd.DataFrame:
    columns = {"period": "string", "source_file": "string", "source_row": "Int64"}
    typed = {"string": "string", "integer": "Int64", "boolean": "boolean", "date": "datetime64[ns]"}
    columns.update({k: typed[v] for k, v in staging_columns(source).items()})
    frame = pd.DataFrame({k: pd.Series(dtype=v) for k, v in columns.items()})
    return frame


def _ensure_tables(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """Create the tables with their declared types on first use."""
    cols = ", ".join(f"{k} {SQL_TYPES[v]}" for k, v in staging_columns(source).items())
    con.execute(f"CREATE TABLE IF NOT EXISTS staging.{source} (period VARCHAR, source_file VARCHAR, source_row INTEGER, {cols})")
    con.execute(
        "CREATE TABLE IF NOT EXISTS audit.rejected_rows (period VARCHAR, source VARCHAR, source_file VARCHAR, "
        "source_row INTEGER, reason_code VARCHAR, message VARCHAR, raw_record JSON)"
    )
    con.execute(
        "CREATE TABLE IF NOT EXISTS audit.flags (period VARCHAR, source VARCHAR, source_file VARCHAR, "
        "source_row INTEGER, flag_code VARCHAR, message VARCHAR)"
    )
    con.execute(
        "CREATE TABLE IF NOT EXISTS audit.source_files (period VARCHAR, source VARCHAR, source_file VARCHAR, "
        "rows_read INTEGER, rows_staged INTEGER, rows_rejected INTEGER, rows_blank INTEGER, encoding VARCHAR, "
        "sha256 VARCHAR, status VARCHAR, message VARCHAR, loaded_at TIMESTAMP)"
    )


def _file_row(period: str, source: str, source_file: str, status: str, message: str = "", result: FileResult | None = None,
              encoding: str = "", sha256: str = "") -> dict:
    return {
        "period": period, "source": source, "source_file": source_file,
        "rows_read": result.rows_read if result else 0,
        "rows_staged": len(result.staged) if result else 0,
        "rows_rejected": len(result.rejected) if result else 0,
        "rows_blank": result.blank_rows if result else 0,
        "encoding": encoding, "sha256": sha256, "status": status, "message": message,
        "loaded_at": dt.datetime.now(),
    }


def _with_identity(frame: pd.DataFrame, period: str, source_file: str, source: str | None = None) -> pd.DataFrame:
    out = frame.reset_index() if "source_row" not in frame.columns else frame.copy()
    out.insert(0, "source_file", source_file)
    if source is not None:
        out.insert(0, "source", source)
    out.insert(0, "period", period)
    return out


def stage_source(con: duckdb.DuckDBPyConnection, source: str, period_dir: Path, period: str) -> StagingOutcome:
    """Stage every file of `source` delivered for `period` (see module docstring)."""
    spec = SOURCES[source]
    _ensure_tables(con, source)
    if not period_dir.is_dir():
        raise StagingFailed(f"{period_dir}: delivery folder for {period} not found")

    files = delivered_files(spec, period_dir)
    results: list[tuple[str, FileResult, str, str]] = []
    failures: list[DeliveryError] = []
    for path, source_file in files:
        try:
            raw = read_delivery(path, source_file, spec.columns, spec.separators)
            if source == "desa" and path.stem not in regions.village_codes():
                raise DeliveryError(source_file, f"file name {path.stem!r} is not a Buleleng village code")
            results.append((source_file, validate_file(source, raw, period), raw.encoding, raw.sha256))
        except DeliveryError as exc:
            failures.append(exc)

    note = ""
    file_rows: list[dict] = []
    if failures:
        failed = {f.source_file: f.message for f in failures}
        for _, source_file in files:
            if source_file in failed:
                file_rows.append(_file_row(period, source, source_file, STATUS_FAILED, failed[source_file]))
            else:
                file_rows.append(_file_row(period, source, source_file, STATUS_NOT_LOADED,
                                           "not loaded: another file of this source failed"))
        results = []
    elif not files:
        if spec.is_snapshot:
            earlier = last_delivered_period(con, source, _previous_period(period))
            if earlier is None:
                failures.append(DeliveryError(spec.filename or "desa/", "file not delivered, and no earlier delivery to use"))
                file_rows.append(_file_row(period, source, spec.filename, STATUS_FAILED, "not delivered; no earlier snapshot"))
            else:
                note = f"{spec.filename} not delivered for {period}: the registry uses the snapshot of {earlier}"
                file_rows.append(_file_row(period, source, spec.filename, STATUS_NOT_DELIVERED, note))
        else:
            note = f"{spec.filename or 'desa/*'} not delivered for {period}: no events this month"
            file_rows.append(_file_row(period, source, spec.filename or "desa/", STATUS_NOT_DELIVERED, note))
    else:
        file_rows = [_file_row(period, source, f, STATUS_OK, "", r, enc, sha) for f, r, enc, sha in results]

    staged = pd.concat([_with_identity(r.staged, period, f) for f, r, _, _ in results], ignore_index=True) if results else _empty_staging(source)
    rejected = pd.concat([_with_identity(r.rejected, period, f, source) for f, r, _, _ in results], ignore_index=True) if results else None
    flags = pd.concat([_with_identity(r.flags, period, f, source) for f, r, _, _ in results], ignore_index=True) if results else None

    with transaction(con):
        replace_period(con, f"staging.{source}", staged, period)
        con.execute("DELETE FROM audit.rejected_rows WHERE period = ? AND source = ?", [period, source])
        con.execute("DELETE FROM audit.flags WHERE period = ? AND source = ?", [period, source])
        if rejected is not None and len(rejected):
            con.register("_rejected", rejected)
            con.execute("INSERT INTO audit.rejected_rows BY NAME SELECT * FROM _rejected")
            con.unregister("_rejected")
        if flags is not None and len(flags):
            con.register("_flags", flags)
            con.execute("INSERT INTO audit.flags BY NAME SELECT * FROM _flags")
            con.unregister("_flags")
        replace_period(con, "audit.source_files", pd.DataFrame(file_rows), period, source=source)

    if failures:
        raise StagingFailed("; ".join(str(f) for f in failures))
    reason_counts: dict[str, int] = {}
    flag_counts: dict[str, int] = {}
    for _, r, _, _ in results:
        for k, v in r.reason_counts.items():
            reason_counts[k] = reason_counts.get(k, 0) + v
        for k, v in r.flags["flag_code"].value_counts().items():
            flag_counts[k] = flag_counts.get(k, 0) + int(v)
    return StagingOutcome(source, period, pd.DataFrame(file_rows), reason_counts, flag_counts,
                          staged=len(staged), rejected=0 if rejected is None else len(rejected), note=note)


def _previous_period(period: str) -> str:
    return str(pd.Period(period, freq="M") - 1)


def conservation_violations(con: duckdb.DuckDBPyConnection, source: str, period: str) -> pd.DataFrame:
    """Files of this source and period where rows_read != rows staged + rows rejected,
    counting the rows actually present in the staging and rejects tables."""
    return con.execute(
        f"""
        WITH files AS (SELECT source_file, rows_read, status FROM audit.source_files WHERE period = ? AND source = ?),
        staged AS (SELECT source_file, count(*) AS n FROM staging.{source} WHERE period = ? GROUP BY 1),
        rejected AS (SELECT source_file, count(*) AS n FROM audit.rejected_rows WHERE period = ? AND source = ? GROUP BY 1)
        SELECT f.source_file, f.status, f.rows_read, coalesce(s.n, 0) AS rows_staged, coalesce(r.n, 0) AS rows_rejected
        FROM files f LEFT JOIN staged s USING (source_file) LEFT JOIN rejected r USING (source_file)
        WHERE f.rows_read != coalesce(s.n, 0) + coalesce(r.n, 0)
        UNION ALL
        -- rows that belong to no accounted file
        SELECT s.source_file, 'TANPA_AUDIT', NULL, count(*), NULL FROM staging.{source} s
        WHERE s.period = ? AND s.source_file NOT IN (SELECT source_file FROM files) GROUP BY 1
        """,
        [period, source, period, period, source, period],
    ).df()
