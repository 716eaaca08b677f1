"""The payout schema in DuckDB: table definitions, month writes, views, the program table.

No Dagster here, so the CLI, the benchmark and tests use the same functions as
the assets. Every table holds a `period` column and a month is written
delete-then-insert inside one transaction (lib.warehouse.replace_period).
"""
from __future__ import annotations

import duckdb
import pandas as pd

from dtks_pipeline.defs.payout.allocation import Allocation
from dtks_pipeline.lib.periods import previous_period
from dtks_pipeline.defs.payout.programs import Program
from dtks_pipeline.lib.warehouse import replace_period, table_exists, transaction

DDL = {
    "payout.payments": """(
        period VARCHAR, program VARCHAR, family_id VARCHAR, nokk VARCHAR,
        recipient_person_id VARCHAR, recipient_nik VARCHAR, recipient_nama VARCHAR,
        kode_desa VARCHAR, amount_idr BIGINT, rank INTEGER, entry_reason VARCHAR)""",
    "payout.waiting_list": """(
        period VARCHAR, program VARCHAR, family_id VARCHAR, nokk VARCHAR, rank INTEGER,
        position INTEGER, paid_program VARCHAR)""",
    "payout.changes": """(
        period VARCHAR, program VARCHAR, family_id VARCHAR, nokk VARCHAR, change VARCHAR,
        reason_code VARCHAR, detail VARCHAR)""",
    "payout.summary": """(
        period VARCHAR, program VARCHAR, kode_kecamatan VARCHAR, kode_desa VARCHAR,
        n_kpm BIGINT, amount_idr BIGINT)""",
    # One row per allocated month: lets month P+1 tell "P paid nobody" from "P never ran".
    "payout.allocation_runs": """(
        period VARCHAR, programs_file VARCHAR, n_payments BIGINT, amount_idr BIGINT,
        allocated_at TIMESTAMP)""",
}


class PreviousMonthMissing(RuntimeError):
    """Month P was asked for before month P-1 was allocated."""


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS payout")
    for name, columns in DDL.items():
        con.execute(f"CREATE TABLE IF NOT EXISTS {name} {columns}")


def previous_payments(con: duckdb.DuckDBPyConnection, period: str, programs: list[Program], first_month: str) -> pd.DataFrame | None:
    """Last month's payments, or None when no program paid last month.

    Raises PreviousMonthMissing when a program paid in P-1 (and P-1 is within the
    partitioned range) but P-1 was never allocated: incumbency would be wrong.
    """
    prev = previous_period(period)
    if not any(p.pays_in(prev) for p in programs) or prev < first_month:
        return None
    ran = table_exists(con, "payout.allocation_runs") and con.execute(
        "SELECT count(*) FROM payout.allocation_runs WHERE period = ?", [prev]
    ).fetchone()[0]
    if not ran:
        paying = ", ".join(p.code for p in programs if p.pays_in(prev))
        raise PreviousMonthMissing(
            f"payout for {period} needs last month's payments: payout.payments has no allocation for {prev} "
            f"(programs {paying} paid in {prev}). Materialize {prev} first; months are allocated in order "
            f"because families paid last month keep their place (LANJUTAN)."
        )
    return con.execute(
        "SELECT program, family_id, nokk, recipient_person_id FROM payout.payments WHERE period = ?", [prev]
    ).df()


def write_allocation(con: duckdb.DuckDBPyConnection, allocation: Allocation, period: str, programs: list[Program], programs_file: str = "") -> None:
    """Replace period P of payments, waiting_list, changes, allocation_runs in one transaction."""
    ensure_tables(con)
    pay = allocation.payments
    run = pd.DataFrame([{
        "period": period, "programs_file": programs_file, "n_payments": len(pay),
        "amount_idr": int(pay["amount_idr"].sum()) if len(pay) else 0,
        "allocated_at": pd.Timestamp.now(),
    }])
    with transaction(con):
        replace_period(con, "payout.payments", pay, period)
        replace_period(con, "payout.waiting_list", allocation.waiting_list, period)
        replace_period(con, "payout.changes", allocation.changes, period)
        replace_period(con, "payout.allocation_runs", run, period)
        create_program_views(con, programs)


def create_program_views(con: duckdb.DuckDBPyConnection, programs: list[Program]) -> None:
    """`payout.<code lowercase>`: one view per configured program over payout.payments."""
    for p in programs:
        con.execute(f"CREATE OR REPLACE VIEW {p.view_name} AS SELECT * FROM payout.payments WHERE program = '{p.code}'")


def build_summary(con: duckdb.DuckDBPyConnection, period: str) -> pd.DataFrame:
    """KPM and rupiah per program, kecamatan (first 6 digits of kode_desa) and village."""
    return con.execute(
        """SELECT period, program, substr(kode_desa, 1, 6) AS kode_kecamatan, kode_desa,
                  count(*) AS n_kpm, sum(amount_idr)::BIGINT AS amount_idr
           FROM payout.payments WHERE period = ?
           GROUP BY ALL ORDER BY program, kode_desa""",
        [period],
    ).df()


def write_summary(con: duckdb.DuckDBPyConnection, period: str) -> pd.DataFrame:
    ensure_tables(con)
    summary = build_summary(con, period)
    with transaction(con):
        replace_period(con, "payout.summary", summary, period)
        con.execute(
            """CREATE OR REPLACE VIEW payout.budget AS
               SELECT period, program, sum(n_kpm)::BIGINT AS n_kpm, sum(amount_idr)::BIGINT AS amount_idr,
                      sum(sum(amount_idr)) OVER (PARTITION BY program ORDER BY period)::BIGINT AS cumulative_idr
               FROM payout.summary GROUP BY period, program ORDER BY period, program"""
        )
    return summary


def payout_table(con: duckdb.DuckDBPyConnection, periods: list[str] | None = None, programs: list[Program] | None = None) -> pd.DataFrame:
    """The program table of each period: KPM and Rp per program, plus a TOTAL row.

    Programs paying in a period but with no payments appear with 0 KPM; `quota`
    shows what was configured. Periods default to every allocated period.
    """
    if programs is None:
        from dtks_pipeline.defs.payout.programs import load_programs

        programs = load_programs()
    if not table_exists(con, "payout.payments"):
        return pd.DataFrame(columns=["period", "program", "name", "quota", "kpm", "amount_idr"])
    if periods is None:
        periods = [r[0] for r in con.execute("SELECT DISTINCT period FROM payout.payments ORDER BY 1").fetchall()]
    paid = con.execute(
        "SELECT period, program, count(*) AS kpm, sum(amount_idr)::BIGINT AS amount_idr FROM payout.payments GROUP BY ALL"
    ).df()
    got = {(r.period, r.program): (int(r.kpm), int(r.amount_idr)) for r in paid.itertuples()}
    rows = []
    for period in periods:
        total_kpm = total_idr = 0
        for p in sorted(programs, key=lambda p: p.order):
            if not p.pays_in(period) and (period, p.code) not in got:
                continue
            kpm, idr = got.get((period, p.code), (0, 0))
            total_kpm, total_idr = total_kpm + kpm, total_idr + idr
            rows.append({"period": period, "program": p.code, "name": p.name, "quota": p.quota_for(period) if p.pays_in(period) else 0, "kpm": kpm, "amount_idr": idr})
        rows.append({"period": period, "program": "TOTAL", "name": "", "quota": sum(r["quota"] for r in rows if r["period"] == period), "kpm": total_kpm, "amount_idr": total_idr})
    return pd.DataFrame(rows, columns=["period", "program", "name", "quota", "kpm", "amount_idr"])


def format_payout_table(table: pd.DataFrame) -> str:
    """Plain-text rendering of `payout_table` for the CLI (thousands separators, Rp)."""
    lines = [f"{'period':<8} {'program':<14} {'quota':>7} {'KPM':>7} {'Rp':>17}"]
    for r in table.itertuples():
        if r.program == "TOTAL":
            lines.append("-" * len(lines[0]))
        lines.append(f"{r.period:<8} {r.program:<14} {r.quota:>7,} {r.kpm:>7,} {r.amount_idr:>17,}")
        if r.program == "TOTAL":
            lines.append("")
    grand = table[table["program"] == "TOTAL"]
    if len(grand) > 1:
        lines.append(f"{'all':<8} {'TOTAL':<14} {'':>7} {int(grand['kpm'].sum()):>7,} {int(grand['amount_idr'].sum()):>17,}")
    return "\n".join(lines)
