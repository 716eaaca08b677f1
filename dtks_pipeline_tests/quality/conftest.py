"""A small, valid two-month warehouse (2022-10, 2022-11) of the seven tables the GX suites cover.

NIKs and NOKKs are made up (16 digits, never a real person's); the tests
assert that none of them reaches check metadata unmasked.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from dtks_pipeline.defs.payout.programs import load_programs
from dtks_pipeline.lib import warehouse

PERIODS = ("2022-10", "2022-11")
VILLAGES = ("5108012001", "5108061006")
AMOUNT = 150_000  # BSU_KTM in the packaged programs.yaml


def nik(i: int) -> str:
    return f"51080141{i % 12 + 1:02d}90{i:04d}"


def nokk(k: int) -> str:
    return f"51080101{k % 12 + 1:02d}15{k:04d}"


def month_frames(period: str) -> dict[str, pd.DataFrame]:
    """Ten persons in five families; family 5 is excluded (MAMPU_MOBIL); families 1-3 paid, 4 waits."""
    persons = pd.DataFrame([{
        "period": period, "person_id": f"P{i:08d}", "nik": nik(i), "nama": f"NI MADE CONTOH {i}",
        "jenis_kelamin": "P", "tgl_lahir": dt.date(1990, 1, i), "nokk": nokk((i + 1) // 2),
        "family_id": f"K{(i + 1) // 2:08d}", "hub_kel": 1 if i % 2 else 2, "kode_desa": VILLAGES[i % 2 == 0 and i > 6],
        "status": "MENINGGAL" if i == 8 else "AKTIF", "status_date": dt.date(2022, 9, 1) if i == 8 else None,
        "status_source": "dukcapil_kematian" if i == 8 else "dtks",
    } for i in range(1, 11)])
    families = pd.DataFrame([{
        "period": period, "family_id": f"K{k:08d}", "nokk": nokk(k), "kepala_person_id": f"P{2 * k - 1:08d}",
        "kode_desa": VILLAGES[0], "desil": k, "n_anggota_aktif": 1 if k == 4 else 2,
        "status": "DIKECUALIKAN" if k == 5 else "AKTIF",
    } for k in range(1, 6)])
    exclusions = pd.DataFrame([
        {"period": period, "family_id": "K00000004", "person_id": "P00000008", "reason_code": "MENINGGAL",
         "evidence_source": "dukcapil_kematian", "evidence_file": "dukcapil_kematian.csv", "evidence_row": 2,
         "effective_date": dt.date(2022, 9, 1), "evidence_period": "2022-10"},
        {"period": period, "family_id": "K00000005", "person_id": None, "reason_code": "MAMPU_MOBIL",
         "evidence_source": "samsat_kendaraan", "evidence_file": "samsat_kendaraan.csv", "evidence_row": 5,
         "effective_date": None, "evidence_period": "2022-10"},
    ])
    first = period == PERIODS[0]
    payments = pd.DataFrame([{
        "period": period, "program": "BSU_KTM", "family_id": f"K{k:08d}", "nokk": nokk(k),
        "recipient_person_id": f"P{2 * k - 1:08d}", "recipient_nik": nik(2 * k - 1), "recipient_nama": "NI MADE",
        "kode_desa": VILLAGES[0], "amount_idr": AMOUNT, "rank": k, "entry_reason": "BARU" if first else "LANJUTAN",
    } for k in (1, 2, 3)])
    waiting = pd.DataFrame([{"period": period, "program": "BSU_KTM", "family_id": "K00000004", "nokk": nokk(4),
                             "rank": 4, "position": 1, "paid_program": None}])
    changes = pd.DataFrame([{"period": period, "program": "BSU_KTM", "family_id": f"K{k:08d}", "nokk": nokk(k),
                             "change": "MASUK", "reason_code": "BARU", "detail": None} for k in (1, 2, 3)])
    if not first:
        changes = changes.iloc[:0]
    summary = pd.DataFrame([{"period": period, "program": "BSU_KTM", "kode_kecamatan": VILLAGES[0][:6],
                             "kode_desa": VILLAGES[0], "n_kpm": 3, "amount_idr": 3 * AMOUNT}])
    return {
        "registry.persons": persons, "registry.families": families, "registry.exclusions": exclusions,
        "payout.payments": payments, "payout.waiting_list": waiting, "payout.changes": changes,
        "payout.summary": summary,
    }


def write_month(path: Path, period: str, frames: dict[str, pd.DataFrame]) -> None:
    con = warehouse.connect(path)
    try:
        with warehouse.transaction(con):
            for table, frame in frames.items():
                warehouse.replace_period(con, table, frame, period)
    finally:
        con.close()


@pytest.fixture()
def good_warehouse(tmp_path: Path) -> Path:
    """Path of a DuckDB file holding two valid months."""
    path = tmp_path / "w.duckdb"
    for period in PERIODS:
        write_month(path, period, month_frames(period))
    return path


@pytest.fixture(scope="session")
def programs():
    return load_programs()
