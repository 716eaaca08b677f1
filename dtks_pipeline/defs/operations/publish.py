"""Atomic publication of the warehouse, and the analyst-only copy, at the cost of the month.

Assets write the *working* DuckDB file (`<dir>/work/<name>`); readers open the
*published* file (`<dir>/<name>`). WAREHOUSE.md promises readers *one DuckDB file*:
the published file is self-contained (real tables, no views over files beside it),
so it can be copied, moved or mailed and still answers every query. `publish()`
turns the working file into it without rebuilding the history each month (issue 11):

1. open the working file (the asset runs in the pool "duckdb", so it is the
   only writer), (re)create the `analyst` views, CHECKPOINT and close;
2. **a copy of the previous published file** is made in the published folder
   (same file system, so the rename below is atomic) with the kernel's
   `copy_file_range` (no Python buffers; a reflink on file systems that share
   extents). Only the byte copy grows with the history;
3. **the month's rows.** In that copy, every table with a `period` column gets
   delete-then-insert for the periods that need it: the period being published,
   a period never published, one written since it was published (every month
   write goes through `lib.warehouse.replace_rows`, which logs it in
   `audit.period_writes`: a re-run month published together with a later one)
   and one whose row count in the working file differs from the published one.
   A table whose columns changed is rebuilt whole; tables without a period
   (region codes, key maps) are copied whole when they changed (row count and
   hash sum); the working file's views and the
   `analyst` views are recreated; `publication.periods` lists what each period
   holds (table, period, rows, written_at). The copy is CHECKPOINTed, fsynced,
   opened read-only once to prove it is readable, then `os.replace`d onto the
   published path. A reader holding the old file open keeps reading the old
   file (its inode stays alive until closed); a reader that opens the path
   afterwards gets the new one; nobody sees half a month;
4. **the analyst file** `<stem>_analyst.duckdb` stays one self-contained file of
   real tables (masked NIK/NOKK, no birth dates, no views, nothing attached), so
   that a person given that file cannot reach personal data by any means. It is
   updated the same way from the file just published (a full build the first
   time or when an analyst table's columns change).

A process killed at any point before an `os.replace` leaves the published
files untouched and at most a stale `.<name>.publish-*.tmp` behind, which the
next publish removes. Splink's cache tables (`__splink__*`), which the registry
stages leave in the working file, are never published. A folder `<name>.parts/` left by the
earlier layout (Parquet parts under a catalog of views) is removed once no
published catalog refers to it.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import time
import uuid
from pathlib import Path

import duckdb

from dtks_pipeline.lib import warehouse
from dtks_pipeline.lib.masking import mask_id_sql

# The analyst contract (WAREHOUSE.md): which table feeds which analyst table,
# and which of its columns an analyst may see. An allow-list on purpose: a
# column someone adds to registry.persons later (an address, say) does not
# leak into the analyst copy until it is listed here.
ANALYST_TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "persons": (
        "registry.persons",
        ("period", "person_id", "nik", "nama", "jenis_kelamin", "nokk", "family_id",
         "hub_kel", "kode_desa", "status", "status_date", "status_source"),
    ),
    "families": (
        "registry.families",
        ("period", "family_id", "nokk", "kepala_person_id", "kode_desa", "desil",
         "n_anggota_aktif", "status"),
    ),
    "exclusions": (
        "registry.exclusions",
        ("period", "family_id", "person_id", "reason_code", "evidence_source",
         "evidence_file", "evidence_row", "effective_date"),
    ),
    "payments": (
        "payout.payments",
        ("period", "program", "family_id", "nokk", "recipient_person_id", "recipient_nik",
         "recipient_nama", "kode_desa", "amount_idr", "rank", "entry_reason"),
    ),
    "changes": (
        "payout.changes",
        ("period", "program", "family_id", "change", "reason_code"),
    ),
    "summary": (
        "payout.summary",
        ("period", "program", "kode_kecamatan", "kode_desa", "n_kpm", "amount_idr"),
    ),
    # registry/review.py, registry/held.py: the review queue side by side, and the families held.
    "review_pairs": (
        "registry.review_pairs",
        ("period", "pair_id", "person_id_a", "person_id_b", "match_probability", "match_weight", "levels",
         "reason", "decision", "source_a", "source_b", "nik_a", "nik_b", "nama_a", "nama_b",
         "jenis_kelamin_a", "jenis_kelamin_b", "nokk_a", "nokk_b", "kode_desa_a", "kode_desa_b"),
    ),
    "held": (
        "payout.held",
        ("period", "family_id", "nokk", "reason_code", "detail"),
    ),
}

# Columns holding a NIK or NOKK: shown as first 6 + 8 stars + last 2 digits.
MASKED_COLUMNS = frozenset({"nik", "nokk", "recipient_nik", "nik_a", "nik_b", "nokk_a", "nokk_b"})
# Never in the analyst schema, even if someone lists them above by mistake.
FORBIDDEN_COLUMNS = frozenset({"tgl_lahir", "tmpt_lahir", "nama_ibu", "alamat", "raw_record", "tgl_lahir_a", "tgl_lahir_b"})

TMP_GLOB = ".{name}.publish-*.tmp"


def analyst_path_for(published_path: str | Path) -> Path:
    """`dtks.duckdb` -> `dtks_analyst.duckdb` (same folder)."""
    published_path = Path(published_path)
    return published_path.with_name(f"{published_path.stem}_analyst{published_path.suffix or '.duckdb'}")


@dataclasses.dataclass
class PublishResult:
    published_path: Path
    analyst_path: Path
    published_bytes: int
    analyst_bytes: int
    analyst_tables: dict[str, int]  # analyst table -> row count
    skipped: list[str]  # analyst tables whose source table does not exist yet
    seconds: float
    periods_written: list[str] = dataclasses.field(default_factory=list)  # "schema.table/period" written now
    periods_reused: int = 0  # (table, period) kept as the previous publication had them
    tables_copied: list[str] = dataclasses.field(default_factory=list)  # tables without a period copied whole (changed)
    tables_rebuilt: list[str] = dataclasses.field(default_factory=list)  # month tables rebuilt whole (new, or columns changed)
    analyst_rebuilt: bool = False  # True: analyst file built from scratch (first time, or its columns changed)
    stage_seconds: dict[str, float] = dataclasses.field(default_factory=dict)  # copy, tables, analyst


@dataclasses.dataclass(frozen=True)
class PublishedPeriod:
    table: str  # schema.table
    period: str | None
    rows: int
    written_at: object = None  # the period's last write (lib.warehouse.PERIOD_WRITES) when it was published


MANIFEST_SCHEMA = "publication"
MANIFEST = f"{MANIFEST_SCHEMA}.periods"
LEGACY_MANIFEST = f"{MANIFEST_SCHEMA}.parts"  # the earlier layout: a catalog of views over Parquet parts
LEGACY_PARTS_SUFFIX = ".parts"
WORKING_ALIAS = "dtks_working"  # the working file as attached while publishing (never a file's own name)
PUBLISHED_ALIAS = "dtks_published"
# Schemas never copied from the working file: analyst views are recreated, the manifest is ours.
NOT_COPIED = frozenset({"analyst", MANIFEST_SCHEMA, "information_schema", "pg_catalog"})
# Splink's cache tables (its own prefix), left in the working file by the registry stages: scratch
# of one run (term frequencies of names, comparison vectors), not data for readers.
SCRATCH_PREFIX = "__splink__"


def legacy_parts_dir_for(published_path: str | Path) -> Path:
    """`dtks.duckdb` -> `dtks.duckdb.parts/`: where the earlier layout kept its month parts."""
    published_path = Path(published_path)
    return published_path.with_name(published_path.name + LEGACY_PARTS_SUFFIX)


def _columns(con: duckdb.DuckDBPyConnection, qualified: str, catalog: str | None = None) -> list[str]:
    schema, name = qualified.split(".")
    sql = "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?"
    params: list[object] = [schema, name]
    if catalog:
        sql += " AND table_catalog = ?"
        params.append(catalog)
    return [r[0] for r in con.execute(sql + " ORDER BY ordinal_position", params).fetchall()]


def analyst_select(con: duckdb.DuckDBPyConnection, analyst_table: str, catalog: str | None = None,
                   columns: dict[str, list[str]] | None = None) -> str | None:
    """The SELECT producing one analyst table, or None when its source does not exist.

    Only allowed columns that the source actually has are selected, so the
    analyst schema follows whatever the registry/payout stages have built.
    """
    source, allowed = ANALYST_TABLES[analyst_table]
    present = set(columns.get(source, ())) if columns is not None else set(_columns(con, source, catalog))
    if not present:
        return None
    parts = []
    for col in allowed:
        if col not in present or col in FORBIDDEN_COLUMNS:
            continue
        parts.append(f'{mask_id_sql(col)} AS "{col}"' if col in MASKED_COLUMNS else f'"{col}"')
    prefix = f'"{catalog}".' if catalog else ""
    return f"SELECT {', '.join(parts)} FROM {prefix}{source}"


def create_analyst_views(con: duckdb.DuckDBPyConnection, columns: dict[str, list[str]] | None = None) -> list[str]:
    """(Re)create the analyst views in the full warehouse; returns the views made."""
    made = []
    con.execute("CREATE SCHEMA IF NOT EXISTS analyst")
    for table in ANALYST_TABLES:
        select = analyst_select(con, table, columns=columns)
        if select is None:
            con.execute(f"DROP VIEW IF EXISTS analyst.{table}")
            continue
        con.execute(f"CREATE OR REPLACE VIEW analyst.{table} AS {select}")
        made.append(table)
    return made


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _copy_file(src: Path, dst: Path) -> None:
    """Copy `src` to `dst` in the kernel and fsync `dst` (a test replaces this to be killed mid-copy)."""
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        size = os.fstat(fin.fileno()).st_size
        done = 0
        try:
            while done < size:
                n = os.copy_file_range(fin.fileno(), fout.fileno(), size - done)
                if n == 0:
                    break
                done += n
        except (AttributeError, OSError):  # no copy_file_range here (another OS, another file system)
            fin.seek(done)
            fout.seek(done)
            shutil.copyfileobj(fin, fout, length=8 * 1024 * 1024)
        fout.flush()
        os.fsync(fout.fileno())


def _check_readable(path: Path) -> None:
    """Open a freshly written file read-only once: a truncated copy fails here, not in a reader."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        con.execute("SELECT count(*) FROM information_schema.tables").fetchone()
    finally:
        con.close()


def _tmp_name(target: Path) -> Path:
    return target.with_name(f".{target.name}.publish-{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")


def _remove_stale_tmps(target: Path) -> None:
    """Remove leftovers of publishes that were killed (only one publisher runs: pool duckdb)."""
    for stale in target.parent.glob(TMP_GLOB.format(name=target.name)):
        stale.unlink(missing_ok=True)
        Path(f"{stale}.wal").unlink(missing_ok=True)


def _replace_atomically(tmp: Path, target: Path) -> None:
    _check_readable(tmp)
    os.replace(tmp, target)
    _fsync_dir(target.parent)


def _sql_path(path: Path | str) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def build_analyst_file(source_path: Path, out_path: Path,
                       columns: dict[str, list[str]] | None = None) -> tuple[dict[str, int], list[str]]:
    """Write a new DuckDB file holding only the analyst schema, as real tables."""
    con = duckdb.connect(str(out_path))
    try:
        con.execute(f"ATTACH {_sql_path(source_path)} AS src (READ_ONLY)")
        con.execute("CREATE SCHEMA analyst")
        counts: dict[str, int] = {}
        skipped: list[str] = []
        for table in ANALYST_TABLES:
            select = analyst_select(con, table, catalog="src", columns=columns)
            if select is None:
                skipped.append(table)
                continue
            con.execute(f"CREATE TABLE analyst.{table} AS {select}")
            counts[table] = con.execute(f"SELECT count(*) FROM analyst.{table}").fetchone()[0]
        con.execute("DETACH src")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return counts, skipped


def _previous_periods(published_path: Path) -> dict[tuple[str, str | None], PublishedPeriod] | None:
    """What the current published file holds, by (table, period); {} when nothing is published,
    None when it is a catalog of the earlier layout (views over parts), which is rebuilt, not updated."""
    if not published_path.exists():
        return {}
    con = duckdb.connect(str(published_path), read_only=True)
    try:
        if warehouse.table_exists(con, LEGACY_MANIFEST):
            return None
        if not warehouse.table_exists(con, MANIFEST):
            return {}
        rows = con.execute(f"SELECT table_name, period, rows, written_at FROM {MANIFEST}").fetchall()
    finally:
        con.close()
    return {(t, p): PublishedPeriod(t, p, int(n), w) for t, p, n, w in rows}


def _table_columns(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, list[tuple[str, str]]]:
    """schema.table -> [(column, type)] of every table of `catalog` (base tables only)."""
    out: dict[str, list[tuple[str, str]]] = {}
    for table, column, dtype in con.execute(
            "SELECT c.table_schema || '.' || c.table_name, c.column_name, c.data_type FROM information_schema.columns c "
            "JOIN information_schema.tables t USING (table_catalog, table_schema, table_name) "
            "WHERE c.table_catalog = ? AND t.table_type = 'BASE TABLE' ORDER BY c.table_schema, c.table_name, c.ordinal_position",
            [catalog]).fetchall():
        out.setdefault(table, []).append((column, dtype))
    return out


def _working_tables(columns: dict[str, list[tuple[str, str]]]) -> dict[str, bool]:
    """The working file's tables to publish: schema.table -> has a period column."""
    # The write log is the working file's bookkeeping for publication, not data for readers.
    return {t: any(c == "period" for c, _ in cols) for t, cols in sorted(columns.items())
            if t.split(".")[0] not in NOT_COPIED and not t.split(".")[1].startswith(SCRATCH_PREFIX)
            and t != warehouse.PERIOD_WRITES}


def _drop_relation(con: duckdb.DuckDBPyConnection, qualified: str) -> None:
    schema, name = qualified.split(".")
    kind = con.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_catalog = current_database() "
        "AND table_schema = ? AND table_name = ?", [schema, name]).fetchone()
    if kind:
        con.execute(f"DROP {'VIEW' if kind[0] == 'VIEW' else 'TABLE'} {qualified} CASCADE")


def _fingerprint(con: duckdb.DuckDBPyConnection, qualified: str) -> tuple:
    """Row count and an order-free sum of row hashes: a key map unchanged since the last month is
    not copied again (reading it twice costs a fraction of writing it)."""
    return con.execute(f"SELECT count(*), sum(hash(_dtks_row)::HUGEINT) FROM {qualified} AS _dtks_row").fetchone()


@dataclasses.dataclass
class _TablesOutcome:
    periods: dict[tuple[str, str | None], PublishedPeriod]
    written: list[tuple[str, str | None]]
    copied: list[str]  # tables without a period copied whole (changed since the last publication)
    rebuilt: list[str]


def _write_month_tables(con: duckdb.DuckDBPyConnection, previous: dict[tuple[str, str | None], PublishedPeriod],
                        period: str | None) -> _TablesOutcome:
    """Bring the published file open on `con` (a copy of the previous one, or new) up to the attached
    working file: the periods that need it (module doc), whole tables where needed, the views."""
    working = _table_columns(con, WORKING_ALIAS)
    tables = _working_tables(working)
    mine = _table_columns(con, con.execute("SELECT current_database()").fetchone()[0])
    last_write = warehouse.period_writes(con, WORKING_ALIAS)
    # Views are recreated below; dropping them first frees every dependency.
    for schema, view in con.execute("SELECT schema_name, view_name FROM duckdb_views() "
                                    "WHERE database_name = current_database() AND NOT internal").fetchall():
        con.execute(f'DROP VIEW IF EXISTS "{schema}"."{view}" CASCADE')
    for table in mine:
        if table not in tables and table.split(".")[0] != MANIFEST_SCHEMA:
            con.execute(f"DROP TABLE {table}")
    outcome = _TablesOutcome({}, [], [], [])
    for table, has_period in tables.items():
        source = f"{WORKING_ALIAS}.{table}"
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {table.split('.')[0]}")
        if not has_period:
            if mine.get(table) != working[table] or _fingerprint(con, table) != _fingerprint(con, source):
                con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {source}")
                outcome.copied.append(table)
            continue
        counts = dict(con.execute(f"SELECT period, count(*) FROM {source} GROUP BY period").fetchall())
        rebuild = mine.get(table) != working[table]
        if rebuild:  # new here, or its columns changed: the whole table again
            con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {source}")
            outcome.rebuilt.append(table)
        stale = {p for (t, p) in previous if t == table} - set(counts)
        for p in stale:  # a period the working file no longer has
            con.execute(f"DELETE FROM {table} WHERE period IS NOT DISTINCT FROM ?", [p])
        for p, n in sorted(counts.items(), key=lambda kv: str(kv[0])):
            old = previous.get((table, p))
            mark = last_write.get(p)
            unchanged = (old is not None and old.rows == n
                         and (mark is None or (old.written_at is not None and mark <= old.written_at)))
            if not rebuild and unchanged and p != period:
                outcome.periods[(table, p)] = old
                continue
            if not rebuild:
                con.execute(f"DELETE FROM {table} WHERE period IS NOT DISTINCT FROM ?", [p])
                con.execute(f"INSERT INTO {table} SELECT * FROM {source} WHERE period IS NOT DISTINCT FROM ?", [p])
            outcome.periods[(table, p)] = PublishedPeriod(table, p, int(n), mark)
            outcome.written.append((table, p))
    _recreate_views(con)
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {MANIFEST_SCHEMA}")
    con.execute(f"CREATE OR REPLACE TABLE {MANIFEST} "
                "(table_name VARCHAR, period VARCHAR, rows BIGINT, written_at TIMESTAMP)")
    if outcome.periods:
        con.executemany(f"INSERT INTO {MANIFEST} VALUES (?, ?, ?, ?)",
                        [[p.table, p.period, p.rows, p.written_at] for p in outcome.periods.values()])
    return outcome


def _recreate_views(con: duckdb.DuckDBPyConnection) -> None:
    """The working file's own views (per-program payout views, say), then the analyst views."""
    views = con.execute("SELECT schema_name, view_name, sql FROM duckdb_views() WHERE database_name = ? "
                        "AND NOT internal AND schema_name NOT IN (SELECT unnest(?))", [WORKING_ALIAS, sorted(NOT_COPIED)]).fetchall()
    for _ in range(len(views) + 1):  # a view may read another: retry until none is left
        pending = []
        for schema, name, sql in views:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            try:
                con.execute(sql.replace("CREATE VIEW", "CREATE OR REPLACE VIEW", 1))
            except duckdb.Error:
                pending.append((schema, name, sql))
        if not pending or len(pending) == len(views):
            break
        views = pending
    create_analyst_views(con)


def _build_published(working_path: Path, published_path: Path, tmp: Path,
                     previous: dict[tuple[str, str | None], PublishedPeriod], period: str | None) -> _TablesOutcome:
    con = duckdb.connect(str(tmp))
    try:
        con.execute(f"ATTACH {_sql_path(working_path)} AS {WORKING_ALIAS} (READ_ONLY)")
        with warehouse.transaction(con):
            outcome = _write_month_tables(con, previous, period)
        con.execute(f"DETACH {WORKING_ALIAS}")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    return outcome


def _analyst_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return _columns(con, f"analyst.{table}", catalog=con.execute("SELECT current_database()").fetchone()[0])


def update_analyst_file(previous_path: Path, out_path: Path, source_path: Path,
                        changed: dict[str, set[str | None]]) -> tuple[dict[str, int], list[str]] | None:
    """Copy the previous analyst file to `out_path` and replace only the `changed` periods of each analyst
    table (source table -> periods), read from the published file `source_path`. None when a full build
    is needed instead (columns differ, table new)."""
    _copy_file(previous_path, out_path)
    con = duckdb.connect(str(out_path))
    try:
        con.execute(f"ATTACH {_sql_path(source_path)} AS {PUBLISHED_ALIAS} (READ_ONLY)")
        counts: dict[str, int] = {}
        skipped: list[str] = []
        with warehouse.transaction(con):
            for table, (source, allowed) in ANALYST_TABLES.items():
                select = analyst_select(con, table, catalog=PUBLISHED_ALIAS)
                have = _analyst_columns(con, table)
                if select is None:
                    if have:
                        con.execute(f"DROP TABLE analyst.{table}")
                    skipped.append(table)
                    continue
                present = set(_columns(con, source, PUBLISHED_ALIAS))
                wanted = [c for c in allowed if c in present and c not in FORBIDDEN_COLUMNS]
                if wanted != have or "period" not in have:
                    return None
                now = {p for (p,) in con.execute(f"SELECT DISTINCT period FROM {PUBLISHED_ALIAS}.{source}").fetchall()}
                stale = {p for (p,) in con.execute(f"SELECT DISTINCT period FROM analyst.{table}").fetchall()} - now
                for p in sorted(changed.get(source, set()) | stale, key=str):
                    con.execute(f"DELETE FROM analyst.{table} WHERE period IS NOT DISTINCT FROM ?", [p])
                    if p in now:
                        con.execute(f"INSERT INTO analyst.{table} {select} WHERE period IS NOT DISTINCT FROM ?", [p])
                counts[table] = con.execute(f"SELECT count(*) FROM analyst.{table}").fetchone()[0]
        con.execute(f"DETACH {PUBLISHED_ALIAS}")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return counts, skipped


def publish(working_path: str | Path, published_path: str | Path, period: str | None = None) -> PublishResult:
    """Publish the working warehouse and its analyst copy atomically (see module doc).

    `period` is the month being published: its rows are always rewritten; any other period only
    when it is new, was written since it was published, or its row count changed.
    """
    start = time.perf_counter()
    working_path, published_path = Path(working_path), Path(published_path)
    if not working_path.exists():
        raise FileNotFoundError(f"working warehouse {working_path} does not exist: nothing to publish")
    analyst_path = analyst_path_for(published_path)
    published_path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_tmps(published_path)
    _remove_stale_tmps(analyst_path)
    stages: dict[str, float] = {}

    # 1. views + CHECKPOINT in the working file; closing leaves no WAL behind.
    con = warehouse.connect(working_path)
    try:
        create_analyst_views(con)
        con.execute("CHECKPOINT")
    finally:
        con.close()

    # 2.-3. a copy of the previous published file, brought up to the working file, swapped in.
    previous = _previous_periods(published_path)
    legacy = previous is None
    tmp = _tmp_name(published_path)
    try:
        t = time.perf_counter()
        if not legacy and published_path.exists():
            _copy_file(published_path, tmp)
        stages["copy"] = time.perf_counter() - t
        t = time.perf_counter()
        outcome = _build_published(working_path, published_path, tmp, previous or {}, period)
        _replace_atomically(tmp, published_path)
        stages["tables"] = time.perf_counter() - t
    finally:
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)

    # 4. analyst copy, from the file just published (never from a moving target).
    t = time.perf_counter()
    changed: dict[str, set[str | None]] = {}
    for table, p in outcome.written:
        changed.setdefault(table, set()).add(p)
    tmp = _tmp_name(analyst_path)
    rebuilt = False
    try:
        outcome_analyst = (update_analyst_file(analyst_path, tmp, published_path, changed)
                           if analyst_path.exists() and not legacy else None)
        if outcome_analyst is None:
            tmp.unlink(missing_ok=True)
            Path(f"{tmp}.wal").unlink(missing_ok=True)
            outcome_analyst, rebuilt = build_analyst_file(published_path, tmp), True
        counts, skipped = outcome_analyst
        _replace_atomically(tmp, analyst_path)
    finally:
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)
    stages["analyst"] = time.perf_counter() - t

    # 5. the earlier layout's parts, once the catalog that read them is no longer the published one
    #    (a reader who opened it before this publication may still read them until the next).
    if not legacy:
        shutil.rmtree(legacy_parts_dir_for(published_path), ignore_errors=True)

    return PublishResult(
        published_path=published_path,
        analyst_path=analyst_path,
        published_bytes=published_path.stat().st_size,
        analyst_bytes=analyst_path.stat().st_size,
        analyst_tables=counts,
        skipped=skipped,
        seconds=time.perf_counter() - start,
        periods_written=[f"{t}/{p}" for t, p in outcome.written],
        periods_reused=len(outcome.periods) - len(outcome.written),
        tables_copied=outcome.copied,
        tables_rebuilt=outcome.rebuilt,
        analyst_rebuilt=rebuilt,
        stage_seconds={k: round(v, 3) for k, v in stages.items()},
    )
