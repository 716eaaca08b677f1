"""A small synthetic warehouse with the registry and payout tables of WAREHOUSE.md.

The NIKs/NOKKs are made up (valid-looking 16-digit strings); no test prints them.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from dtks_pipeline.lib import warehouse

HOSTILE_NAME = '=HYPERLINK("http://evil.example/x","klik")'
VILLAGE_A = "5108012001"  # Sumberklampok
VILLAGE_B = "5108061006"  # Banyuasri


def nik(i: int) -> str:
    return f"510801{(i % 28) + 1:02d}0190{i:04d}"


def nokk(i: int) -> str:
    return f"510801{(i % 28) + 1:02d}1015{i:04d}"


def persons_frame(period: str, n: int = 6) -> pd.DataFrame:
    rows = []
    for i in range(1, n + 1):
        rows.append({
            "period": period, "person_id": f"P{i:08d}", "nik": nik(i),
            "nama": HOSTILE_NAME if i == 3 else f"I MADE CONTOH {i}",
            "jenis_kelamin": "L", "tgl_lahir": dt.date(1990, 1, (i % 28) + 1), "nokk": nokk((i + 1) // 2),
            "family_id": f"K{(i + 1) // 2:08d}", "hub_kel": 1 if i % 2 else 2,
            "kode_desa": VILLAGE_A if i <= 4 else VILLAGE_B, "status": "AKTIF",
            "status_date": None, "status_source": "dtks", "alamat": "JL. RAHASIA 1",
        })
    return pd.DataFrame(rows)


def families_frame(period: str) -> pd.DataFrame:
    return pd.DataFrame([
        {"period": period, "family_id": f"K{k:08d}", "nokk": nokk(k), "kepala_person_id": f"P{2 * k - 1:08d}",
         "kode_desa": VILLAGE_A if k <= 2 else VILLAGE_B, "desil": k, "n_anggota_aktif": 2, "status": "AKTIF"}
        for k in (1, 2, 3)
    ])


def payments_frame(period: str, families: list[int]) -> pd.DataFrame:
    return pd.DataFrame([
        {"period": period, "program": "PKH", "family_id": f"K{k:08d}", "nokk": nokk(k),
         "recipient_person_id": f"P{2 * k - 1:08d}", "recipient_nik": nik(2 * k - 1),
         "recipient_nama": HOSTILE_NAME if 2 * k - 1 == 3 else f"I MADE CONTOH {2 * k - 1}",
         "kode_desa": VILLAGE_A if k <= 2 else VILLAGE_B, "amount_idr": 750_000, "rank": k, "entry_reason": "BARU"}
        for k in families
    ])


def write_sample_warehouse(path: Path) -> None:
    """Two months: 2022-10 pays K1 and K3; 2022-11 pays K1 and K2 (K2 MASUK, K3 KELUAR), K3 waits."""
    con = warehouse.connect(path)
    try:
        with warehouse.transaction(con):
            for period in ("2022-10", "2022-11"):
                warehouse.replace_period(con, "registry.persons", persons_frame(period), period)
                warehouse.replace_period(con, "registry.families", families_frame(period), period)
            warehouse.replace_period(con, "registry.exclusions", pd.DataFrame([{
                "period": "2022-11", "family_id": "K00000003", "person_id": "P00000005", "reason_code": "MENINGGAL",
                "evidence_source": "dukcapil_kematian", "evidence_file": "dukcapil_kematian.csv", "evidence_row": 7,
                "effective_date": dt.date(2022, 11, 3)}]), "2022-11")
            warehouse.replace_period(con, "payout.payments", payments_frame("2022-10", [1, 3]), "2022-10")
            warehouse.replace_period(con, "payout.payments", payments_frame("2022-11", [1, 2]), "2022-11")
            warehouse.replace_period(con, "payout.changes", pd.DataFrame([
                {"period": "2022-11", "program": "PKH", "family_id": "K00000002", "nokk": nokk(2), "change": "MASUK", "reason_code": "BARU", "detail": None},
                {"period": "2022-11", "program": "PKH", "family_id": "K00000003", "nokk": nokk(3), "change": "KELUAR", "reason_code": "TIDAK_AKTIF", "detail": "-"},
            ]), "2022-11")
            warehouse.replace_period(con, "payout.waiting_list", pd.DataFrame([
                {"period": "2022-11", "program": "PKH", "family_id": "K00000003", "nokk": nokk(3), "rank": 3, "position": 1},
            ]), "2022-11")
            # Persons 5 and 6 share a NIK in November: their pair is in review, their families held.
            warehouse.replace_period(con, "registry.review_pairs", pd.DataFrame([{
                "period": "2022-11", "pair_id": "RP00000000AA", "key_a": "ART:D3/A5", "key_b": "ART:D3/A6",
                "person_id_a": "P00000005", "person_id_b": "P00000006", "match_probability": 0.4, "match_weight": -0.6,
                "levels": '{"nik": 2, "nama": 0}', "reason": "NIK_GANDA", "decision": None,
                "source_a": "dtks", "source_b": "dtks", "nik_a": nik(5), "nik_b": nik(5),
                "nama_a": "I MADE CONTOH 5", "nama_b": "NI MADE CONTOH 6", "jenis_kelamin_a": "L", "jenis_kelamin_b": "P",
                "tgl_lahir_a": dt.date(1990, 1, 6), "tgl_lahir_b": dt.date(1990, 1, 7), "nokk_a": nokk(3), "nokk_b": nokk(3),
                "kode_desa_a": VILLAGE_B, "kode_desa_b": VILLAGE_B}]), "2022-11")
            warehouse.replace_period(con, "payout.held", pd.DataFrame([{
                "period": "2022-11", "family_id": "K00000003", "nokk": nokk(3), "reason_code": "NIK_GANDA",
                "detail": "NIK shared by AKTIF persons NIK " + nik(5)[:6] + "********" + nik(5)[-2:] + ": P00000005 and P00000006 (K00000003)"}]), "2022-11")
            warehouse.replace_period(con, "payout.summary", pd.DataFrame([
                {"period": "2022-11", "program": "PKH", "kode_kecamatan": "510801", "kode_desa": VILLAGE_A, "n_kpm": 2, "amount_idr": 1_500_000},
            ]), "2022-11")
    finally:
        con.close()


@pytest.fixture()
def sample_paths(tmp_path: Path) -> tuple[Path, Path]:
    """(working path, published path) with the sample warehouse written to the working path."""
    published = tmp_path / "warehouse" / "dtks.duckdb"
    working = published.parent / "work" / published.name
    write_sample_warehouse(working)
    return working, published
