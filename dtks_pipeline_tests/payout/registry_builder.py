"""Tiny handmade registries for the payout tests, written to a real DuckDB file.

A family is given as `fam("01", desil=2)`, a person as `person("01a", "01",
hub_kel=1)`; NIK, NOKK, person_id and family_id are derived from the short
ids so tests read as prose. n_anggota_aktif and families.status follow from
the persons unless given.
"""
from __future__ import annotations

import pandas as pd

from dtks_pipeline.lib.warehouse import replace_period

DESA = "5108012001"


def nokk_of(fid: str) -> str:
    return "510801" + "0" * (10 - len(fid)) + fid


def nik_of(pid: str) -> str:
    return "510801" + str(int.from_bytes(pid.encode(), "big") % 10**10).rjust(10, "0")


def fam(fid: str, desil: int | None, status: str | None = None, kode_desa: str = DESA) -> dict:
    return {"family_id": f"K{fid.rjust(8, '0')}", "nokk": nokk_of(fid), "kode_desa": kode_desa, "desil": desil, "status": status}


def person(pid: str, fid: str, hub_kel: int, born: str = "1980-01-01", status: str = "AKTIF", nik: str | None = None) -> dict:
    return {
        "person_id": f"P{pid.rjust(8, '0')}", "nik": nik or nik_of(pid), "nama": f"ORANG {pid.upper()}",
        "jenis_kelamin": "L", "tgl_lahir": pd.Timestamp(born).date(), "nokk": nokk_of(fid),
        "family_id": f"K{fid.rjust(8, '0')}", "hub_kel": hub_kel, "kode_desa": DESA, "status": status,
        "status_date": None, "status_source": None,
    }


def fid(short: str) -> str:
    return f"K{short.rjust(8, '0')}"


def pid(short: str) -> str:
    return f"P{short.rjust(8, '0')}"


def write_registry(con, period: str, families: list[dict], persons: list[dict],
                   exclusions: list[dict] | None = None, sector: list[tuple[str, str]] | None = None) -> None:
    """Write registry.families/persons/exclusions/person_links of one period.

    `sector` is a list of (source, short person id); exclusions are dicts with
    family_id, person_id (or None), reason_code.
    """
    persons_df = pd.DataFrame(persons)
    persons_df.insert(0, "period", period)
    active = persons_df[persons_df["status"] == "AKTIF"].groupby("family_id").size()
    fam_df = pd.DataFrame(families)
    fam_df.insert(0, "period", period)
    fam_df["n_anggota_aktif"] = fam_df["family_id"].map(active).fillna(0).astype(int)
    heads = persons_df[persons_df["hub_kel"] == 1].drop_duplicates("family_id").set_index("family_id")["person_id"]
    fam_df["kepala_person_id"] = fam_df["family_id"].map(heads)
    fam_df["status"] = [
        s if s else ("AKTIF" if n > 0 else "TIDAK_AKTIF") for s, n in zip(fam_df["status"], fam_df["n_anggota_aktif"])
    ]
    fam_df["desil"] = fam_df["desil"].astype("Int64")
    excl_df = pd.DataFrame(exclusions or [], columns=["family_id", "person_id", "reason_code"])
    excl_df.insert(0, "period", period)
    for col in ("evidence_source", "evidence_file", "evidence_row", "effective_date"):
        excl_df[col] = None
    links = pd.DataFrame(
        [{"period": period, "source": s, "source_period": period, "source_file": f"{s}.csv", "source_row": i + 1,
          "person_id": pid(p), "match_rule": "NIK", "match_score": 1.0} for i, (s, p) in enumerate(sector or [])],
        columns=["period", "source", "source_period", "source_file", "source_row", "person_id", "match_rule", "match_score"],
    )
    con.execute("CREATE SCHEMA IF NOT EXISTS registry")
    con.execute("""CREATE TABLE IF NOT EXISTS registry.exclusions (period VARCHAR, family_id VARCHAR, person_id VARCHAR,
        reason_code VARCHAR, evidence_source VARCHAR, evidence_file VARCHAR, evidence_row BIGINT, effective_date DATE)""")
    con.execute("""CREATE TABLE IF NOT EXISTS registry.person_links (period VARCHAR, source VARCHAR, source_period VARCHAR,
        source_file VARCHAR, source_row BIGINT, person_id VARCHAR, match_rule VARCHAR, match_score DOUBLE)""")
    replace_period(con, "registry.persons", persons_df, period)
    replace_period(con, "registry.families", fam_df, period)
    replace_period(con, "registry.exclusions", excl_df, period)
    replace_period(con, "registry.person_links", links, period)
