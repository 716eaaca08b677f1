"""Atomic publication of the warehouse, and the analyst-only copy, at the cost of the month.

Assets write the *working* DuckDB file (`<dir>/work/<name>`); readers open the
*published* file (`<dir>/<name>`). `publish()` turns the first into the second
without copying the history each month (issue 11: a whole-file copy costs more
every month the warehouse grows):

1. open the working file (the asset runs in the pool "duckdb", so it is the
   only writer), (re)create the `analyst` views, CHECKPOINT and close;
2. **month parts.** Every table with a `period` column is published as one
   immutable Parquet file per period under `<dir>/<name>.parts/<schema>.<table>/`.
   Only the periods that need it are written: the period being published, a
   period never published, one written since its part was made (every month
   write goes through `lib.warehouse.replace_rows`, which logs it in
   `audit.period_writes`: a re-run month published together with a later one)
   and one whose row count in the working file differs from the part's. Every other part is reused as it is: a
   second month's publication does not touch the first month's files. A new
   part gets a new file name; no file a reader may be reading is ever rewritten;
3. **the catalog.** The published file itself is a small DuckDB database: each
   month-partitioned table is a view over its parts (`read_parquet([...])`),
   the tables without a period (region codes, key maps) are real tables copied
   whole, the working file's other views and the `analyst` views are recreated,
   and `publication.parts` lists the parts (table, period, rows, file). It is
   built as a temporary copy of the previous catalog *in the published folder*
   (same file system, so the rename below is atomic), changed there, fsynced,
   opened read-only once to prove it is readable, then `os.replace`d onto the
   published path. A reader holding the old file open keeps reading the old
   catalog (whose parts are kept until the publication after next); a reader
   that opens the path afterwards gets the new one; nobody sees half a month;
4. **the analyst file** `<stem>_analyst.duckdb` stays one self-contained file of
   real tables (masked NIK/NOKK, no birth dates, no views, nothing attached), so
   that a person given that file cannot reach personal data by any means. It is
   a temporary copy of the previous analyst file in which only the rewritten
   periods are deleted and inserted again (a full build the first time or when
   an analyst table's columns change), replaced the same way. That copy is a
   plain byte copy of the analyst file (a fifth of the full file on the sample),
   the one part of publication that still grows with the history;
5. parts referenced by neither the new nor the previous catalog are deleted.

A process killed at any point before an `os.replace` leaves the published
files untouched and at most a stale `.<name>.publish-*.tmp` or unreferenced
part behind, which the next publish removes. Readers of the full file need
the parts folder beside it (`dtks query --full-access` allows exactly that
folder, with external access otherwise disabled); the views name the parts by
absolute path, so a moved warehouse folder is consistent again after the next
publication.
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
    parts_written: list[str] = dataclasses.field(default_factory=list)  # "schema.table/period" written now
    parts_reused: int = 0  # parts of earlier publications kept as they are
    parts_bytes_written: int = 0
    tables_copied: list[str] = dataclasses.field(default_factory=list)  # tables without a period, copied whole
    analyst_rebuilt: bool = False  # True: analyst file built from scratch (first time, or its columns changed)


@dataclasses.dataclass(frozen=True)
class Part:
    table: str  # schema.table
    period: str
    rows: int
    file: str  # absolute path of the Parquet file
    written_at: object = None  # the period's last write (lib.warehouse.PERIOD_WRITES) when the part was made


MANIFEST_SCHEMA = "publication"
MANIFEST = f"{MANIFEST_SCHEMA}.parts"
PARTS_SUFFIX = ".parts"
WORKING_ALIAS = "dtks_working"  # the working file as attached while publishing (never a file's own name)
# Schemas never copied from the working file: analyst views are recreated, the manifest is ours.
NOT_COPIED = frozenset({"analyst", MANIFEST_SCHEMA, "information_schema", "pg_catalog"})


def parts_dir_for(published_path: str | Path) -> Path:
    """`dtks.duckdb` -> `dtks.duckdb.parts/` (same folder): where the month parts live."""
    published_path = Path(published_path)
    return published_path.with_name(published_path.name + PARTS_SUFFIX)


def _columns(con: duckdb.DuckDBPyConnection, qualified: str, catalog: str | None = None) -> list[str]:
    schema, name = qualified.split(".")
    sql = "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?"
    params: list[object] = [schema, name]
    if catalog:
        sql += " AND table_catalog = ?"
        params.append(catalog)
    return [r[0] for r in con.execute(sql + " ORDER BY ordinal_position", params).fetchall()]


def analyst_select(con: duckdb.DuckDBPyConnection, analyst_table: str, catalog: str | None = None,
                   columns: dict[str, list[str]] | None = None, source_sql: str | None = None) -> str | None:
    """The SELECT producing one analyst table, or None when its source does not exist.

    Only allowed columns that the source actually has are selected, so the
    analyst schema follows whatever the registry/payout stages have built.
    """
    source, allowed = ANALYST_TABLES[analyst_table]
    # `columns` (table -> its columns, known beforehand) spares binding views over many Parquet parts.
    present = set(columns.get(source, ())) if columns is not None else set(_columns(con, source, catalog))
    if not present:
        return None
    parts = []
    for col in allowed:
        if col not in present or col in FORBIDDEN_COLUMNS:
            continue
        parts.append(f'{mask_id_sql(col)} AS "{col}"' if col in MASKED_COLUMNS else f'"{col}"')
    prefix = f'"{catalog}".' if catalog else ""
    return f"SELECT {', '.join(parts)} FROM {source_sql or prefix + source}"


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
    """Copy `src` to `dst` and fsync `dst` (a test replaces this to be killed mid-copy)."""
    with open(src, "rb") as fin, open(dst, "wb") as fout:
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


def build_analyst_file(source_path: Path, out_path: Path,
                       columns: dict[str, list[str]] | None = None) -> tuple[dict[str, int], list[str]]:
    """Write a new DuckDB file holding only the analyst schema, as real tables."""
    con = duckdb.connect(str(out_path))
    try:
        quoted = source_path.as_posix().replace("'", "''")
        con.execute(f"ATTACH '{quoted}' AS src (READ_ONLY)")
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


def _sql_path(path: Path | str) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _previous_parts(published_path: Path) -> dict[tuple[str, str], Part]:
    """The parts the current published catalog uses, by (table, period); {} when none."""
    if not published_path.exists():
        return {}
    con = duckdb.connect(str(published_path), read_only=True)
    try:
        if not warehouse.table_exists(con, MANIFEST):
            return {}
        has_mark = "written_at" in _columns(con, MANIFEST)
        rows = con.execute(f"SELECT table_name, period, rows, file, {'written_at' if has_mark else 'NULL'} "
                           f"FROM {MANIFEST}").fetchall()
    finally:
        con.close()
    return {(t, p): Part(t, p, int(n), f, w) for t, p, n, f, w in rows}


def _working_tables(con: duckdb.DuckDBPyConnection) -> dict[str, bool]:
    """Tables of the attached working file `w`: schema.table -> has a period column."""
    rows = con.execute(
        "SELECT c.table_schema || '.' || c.table_name, bool_or(c.column_name = 'period') "
        "FROM information_schema.columns c JOIN information_schema.tables t USING (table_catalog, table_schema, table_name) "
        "WHERE c.table_catalog = ? AND t.table_type = 'BASE TABLE' AND c.table_schema NOT IN (SELECT unnest(?)) "
        "GROUP BY ALL ORDER BY 1",
        [WORKING_ALIAS, sorted(NOT_COPIED)],
    ).fetchall()
    # The write log is the working file's bookkeeping for publication, not data for readers.
    return {t: bool(has) for t, has in rows if t != warehouse.PERIOD_WRITES}


def _write_parts(con: duckdb.DuckDBPyConnection, tables: dict[str, bool], previous: dict[tuple[str, str], Part],
                 parts_dir: Path, period: str | None) -> tuple[dict[tuple[str, str], Part], list[tuple[str, str]], int]:
    """Write the parts that need writing (see the module doc); returns (all current parts, written, bytes)."""
    current: dict[tuple[str, str], Part] = {}
    written: list[tuple[str, str]] = []
    nbytes = 0
    token = uuid.uuid4().hex[:8]
    last_write = warehouse.period_writes(con, WORKING_ALIAS)
    for table, has_period in tables.items():
        if not has_period:
            continue
        counts = dict(con.execute(f"SELECT period, count(*) FROM {WORKING_ALIAS}.{table} GROUP BY period").fetchall())
        for p, n in sorted(counts.items(), key=lambda kv: str(kv[0])):
            old = previous.get((table, p))
            mark = last_write.get(p)
            unchanged = (old is not None and old.rows == n and Path(old.file).exists()
                         and (mark is None or (old.written_at is not None and mark <= old.written_at)))
            if unchanged and p != period:
                current[(table, p)] = old
                continue
            folder = parts_dir / table
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / f"{p}.{time.strftime('%Y%m%dT%H%M%S')}-{token}.parquet"
            select = f"SELECT * FROM {WORKING_ALIAS}.{table} WHERE period = ?" if p is not None else f"SELECT * FROM {WORKING_ALIAS}.{table} WHERE period IS NULL"
            con.execute(f"COPY ({select}) TO {_sql_path(target)} (FORMAT parquet)", [p] if p is not None else [])
            with open(target, "rb") as fh:
                os.fsync(fh.fileno())
            nbytes += target.stat().st_size
            current[(table, p)] = Part(table, p, int(n), str(target), mark)
            written.append((table, p))
    _fsync_dir(parts_dir)
    return current, written, nbytes


def _drop_relation(con: duckdb.DuckDBPyConnection, qualified: str) -> None:
    schema, name = qualified.split(".")
    kind = con.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_catalog = current_database() "
        "AND table_schema = ? AND table_name = ?", [schema, name]).fetchone()
    if kind:
        con.execute(f"DROP {'VIEW' if kind[0] == 'VIEW' else 'TABLE'} {qualified} CASCADE")


def _update_catalog(con: duckdb.DuckDBPyConnection, tables: dict[str, bool], parts: dict[tuple[str, str], Part],
                    columns: dict[str, list[str]]) -> list[str]:
    """Turn the catalog open on `con` (a copy of the previous one, or new) into the new one; returns tables copied."""
    # Views of the catalog are recreated below; dropping them first frees every dependency.
    for schema, view in con.execute("SELECT schema_name, view_name FROM duckdb_views() "
                                    "WHERE database_name = current_database() AND NOT internal").fetchall():
        con.execute(f'DROP VIEW IF EXISTS "{schema}"."{view}" CASCADE')
    wanted = set(tables)
    for schema, name in con.execute("SELECT schema_name, table_name FROM duckdb_tables() "
                                    "WHERE database_name = current_database()").fetchall():
        if f"{schema}.{name}" not in wanted and schema != MANIFEST_SCHEMA:
            con.execute(f'DROP TABLE "{schema}"."{name}"')
    copied = []
    for table, has_period in tables.items():
        schema = table.split(".")[0]
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        _drop_relation(con, table)
        files = [part.file for (t, _), part in sorted(parts.items(), key=lambda kv: str(kv[0][1])) if t == table]
        if has_period and files:
            listed = ", ".join(_sql_path(f) for f in files)
            con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet([{listed}], union_by_name = true)")
        elif has_period:  # no rows in any period: an empty table keeps the columns
            con.execute(f"CREATE TABLE {table} AS SELECT * FROM {WORKING_ALIAS}.{table} LIMIT 0")
        else:
            con.execute(f"CREATE TABLE {table} AS SELECT * FROM {WORKING_ALIAS}.{table}")
            copied.append(table)
    # The working file's own views (per-program payout views, say), then the analyst views.
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
    create_analyst_views(con, columns)
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {MANIFEST_SCHEMA}")
    con.execute(f"CREATE OR REPLACE TABLE {MANIFEST} "
                "(table_name VARCHAR, period VARCHAR, rows BIGINT, file VARCHAR, written_at TIMESTAMP)")
    if parts:
        con.executemany(f"INSERT INTO {MANIFEST} VALUES (?, ?, ?, ?, ?)",
                        [[p.table, p.period, p.rows, p.file, p.written_at] for p in parts.values()])
    return copied


def _build_catalog(working_path: Path, published_path: Path, tmp: Path, tables_parts) -> list[str]:
    tables, parts, columns = tables_parts
    if published_path.exists():
        _copy_file(published_path, tmp)  # small: views, key maps, region codes
    con = duckdb.connect(str(tmp))
    try:
        con.execute(f"ATTACH {_sql_path(working_path)} AS {WORKING_ALIAS} (READ_ONLY)")
        with warehouse.transaction(con):
            copied = _update_catalog(con, tables, parts, columns)
        con.execute(f"DETACH {WORKING_ALIAS}")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    return copied


def _analyst_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return _columns(con, f"analyst.{table}", catalog=con.execute("SELECT current_database()").fetchone()[0])


def update_analyst_file(previous_path: Path, out_path: Path, parts: dict[tuple[str, str], Part],
                        changed: dict[str, set[str]], columns: dict[str, list[str]]) -> tuple[dict[str, int], list[str]] | None:
    """Copy the previous analyst file to `out_path` and replace only the `changed` periods of each analyst
    table (source table -> periods), reading each from its new part. None when a full build is needed
    instead (columns differ, table new)."""
    _copy_file(previous_path, out_path)
    con = duckdb.connect(str(out_path))
    try:
        counts: dict[str, int] = {}
        skipped: list[str] = []
        present: dict[str, set[str]] = {}
        for table, p in parts:
            present.setdefault(table, set()).add(p)
        with warehouse.transaction(con):
            for table, (source, _) in ANALYST_TABLES.items():
                select = analyst_select(con, table, columns=columns, source_sql="_part")
                have = _analyst_columns(con, table)
                if select is None:
                    if have:
                        con.execute(f"DROP TABLE analyst.{table}")
                    skipped.append(table)
                    continue
                allowed_cols = ANALYST_TABLES[table][1]
                wanted = [c for c in allowed_cols if c in set(columns.get(source, ())) and c not in FORBIDDEN_COLUMNS]
                if wanted != have or "period" not in have:
                    return None
                now = present.get(source, set())
                stale = {p for (p,) in con.execute(f"SELECT DISTINCT period FROM analyst.{table}").fetchall()} - now
                for p in sorted(changed.get(source, set()) | stale, key=str):
                    con.execute(f"DELETE FROM analyst.{table} WHERE period IS NOT DISTINCT FROM ?", [p])
                    if p in now:
                        part = _sql_path(parts[(source, p)].file)
                        con.execute(f"INSERT INTO analyst.{table} {select.replace(' FROM _part', f' FROM read_parquet({part})')}")
                counts[table] = con.execute(f"SELECT count(*) FROM analyst.{table}").fetchone()[0]
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return counts, skipped


def _remove_unreferenced_parts(parts_dir: Path, keep: set[str]) -> None:
    """Delete part files no catalog in use refers to (the new one and the one it replaced)."""
    if not parts_dir.is_dir():
        return
    for path in parts_dir.glob("*/*.parquet"):
        if str(path) not in keep:
            path.unlink(missing_ok=True)


def publish(working_path: str | Path, published_path: str | Path, period: str | None = None) -> PublishResult:
    """Publish the working warehouse and its analyst copy atomically (see module doc).

    `period` is the month being published: its parts are always rewritten; any other period only
    when it is new or its row count changed.
    """
    start = time.perf_counter()
    working_path, published_path = Path(working_path), Path(published_path)
    if not working_path.exists():
        raise FileNotFoundError(f"working warehouse {working_path} does not exist: nothing to publish")
    analyst_path = analyst_path_for(published_path)
    parts_dir = parts_dir_for(published_path)
    published_path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_tmps(published_path)
    _remove_stale_tmps(analyst_path)

    # 1. views + CHECKPOINT in the working file; closing leaves no WAL behind.
    con = warehouse.connect(working_path)
    try:
        create_analyst_views(con)
        con.execute("CHECKPOINT")
    finally:
        con.close()

    # 2. the month's parts, written beside the published file before anything points at them.
    previous = _previous_parts(published_path)
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH {_sql_path(working_path)} AS {WORKING_ALIAS} (READ_ONLY)")
        tables = _working_tables(con)
        columns: dict[str, list[str]] = {}
        for table, column in con.execute(
                "SELECT table_schema || '.' || table_name, column_name FROM information_schema.columns "
                "WHERE table_catalog = ? ORDER BY ordinal_position", [WORKING_ALIAS]).fetchall():
            columns.setdefault(table, []).append(column)
        parts, written, nbytes = _write_parts(con, tables, previous, parts_dir, period)
    finally:
        con.close()

    # 3. the catalog: copy of the previous one -> updated -> fsync -> check -> rename.
    tmp = _tmp_name(published_path)
    try:
        copied = _build_catalog(working_path, published_path, tmp, (tables, parts, columns))
        _replace_atomically(tmp, published_path)
    finally:
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)

    # 4. analyst copy, from the catalog just published (never from a moving target).
    changed: dict[str, set[str]] = {}
    for table, p in written:
        changed.setdefault(table, set()).add(p)
    tmp = _tmp_name(analyst_path)
    rebuilt = False
    try:
        outcome = update_analyst_file(analyst_path, tmp, parts, changed, columns) if analyst_path.exists() else None
        if outcome is None:
            tmp.unlink(missing_ok=True)
            Path(f"{tmp}.wal").unlink(missing_ok=True)
            outcome, rebuilt = build_analyst_file(published_path, tmp, columns), True
        counts, skipped = outcome
        _replace_atomically(tmp, analyst_path)
    finally:
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)

    # 5. parts neither the new catalog nor the one it replaced refers to.
    _remove_unreferenced_parts(parts_dir, {p.file for p in parts.values()} | {p.file for p in previous.values()})

    return PublishResult(
        published_path=published_path,
        analyst_path=analyst_path,
        published_bytes=published_path.stat().st_size,
        analyst_bytes=analyst_path.stat().st_size,
        analyst_tables=counts,
        skipped=skipped,
        seconds=time.perf_counter() - start,
        parts_written=[f"{t}/{p}" for t, p in written],
        parts_reused=len(parts) - len(written),
        parts_bytes_written=nbytes,
        tables_copied=copied,
        analyst_rebuilt=rebuilt,
    )
