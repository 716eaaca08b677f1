"""Stage one source of one period into the warehouse, file by file.

Every file of the month folder that belongs to the source (see `inventory`) is
accounted for in `audit.source_files`, with a status from `file_status`:

- OK: read, validated and staged; bad rows are rejected row by row.
- KARANTINA: broken as a whole (unreadable, binary, wrong separator, missing column,
  no sheet with the header, a foreign village code, or far more rejections than the
  source's history allows: see `quarantine`). Nothing of it is staged; its rows are
  counted in `rows_quarantined`. The other files of the source are staged.
- DITERIMA: quarantined for its rejection share but accepted by an operator
  (`dtks accept`): staged like an OK file.
- TIDAK_DIGUNAKAN: in the folder but not used (lock file, copy, legacy .xls, unknown name).
- TIDAK_DIKIRIM: the source delivered nothing (usable) this month.

One transaction replaces the period's rows of `staging.<source>`, `audit.rejected_rows`,
`audit.flags` and `audit.source_files` for the source. StagingFailed is raised only
when the month cannot go on: the DTKS snapshot, the registry's base, has no accepted
delivery in this month or any earlier one. No Dagster here: the asset wraps it.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from dtks_pipeline.defs.sources import file_status as fs
from dtks_pipeline.defs.sources import quarantine
from dtks_pipeline.defs.sources.decisions import Decision, ensure_table as ensure_decisions_table, latest_decision
from dtks_pipeline.defs.sources.inventory import FolderFile, files_of
from dtks_pipeline.defs.sources.reading import DeliveryError, RawDelivery, read_delivery, sha256_of
from dtks_pipeline.defs.sources.specs import SOURCES, SourceSpec
from dtks_pipeline.defs.sources.validation import SQL_TYPES, FileResult, staging_columns, validate_file, validate_files
from dtks_pipeline.lib import regions
from dtks_pipeline.lib.warehouse import replace_period, table_exists, transaction

# The snapshot without which no registry can be built: a month with none fails, saying so.
REGISTRY_BASE = "dtks"

ROW_KEYS = ["period", "source_file", "source_row"]


class StagingFailed(Exception):
    """The month cannot go on for this source (no DTKS snapshot to build the registry from)."""


@dataclass
class FileOutcome:
    """What became of one file of the month folder."""

    source_file: str
    status: str
    reason: str = ""  # status_reason: why quarantined, accepted, unused or not delivered
    result: FileResult | None = None  # validated rows (None when the file could not be read)
    rows_read: int = 0
    encoding: str = ""
    sha256: str = ""
    verdict: quarantine.Verdict | None = None

    @property
    def staged(self) -> bool:
        return self.status in fs.STAGED_STATUSES and self.result is not None


@dataclass
class StagingOutcome:
    source: str
    period: str
    files: pd.DataFrame  # the audit.source_files rows written
    reason_counts: dict[str, int] = field(default_factory=dict)
    flag_counts: dict[str, int] = field(default_factory=dict)
    staged: int = 0
    rejected: int = 0
    quarantined_rows: int = 0
    note: str = ""  # what a person should know (not delivered, using an earlier snapshot, ...)
    quarantined: list[dict] = field(default_factory=list)  # {source_file, reason, top_causes} per quarantined file
    unused: list[dict] = field(default_factory=list)  # {source_file, reason} per unused file
    fallback_period: str | None = None  # snapshot: the period the registry uses instead


def last_accepted_period(con: duckdb.DuckDBPyConnection, source: str, period: str) -> str | None:
    """The latest period <= `period` in which this source had a file staged (OK or accepted)."""
    if not table_exists(con, fs.SOURCE_FILES_TABLE):
        return None
    row = con.execute(
        f"SELECT max(period) FROM {fs.SOURCE_FILES_TABLE} WHERE source = ? AND period <= ? "
        f"AND status IN ({', '.join('?' * len(fs.STAGED_STATUSES))})",
        [source, period, *fs.STAGED_STATUSES],
    ).fetchone()
    return row[0] if row else None


# Kept under its former name for callers outside ingestion.
last_delivered_period = last_accepted_period


def _empty_staging(source: str) -> pd.DataFrame:
    columns = {"period": "string", "source_file": "string", "source_row": "Int64"}
    typed = {"string": "string", "integer": "Int64", "boolean": "boolean", "date": "datetime64[ns]"}
    columns.update({k: typed[v] for k, v in staging_columns(source).items()})
    return pd.DataFrame({k: pd.Series(dtype=v) for k, v in columns.items()})


def ensure_tables(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """Create the tables with their declared types on first use; add columns an older
    warehouse lacks."""
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
    con.execute(fs.SOURCE_FILES_DDL)
    con.execute(f"ALTER TABLE {fs.SOURCE_FILES_TABLE} ADD COLUMN IF NOT EXISTS status_reason VARCHAR")
    con.execute(f"ALTER TABLE {fs.SOURCE_FILES_TABLE} ADD COLUMN IF NOT EXISTS rows_quarantined BIGINT")
    ensure_decisions_table(con)


def _file_row(period: str, source: str, f: FileOutcome) -> dict:
    staged = f.staged
    return {
        "period": period, "source": source, "source_file": f.source_file,
        "rows_read": f.rows_read,
        "rows_staged": len(f.result.staged) if staged else 0,
        "rows_rejected": len(f.result.rejected) if staged else 0,
        "rows_blank": f.result.blank_rows if f.result is not None else 0,
        "encoding": f.encoding, "sha256": f.sha256, "status": f.status, "message": f.reason,
        "loaded_at": dt.datetime.now(), "status_reason": f.reason,
        "rows_quarantined": 0 if staged else f.rows_read,
    }


def _with_identity(frame: pd.DataFrame, period: str, source_file: str, source: str | None = None) -> pd.DataFrame:
    out = frame.reset_index() if "source_row" not in frame.columns else frame.copy()
    out.insert(0, "source_file", source_file)
    if source is not None:
        out.insert(0, "source", source)
    out.insert(0, "period", period)
    return out


def top_causes(result: FileResult | None, limit: int = 3) -> list[str]:
    """'DESIL: KODE_TIDAK_VALID (1,998 rows)': the commonest column and reason of a file's rejections."""
    if result is None or result.rejected.empty:
        return []
    column = result.rejected["message"].str.split(":", n=1).str[0]
    counts = pd.DataFrame({"kolom": column, "reason": result.rejected["reason_code"]}).value_counts().head(limit)
    return [f"{k}: {r} ({n:,} rows)" for (k, r), n in counts.items()]


# ---------------------------------------------------------------- one file

def _read(spec: SourceSpec, entry: FolderFile, sha: str, decision: Decision | None) -> RawDelivery | FileOutcome:
    """Read one used file; a file that cannot be read as a whole comes back quarantined."""
    accepted = decision is not None and decision.decision == fs.TERIMA
    try:
        raw = read_delivery(entry.path, entry.source_file, spec.columns, spec.separators, any_separator=accepted)
        if spec.name == "desa" and entry.path.stem not in regions.village_codes():
            raise DeliveryError(entry.source_file, f"file name {entry.path.stem!r} is not a Buleleng village code "
                                                   "(a file of another regency's village?)", rows=len(raw.frame))
    except DeliveryError as exc:
        reason = exc.message
        if accepted:
            reason = f"accepted by {decision.decided_by} on {decision.decided_at:%Y-%m-%d}, but still unreadable: {reason}"
        return FileOutcome(entry.source_file, fs.KARANTINA, reason, None, exc.rows, "", sha)
    return raw


def _validated(entry: FolderFile, sha: str, raw: RawDelivery, result: FileResult | str) -> FileOutcome:
    """The outcome of a read file from its validation (a FileResult, or the name of the error it raised)."""
    if isinstance(result, str):  # a file that breaks validation itself holds back only itself, loudly
        return FileOutcome(entry.source_file, fs.KARANTINA,
                           # the type only: an exception's text may quote a value (personal data)
                           f"could not be validated ({result}): a fault of the pipeline, not of the file; please report it",
                           None, len(raw.frame), "", sha)
    return FileOutcome(entry.source_file, fs.OK, entry.reason, result, result.rows_read, raw.encoding, sha)


def _validate_all(source: str, raws: list[RawDelivery], period: str) -> list[FileResult | str]:
    """All readable files of the source validated in one pass (village files: 148 a month);
    if that fails, file by file, so that a file that breaks validation holds back only itself."""
    try:
        return validate_files(source, raws, period)
    except Exception:
        pass
    out: list[FileResult | str] = []
    for raw in raws:
        try:
            out.append(validate_file(source, raw, period))
        except Exception as exc:
            out.append(type(exc).__name__)
    return out


def _judge(outcome: FileOutcome, history: quarantine.History, decision: Decision | None) -> FileOutcome:
    """Quarantine a readable file whose rejections are implausible for its source, unless accepted;
    a file an operator rejected stays quarantined."""
    if outcome.result is None:
        return outcome
    verdict = quarantine.judge(outcome.rows_read, len(outcome.result.rejected), history)
    outcome.verdict = verdict
    causes = top_causes(outcome.result)
    broken_why = f"broken delivery: {verdict.describe()}" + (f"; mostly {causes[0]}" if causes else "")
    if decision is not None and decision.decision == fs.TOLAK:
        outcome.status = fs.KARANTINA
        outcome.reason = f"rejected by {decision.decided_by} on {decision.decided_at:%Y-%m-%d}: {decision.note}"
    elif decision is not None and decision.decision == fs.TERIMA:
        outcome.status = fs.DITERIMA
        outcome.reason = f"accepted by {decision.decided_by} on {decision.decided_at:%Y-%m-%d} ({decision.note})" + (
            f" despite {verdict.describe()}" if verdict.broken else "")
    elif verdict.broken:
        outcome.status = fs.KARANTINA
        outcome.reason = broken_why
    return outcome


# ---------------------------------------------------------------- one source

def stage_source(con: duckdb.DuckDBPyConnection, source: str, period_dir: Path, period: str) -> StagingOutcome:
    """Stage every file of `source` delivered for `period` (see module docstring)."""
    spec = SOURCES[source]
    ensure_tables(con, source)
    if not period_dir.is_dir():
        raise StagingFailed(f"{period_dir}: delivery folder for {period} not found")

    entries = files_of(source, period_dir)
    history = quarantine.source_history(con, source, period)
    slots: list[FileOutcome | tuple] = []  # per file: its outcome, or (entry, sha, decision, raw) to validate
    for entry in entries:
        if not entry.used:
            slots.append(FileOutcome(entry.source_file, fs.TIDAK_DIGUNAKAN, entry.reason))
            continue
        sha = sha256_of(entry.path.read_bytes())
        decision = latest_decision(con, period, source, entry.source_file, sha)
        read = _read(spec, entry, sha, decision)
        slots.append(_judge(read, history, decision) if isinstance(read, FileOutcome) else (entry, sha, decision, read))
    pending = [slot for slot in slots if isinstance(slot, tuple)]
    results = iter(_validate_all(source, [raw for *_, raw in pending], period))
    outcomes = [slot if isinstance(slot, FileOutcome) else
                _judge(_validated(slot[0], slot[1], slot[3], next(results)), history, slot[2]) for slot in slots]

    staged_files = [o for o in outcomes if o.staged]
    quarantined = [o for o in outcomes if o.status == fs.KARANTINA]
    note, fallback, failure = _month_note(con, spec, period, outcomes)
    if not any(o.status in (fs.OK, fs.DITERIMA, fs.KARANTINA) for o in outcomes):
        outcomes.append(FileOutcome(spec.filename or "desa/", fs.TIDAK_DIKIRIM, note))

    staged = pd.concat([_with_identity(o.result.staged, period, o.source_file) for o in staged_files], ignore_index=True) \
        if staged_files else _empty_staging(source)
    rejected = [_with_identity(o.result.rejected, period, o.source_file, source) for o in staged_files if len(o.result.rejected)]
    flags = [_with_identity(o.result.flags, period, o.source_file, source) for o in staged_files if len(o.result.flags)]
    file_rows = pd.DataFrame([_file_row(period, source, o) for o in outcomes])

    with transaction(con):
        replace_period(con, f"staging.{source}", staged, period)
        con.execute("DELETE FROM audit.rejected_rows WHERE period = ? AND source = ?", [period, source])
        con.execute("DELETE FROM audit.flags WHERE period = ? AND source = ?", [period, source])
        for table, frames in (("audit.rejected_rows", rejected), ("audit.flags", flags)):
            if frames:
                con.register("_rows", pd.concat(frames, ignore_index=True))
                con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _rows")
                con.unregister("_rows")
        replace_period(con, fs.SOURCE_FILES_TABLE, file_rows, period, source=source)

    if failure:
        raise StagingFailed(failure)
    reason_counts: dict[str, int] = {}
    flag_counts: dict[str, int] = {}
    for o in staged_files:
        for k, v in o.result.reason_counts.items():
            reason_counts[k] = reason_counts.get(k, 0) + int(v)
        for k, v in o.result.flags["flag_code"].value_counts().items():
            flag_counts[k] = flag_counts.get(k, 0) + int(v)
    return StagingOutcome(
        source, period, file_rows, reason_counts, flag_counts,
        staged=len(staged), rejected=sum(len(r) for r in rejected),
        quarantined_rows=sum(o.rows_read for o in quarantined), note=note,
        quarantined=[{"source_file": o.source_file, "reason": o.reason, "top_causes": top_causes(o.result)} for o in quarantined],
        unused=[{"source_file": o.source_file, "reason": o.reason} for o in outcomes if o.status == fs.TIDAK_DIGUNAKAN],
        fallback_period=fallback,
    )


def _month_note(con: duckdb.DuckDBPyConnection, spec: SourceSpec, period: str,
                outcomes: list[FileOutcome]) -> tuple[str, str | None, str | None]:
    """(note for a person, the period a snapshot falls back to, failure message or None)."""
    name = spec.filename or "desa/*"
    quarantined = [o.source_file for o in outcomes if o.status == fs.KARANTINA]
    delivered = any(o.status in (fs.OK, fs.DITERIMA, fs.KARANTINA) for o in outcomes)
    usable = any(o.staged for o in outcomes)
    what = f"{', '.join(quarantined)} quarantined" if quarantined else f"{name} not delivered"
    if not spec.is_snapshot:
        if quarantined:
            return f"{what} for {period}: its events wait until the file is accepted (dtks accept) or re-delivered", None, None
        return ("" if delivered else f"{name} not delivered for {period}: no events this month"), None, None
    if usable:
        return (f"{what} for {period}" if quarantined else ""), None, None
    earlier = last_accepted_period(con, spec.name, str(pd.Period(period, freq="M") - 1))
    if earlier is not None:
        return f"{what} for {period}: the registry uses the snapshot of {earlier}", earlier, None
    if spec.name == REGISTRY_BASE:
        fix = (f"fix and re-deliver it, or review it and run `dtks accept --month {period} --file {quarantined[0]}`"
               if quarantined else "deliver it")
        message = (f"{what} for {period}, and no earlier accepted delivery to fall back on: the registry of {period} "
                   f"cannot be built without a DTKS snapshot ({fix})")
        return message, None, message
    return f"{what} for {period}, and no earlier delivery: the registry has no {spec.name} rows for {period}", None, None


def conservation_violations(con: duckdb.DuckDBPyConnection, source: str, period: str) -> pd.DataFrame:
    """Files of this source and period where rows_read != rows staged + rows rejected + rows
    quarantined, counting the rows actually present in the staging and rejects tables.
    rows_read counts the file's physical data lines (blank lines aside), so a quote that
    joins lines cannot hide them."""
    return con.execute(
        f"""
        WITH files AS (SELECT source_file, rows_read, status, coalesce(rows_quarantined, 0) AS rows_quarantined
                       FROM {fs.SOURCE_FILES_TABLE} WHERE period = ? AND source = ?),
        staged AS (SELECT source_file, count(*) AS n FROM staging.{source} WHERE period = ? GROUP BY 1),
        rejected AS (SELECT source_file, count(*) AS n FROM audit.rejected_rows WHERE period = ? AND source = ? GROUP BY 1)
        SELECT f.source_file, f.status, f.rows_read, coalesce(s.n, 0) AS rows_staged, coalesce(r.n, 0) AS rows_rejected,
               f.rows_quarantined
        FROM files f LEFT JOIN staged s USING (source_file) LEFT JOIN rejected r USING (source_file)
        WHERE f.rows_read != coalesce(s.n, 0) + coalesce(r.n, 0) + f.rows_quarantined
        UNION ALL
        -- rows that belong to no accounted file
        SELECT s.source_file, 'TANPA_AUDIT', NULL, count(*), NULL, NULL FROM staging.{source} s
        WHERE s.period = ? AND s.source_file NOT IN (SELECT source_file FROM files) GROUP BY 1
        """,
        [period, source, period, period, source, period],
    ).df()
