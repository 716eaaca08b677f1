"""What the monthly report shows, read from a warehouse connection as aggregates.

Each function returns a small DataFrame of counts (never a NIK, a name or a
NOKK) and reads defensively: a table another stage has not built yet (payout.held,
audit.source_files' newer statuses) gives an empty frame, not an error.

Eligible families are those on payout.payments or payout.waiting_list of the
month: the allocation puts every family that meets a paying program's
conditions (with a recipient) on one or the other, so eligible-but-unpaid are
the waiting families no program paid.
"""
from __future__ import annotations

import duckdb
import pandas as pd

from dtks_pipeline.defs.reports.formatting import NO_DESIL
from dtks_pipeline.defs.sources import file_status
from dtks_pipeline.lib.regions import wilayah
from dtks_pipeline.lib.warehouse import table_exists

# Files that did not feed the month: shown in the data-quality trend.
FILE_PROBLEM_STATUSES = (file_status.KARANTINA, file_status.TIDAK_DIKIRIM, file_status.TIDAK_DIGUNAKAN)
HELD_TABLE = "payout.held"


def _names() -> dict[str, str]:
    w = wilayah()
    return dict(zip(w["kode_digits"], w["nama"]))


def _has(con: duckdb.DuckDBPyConnection, *tables: str) -> bool:
    return all(table_exists(con, t) for t in tables)


def months_up_to(con: duckdb.DuckDBPyConnection, period: str) -> list[str]:
    if not _has(con, "registry.families"):
        return []
    rows = con.execute("SELECT DISTINCT period FROM registry.families WHERE period <= ? ORDER BY 1", [period]).fetchall()
    return [r[0] for r in rows]


def program_by_kecamatan(con: duckdb.DuckDBPyConnection, period: str) -> pd.DataFrame:
    """program, kode_kecamatan, kecamatan, kpm, rp (payout.payments of P)."""
    cols = ["program", "kode_kecamatan", "kecamatan", "kpm", "rp"]
    if not _has(con, "payout.payments"):
        return pd.DataFrame(columns=cols)
    out = con.execute(
        """SELECT program, substr(kode_desa, 1, 6) AS kode_kecamatan, count(*) AS kpm, sum(amount_idr)::BIGINT AS rp
           FROM payout.payments WHERE period = ? GROUP BY ALL ORDER BY program, kode_kecamatan""", [period]).df()
    out["kecamatan"] = out["kode_kecamatan"].map(_names()).fillna("(tidak diketahui)")
    return out[cols]


def coverage_by_desil(con: duckdb.DuckDBPyConnection, period: str) -> pd.DataFrame:
    """desil, eligible, paid, unpaid (see module doc)."""
    cols = ["desil", "eligible", "paid", "unpaid"]
    if not _has(con, "payout.payments", "payout.waiting_list", "registry.families"):
        return pd.DataFrame(columns=cols)
    out = con.execute(
        """WITH elig AS (
               SELECT family_id, true AS paid FROM payout.payments WHERE period = $p
               UNION ALL
               SELECT family_id, false FROM payout.waiting_list WHERE period = $p),
           fam AS (SELECT family_id, bool_or(paid) AS paid FROM elig GROUP BY family_id),
           des AS (SELECT family_id, any_value(desil) AS desil FROM registry.families WHERE period = $p GROUP BY family_id)
           SELECT CAST(d.desil AS INTEGER) AS desil, count(*) AS eligible, count(*) FILTER (WHERE f.paid) AS paid
           FROM fam f LEFT JOIN des d USING (family_id) GROUP BY ALL ORDER BY desil NULLS LAST""", {"p": period}).df()
    out["unpaid"] = out["eligible"] - out["paid"]
    out["desil"] = out["desil"].astype("Int64").astype(str).replace({"<NA>": NO_DESIL})
    return out[cols]


def changes_by_reason(con: duckdb.DuckDBPyConnection, period: str) -> pd.DataFrame:
    """program, change (MASUK/KELUAR), reason_code, n (payout.changes of P)."""
    cols = ["program", "change", "reason_code", "n"]
    if not _has(con, "payout.changes"):
        return pd.DataFrame(columns=cols)
    return con.execute(
        """SELECT program, change, reason_code, count(*) AS n FROM payout.changes WHERE period = ?
           GROUP BY ALL ORDER BY change DESC, n DESC, program""", [period]).df()[cols]


def registry_trend(con: duckdb.DuckDBPyConnection, period: str) -> pd.DataFrame:
    """period, measure, n: active persons, active families, persons by status, exclusions by reason, months <= P."""
    frames = []
    if _has(con, "registry.persons"):
        frames.append(con.execute(
            """SELECT period, 'Jiwa ' || lower(status) AS measure, count(*) AS n FROM registry.persons
               WHERE period <= ? GROUP BY ALL""", [period]).df())
    if _has(con, "registry.families"):
        frames.append(con.execute(
            """SELECT period, 'Keluarga aktif' AS measure, count(*) AS n FROM registry.families
               WHERE period <= ? AND status = 'AKTIF' GROUP BY ALL""", [period]).df())
    if _has(con, "registry.exclusions"):
        frames.append(con.execute(
            """SELECT period, 'Dikecualikan: ' || reason_code AS measure,
                      count(DISTINCT coalesce(person_id, family_id)) AS n
               FROM registry.exclusions WHERE period <= ? GROUP BY ALL""", [period]).df())
    if not frames:
        return pd.DataFrame(columns=["period", "measure", "n"])
    return pd.concat(frames, ignore_index=True).sort_values(["measure", "period"]).reset_index(drop=True)


def rejected_trend(con: duckdb.DuckDBPyConnection, period: str) -> pd.DataFrame:
    """period, source, reason_code, n (audit.rejected_rows, months <= P)."""
    cols = ["period", "source", "reason_code", "n"]
    if not _has(con, "audit.rejected_rows"):
        return pd.DataFrame(columns=cols)
    return con.execute(
        """SELECT period, source, reason_code, count(*) AS n FROM audit.rejected_rows WHERE period <= ?
           GROUP BY ALL ORDER BY period, n DESC""", [period]).df()[cols]


def file_problems_trend(con: duckdb.DuckDBPyConnection, period: str) -> pd.DataFrame:
    """period, status, source, n_files: files quarantined, not delivered or not used (months <= P)."""
    cols = ["period", "status", "source", "n_files"]
    if not _has(con, file_status.SOURCE_FILES_TABLE):
        return pd.DataFrame(columns=cols)
    placeholders = ", ".join("?" for _ in FILE_PROBLEM_STATUSES)
    return con.execute(
        f"""SELECT period, status, source, count(*) AS n_files FROM {file_status.SOURCE_FILES_TABLE}
            WHERE period <= ? AND status IN ({placeholders}) GROUP BY ALL ORDER BY period, status, source""",
        [period, *FILE_PROBLEM_STATUSES]).df()[cols]


def held_families(con: duckdb.DuckDBPyConnection, period: str) -> pd.DataFrame | None:
    """reason_code, n_families held for review in P; None when the warehouse has no payout.held."""
    if not _has(con, HELD_TABLE):
        return None
    return con.execute(
        f"SELECT reason_code, count(DISTINCT family_id) AS n_families FROM {HELD_TABLE} WHERE period = ? GROUP BY ALL ORDER BY 2 DESC",
        [period]).df()


def program_totals(con: duckdb.DuckDBPyConnection, period: str) -> pd.DataFrame:
    """program, kpm, rp of P, plus TOTAL."""
    cols = ["program", "kpm", "rp"]
    if not _has(con, "payout.payments"):
        return pd.DataFrame(columns=cols)
    out = con.execute(
        """SELECT program, count(*) AS kpm, sum(amount_idr)::BIGINT AS rp FROM payout.payments WHERE period = ?
           GROUP BY ALL ORDER BY program""", [period]).df()
    total = pd.DataFrame([{"program": "TOTAL", "kpm": int(out["kpm"].sum()), "rp": int(out["rp"].sum())}])
    return pd.concat([out, total], ignore_index=True)[cols]
