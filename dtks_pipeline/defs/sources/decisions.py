"""Operators' decisions on quarantined files: `dtks accept` / `dtks reject`.

A decision is recorded in `audit.file_decisions` of the WORKING warehouse (the one
assets write; the next publication copies it) for one file of one month and its
SHA-256: a re-delivered file with another checksum is judged afresh. The next run
of that month honours the latest decision on the file as delivered:

- TERIMA (accept): the file is staged despite its rejected share (status DITERIMA);
  rows that fail validation are still rejected row by row. A file that cannot be
  read at all stays quarantined, with a reason that says it was accepted.
- TOLAK (reject): the quarantine is confirmed; the file stays KARANTINA.
"""
from __future__ import annotations

import argparse
import datetime as dt
import getpass
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from dtks_pipeline.defs.sources import file_status as fs
from dtks_pipeline.lib import warehouse as wh


@dataclass(frozen=True)
class Decision:
    decision: str
    decided_by: str
    decided_at: dt.datetime
    note: str


def ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(fs.FILE_DECISIONS_DDL)


def latest_decision(con: duckdb.DuckDBPyConnection, period: str, source: str, source_file: str, sha256: str) -> Decision | None:
    """The latest decision on this exact file (same checksum), or None."""
    if not sha256 or not wh.table_exists(con, fs.FILE_DECISIONS_TABLE):
        return None
    row = con.execute(
        f"SELECT decision, decided_by, decided_at, note FROM {fs.FILE_DECISIONS_TABLE} "
        "WHERE period = ? AND source = ? AND lower(source_file) = lower(?) AND sha256 = ? "
        "ORDER BY decided_at DESC LIMIT 1",
        [period, source, source_file, sha256],
    ).fetchone()
    return Decision(*row) if row else None


class DecisionError(Exception):
    """The decision cannot be recorded (no such file, not quarantined, ...)."""


def record_decision(con: duckdb.DuckDBPyConnection, period: str, source_file: str, decision: str, note: str,
                    decided_by: str | None = None) -> dict:
    """Record a decision on the file of `period` as the last run saw it; return what was recorded."""
    if decision not in fs.DECISIONS:
        raise DecisionError(f"decision must be one of {', '.join(fs.DECISIONS)}")
    if not wh.table_exists(con, fs.SOURCE_FILES_TABLE):
        raise DecisionError("the warehouse has no audit.source_files yet: run the month first")
    rows = con.execute(
        f"SELECT source, source_file, sha256, status, coalesce(status_reason, message) FROM {fs.SOURCE_FILES_TABLE} "
        "WHERE period = ? AND lower(source_file) = lower(?)",
        [period, source_file],
    ).fetchall()
    if not rows:
        known = [r[0] for r in con.execute(
            f"SELECT source_file FROM {fs.SOURCE_FILES_TABLE} WHERE period = ? AND status = ? ORDER BY 1",
            [period, fs.KARANTINA]).fetchall()]
        hint = f"; quarantined files of {period}: {', '.join(known)}" if known else f"; no file of {period} is quarantined"
        raise DecisionError(f"{source_file}: no such file in {period}{hint}")
    source, found_file, sha, status, reason = rows[0]
    if not sha:
        raise DecisionError(f"{found_file} ({period}) has no checksum (status {status}): nothing to decide on")
    if status not in (fs.KARANTINA, fs.DITERIMA):
        raise DecisionError(f"{found_file} ({period}) is not quarantined (status {status}): nothing to decide")
    ensure_table(con)
    record = {
        "period": period, "source": source, "source_file": found_file, "sha256": sha, "decision": decision,
        "decided_by": decided_by or os.environ.get("DTKS_OPERATOR") or _user(),
        "decided_at": dt.datetime.now(), "note": note,
    }
    con.execute(
        f"INSERT INTO {fs.FILE_DECISIONS_TABLE} (period, source, source_file, sha256, decision, decided_by, decided_at, note) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        list(record.values()),
    )
    record["status"] = status
    record["status_reason"] = reason
    return record


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in a container: say so rather than guess
        return "unknown"


def main(args: argparse.Namespace, decision: str) -> int:
    """`dtks accept` and `dtks reject`: exit 0 when recorded, 2 when there is nothing to decide."""
    from dtks_pipeline.defs.shared import WarehouseResource

    working = WarehouseResource(path=str(args.warehouse)).working_path
    if not Path(working).exists():
        print(f"dtks {args.command}: no working warehouse at {working}: run the month first")
        return 2
    try:
        con = wh.connect(working)
    except duckdb.IOException as exc:  # another run holds the warehouse
        print(f"dtks {args.command}: cannot open {working} for writing ({str(exc).splitlines()[0][:160]}); "
              "try again when the run has finished")
        return 1
    try:
        record = record_decision(con, args.month, args.file, decision, args.note, decided_by=args.by)
    except DecisionError as exc:
        print(f"dtks {args.command}: {exc}")
        return 2
    finally:
        con.close()
    verb = "accepted" if decision == fs.TERIMA else "rejected (quarantine confirmed)"
    print(f"{record['source_file']} ({record['period']}, sha256 {record['sha256'][:12]}...) {verb} by "
          f"{record['decided_by']}: {record['note']}")
    print(f"  was: {record['status']} - {record['status_reason']}")
    if decision == fs.TERIMA:
        print(f"  the next run of {record['period']} stages it (dtks run --months {record['period']})")
    return 0


def add_parsers(sub) -> None:
    """`dtks accept` and `dtks reject` (called by cli.build_parser)."""
    for command, decision, text in (
        ("accept", fs.TERIMA, "accept a quarantined file after review: the next run of the month stages it"),
        ("reject", fs.TOLAK, "reject a quarantined file after review: it stays quarantined"),
    ):
        parser = sub.add_parser(command, help=text, description=text + ". The decision is recorded in "
                                f"{fs.FILE_DECISIONS_TABLE} with the file's SHA-256: a re-delivered file is judged afresh.")
        parser.add_argument("--month", required=True, help="the period of the file (YYYY-MM)")
        parser.add_argument("--file", required=True, help="the file as audit.source_files names it (dukcapil_kematian.csv, desa/5108012001.xlsx)")
        parser.add_argument("--note", required=True, help="why (what was reviewed)")
        parser.add_argument("--by", default=None, help="who decides (default: $DTKS_OPERATOR or the login name)")
        parser.add_argument("--warehouse", default=os.environ.get("DTKS_WAREHOUSE", "data/warehouse/dtks.duckdb"),
                            help="warehouse file (env DTKS_WAREHOUSE); the decision goes to its working copy")
        parser.set_defaults(func=lambda args, decision=decision: main(args, decision))
