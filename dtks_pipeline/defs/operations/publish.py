"""Atomic publication of the warehouse, and the analyst-only copy.

Assets write the *working* DuckDB file (`<dir>/work/<name>`); readers open the
*published* file (`<dir>/<name>`). `publish()` turns the first into the second:

1. open the working file (the asset runs in the pool "duckdb", so it is the
   only writer), (re)create the `analyst` views over the registry and payout
   tables that exist, CHECKPOINT (folds the WAL into the file) and close;
2. copy the file to a temporary name *in the published folder* (same file
   system, so the rename below is atomic), fsync it, open it read-only once to
   prove it is a readable database, then `os.replace` it onto the published
   path. A reader holding the old file open keeps reading the old inode; a
   reader that opens the path afterwards gets the new one; nobody ever sees a
   half-written file;
3. build `<stem>_analyst.duckdb` the same way: a fresh file holding only the
   `analyst` schema as real tables (masked NIK/NOKK, no birth dates), so that
   a person given that file cannot reach personal data by any means.

A process killed at any point before a `os.replace` leaves the published
files untouched and at most a stale `.<name>.publish-*.tmp` behind, which the
next publish removes. The two renames are each atomic; the analyst file is
replaced right after the full one.
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


def _columns(con: duckdb.DuckDBPyConnection, qualified: str, catalog: str | None = None) -> list[str]:
    schema, name = qualified.split(".")
    sql = "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?"
    params: list[object] = [schema, name]
    if catalog:
        sql += " AND table_catalog = ?"
        params.append(catalog)
    return [r[0] for r in con.execute(sql + " ORDER BY ordinal_position", params).fetchall()]


def analyst_select(con: duckdb.DuckDBPyConnection, analyst_table: str, catalog: str | None = None) -> str | None:
    """The SELECT producing one analyst table, or None when its source does not exist.

    Only allowed columns that the source actually has are selected, so the
    analyst schema follows whatever the registry/payout stages have built.
    """
    source, allowed = ANALYST_TABLES[analyst_table]
    present = set(_columns(con, source, catalog))
    if not present:
        return None
    parts = []
    for col in allowed:
        if col not in present or col in FORBIDDEN_COLUMNS:
            continue
        parts.append(f'{mask_id_sql(col)} AS "{col}"' if col in MASKED_COLUMNS else f'"{col}"')
    prefix = f'"{catalog}".' if catalog else ""
    return f"SELECT {', '.join(parts)} FROM {prefix}{source}"


def create_analyst_views(con: duckdb.DuckDBPyConnection) -> list[str]:
    """(Re)create the analyst views in the full warehouse; returns the views made."""
    made = []
    con.execute("CREATE SCHEMA IF NOT EXISTS analyst")
    for table in ANALYST_TABLES:
        select = analyst_select(con, table)
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


def build_analyst_file(source_path: Path, out_path: Path) -> tuple[dict[str, int], list[str]]:
    """Write a new DuckDB file holding only the analyst schema, as real tables."""
    con = duckdb.connect(str(out_path))
    try:
        quoted = source_path.as_posix().replace("'", "''")
        con.execute(f"ATTACH '{quoted}' AS src (READ_ONLY)")
        con.execute("CREATE SCHEMA analyst")
        counts: dict[str, int] = {}
        skipped: list[str] = []
        for table in ANALYST_TABLES:
            select = analyst_select(con, table, catalog="src")
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


def publish(working_path: str | Path, published_path: str | Path) -> PublishResult:
    """Publish the working warehouse and its analyst copy atomically (see module doc)."""
    start = time.perf_counter()
    working_path, published_path = Path(working_path), Path(published_path)
    if not working_path.exists():
        raise FileNotFoundError(f"working warehouse {working_path} does not exist: nothing to publish")
    analyst_path = analyst_path_for(published_path)
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

    # 2. full warehouse: copy -> fsync -> check -> rename.
    tmp = _tmp_name(published_path)
    try:
        _copy_file(working_path, tmp)
        _replace_atomically(tmp, published_path)
    finally:
        tmp.unlink(missing_ok=True)

    # 3. analyst copy, built from the file just published (never from a moving target).
    tmp = _tmp_name(analyst_path)
    try:
        counts, skipped = build_analyst_file(published_path, tmp)
        _replace_atomically(tmp, analyst_path)
    finally:
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)

    return PublishResult(
        published_path=published_path,
        analyst_path=analyst_path,
        published_bytes=published_path.stat().st_size,
        analyst_bytes=analyst_path.stat().st_size,
        analyst_tables=counts,
        skipped=skipped,
        seconds=time.perf_counter() - start,
    )
