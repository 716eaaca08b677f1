"""Per-village verification worksheets (one .xlsx per village and month).

The perbekel/lurah checks, before the musyawarah desa, who entered a program
(MASUK), who left it and why (KELUAR) and who waits for a place
(DAFTAR_TUNGGU). Names are shown (the village knows its people); NIK and NOKK
are masked (first 6 + last 2 digits). Two empty columns, VERIFIKASI and
CATATAN_DESA, are for the village's answer.

Every text cell that a spreadsheet could take for a formula (starting with
`=`, `+`, `-`, `@`, tab or carriage return: `lib/formula_text.py`) is written as a literal string
(openpyxl data type "s" plus Excel's quotePrefix style): names come from
files typed by people and must never execute, not even after an edit.

Built from the tables that exist: a sheet whose source table is missing is
written with its header only.
"""
from __future__ import annotations

import re
from argparse import Namespace
from pathlib import Path

import duckdb
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

import dtks_pipeline
from dtks_pipeline.lib.formula_text import looks_like_formula
from dtks_pipeline.lib.masking import mask_id_value
from dtks_pipeline.lib.periods import previous_period

UNKNOWN_VILLAGE = "0000000000"

SHEETS: dict[str, list[str]] = {
    "MASUK": ["PROGRAM", "FAMILY_ID", "NOKK", "NIK_PENERIMA", "NAMA_PENERIMA", "ALASAN", "PERINGKAT", "NOMINAL_IDR"],
    "KELUAR": ["PROGRAM", "FAMILY_ID", "NOKK", "NIK_PENERIMA_LALU", "NAMA_PENERIMA_LALU", "ALASAN", "KETERANGAN"],
    "DAFTAR_TUNGGU": ["PROGRAM", "URUTAN", "FAMILY_ID", "NOKK", "NIK_KEPALA", "NAMA_KEPALA", "DESIL"],
}
ANSWER_COLUMNS = ["VERIFIKASI", "CATATAN_DESA"]


def _columns(con: duckdb.DuckDBPyConnection, qualified: str) -> set[str]:
    schema, name = qualified.split(".")
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
        [schema, name],
    ).fetchall()
    return {r[0] for r in rows}


def _read(con: duckdb.DuckDBPyConnection, qualified: str, wanted: list[str], where: str, params: list) -> pd.DataFrame:
    """Rows of a table with the wanted columns; missing columns (or table) come back as NULL."""
    have = _columns(con, qualified)
    if not have:
        return pd.DataFrame(columns=wanted)
    select = ", ".join(f'"{c}"' if c in have else f'NULL AS "{c}"' for c in wanted)
    return con.execute(f"SELECT {select} FROM {qualified} WHERE {where}", params).df()


def village_names(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """10-digit village code -> name, from ref.wilayah or the packaged reference file."""
    if _columns(con, "ref.wilayah"):
        frame = con.execute("SELECT kode, nama FROM ref.wilayah").df()
    else:
        frame = pd.read_csv(Path(dtks_pipeline.__file__).parent / "reference" / "wilayah_buleleng.csv", dtype=str)
    codes = frame["kode"].astype(str).str.replace(".", "", regex=False)
    return {k: n for k, n in zip(codes, frame["nama"]) if len(k) == 10}


def build_sheets(con: duckdb.DuckDBPyConnection, period: str) -> dict[str, pd.DataFrame]:
    """The three sheets of every village, as frames with a KODE_DESA column."""
    prev = previous_period(period)
    changes = _read(con, "payout.changes", ["program", "family_id", "nokk", "change", "reason_code", "detail"], "period = ?", [period])
    pay = _read(con, "payout.payments", ["program", "family_id", "nokk", "recipient_nik", "recipient_nama", "kode_desa", "amount_idr", "rank"], "period = ?", [period])
    pay_prev = _read(con, "payout.payments", ["program", "family_id", "nokk", "recipient_nik", "recipient_nama", "kode_desa"], "period = ?", [prev])
    fam = _read(con, "registry.families", ["family_id", "nokk", "kepala_person_id", "kode_desa", "desil"], "period = ?", [period])
    persons = _read(con, "registry.persons", ["person_id", "nik", "nama"], "period = ?", [period])
    wait = _read(con, "payout.waiting_list", ["program", "family_id", "nokk", "rank", "position"], "period = ?", [period])
    excl = _read(con, "registry.exclusions", ["family_id", "person_id", "reason_code", "effective_date"], "period = ?", [period])

    fam_village = fam[["family_id", "kode_desa", "nokk"]].rename(columns={"kode_desa": "desa_fam", "nokk": "nokk_fam"})

    # MASUK: entered a program this month; the payment row says who receives what.
    masuk = changes[changes["change"] == "MASUK"].merge(
        pay.drop(columns=["nokk"]), on=["program", "family_id"], how="left"
    ).merge(fam_village, on="family_id", how="left")
    masuk_out = pd.DataFrame({
        "KODE_DESA": masuk["kode_desa"].fillna(masuk["desa_fam"]),
        "PROGRAM": masuk["program"],
        "FAMILY_ID": masuk["family_id"],
        "NOKK": masuk["nokk"].fillna(masuk["nokk_fam"]).map(mask_id_value, na_action="ignore"),
        "NIK_PENERIMA": masuk["recipient_nik"].map(mask_id_value, na_action="ignore"),
        "NAMA_PENERIMA": masuk["recipient_nama"],
        "ALASAN": masuk["reason_code"],
        "PERINGKAT": masuk["rank"],
        "NOMINAL_IDR": masuk["amount_idr"],
    })

    # KELUAR: left a program; last month's payment says who used to receive it.
    reasons = pd.DataFrame(columns=["family_id", "exclusion_detail"])
    if len(excl):
        named = excl.merge(persons[["person_id", "nama"]], on="person_id", how="left")
        named["text"] = named.apply(
            lambda r: " ".join(str(x) for x in (r["reason_code"], r["nama"] if pd.notna(r["nama"]) else None,
                                                f"({r['effective_date']:%Y-%m-%d})" if pd.notna(r["effective_date"]) and hasattr(r["effective_date"], "strftime") else None) if x),
            axis=1,
        )
        reasons = named.groupby("family_id", as_index=False)["text"].agg(lambda s: "; ".join(sorted(set(s)))).rename(columns={"text": "exclusion_detail"})
    keluar = changes[changes["change"] == "KELUAR"].merge(
        pay_prev.drop(columns=["nokk"]), on=["program", "family_id"], how="left"
    ).merge(fam_village, on="family_id", how="left").merge(reasons, on="family_id", how="left")
    keluar_out = pd.DataFrame({
        "KODE_DESA": keluar["kode_desa"].fillna(keluar["desa_fam"]),
        "PROGRAM": keluar["program"],
        "FAMILY_ID": keluar["family_id"],
        "NOKK": keluar["nokk"].fillna(keluar["nokk_fam"]).map(mask_id_value, na_action="ignore"),
        "NIK_PENERIMA_LALU": keluar["recipient_nik"].map(mask_id_value, na_action="ignore"),
        "NAMA_PENERIMA_LALU": keluar["recipient_nama"],
        "ALASAN": keluar["reason_code"],
        "KETERANGAN": keluar["exclusion_detail"].fillna(keluar["detail"]),
    })

    # DAFTAR_TUNGGU: eligible but over quota, in queue order.
    tunggu = wait.merge(fam.rename(columns={"nokk": "nokk_fam"}), on="family_id", how="left").merge(
        persons.rename(columns={"person_id": "kepala_person_id"}), on="kepala_person_id", how="left"
    )
    tunggu_out = pd.DataFrame({
        "KODE_DESA": tunggu["kode_desa"],
        "PROGRAM": tunggu["program"],
        "URUTAN": tunggu["position"].fillna(tunggu["rank"]),
        "FAMILY_ID": tunggu["family_id"],
        "NOKK": tunggu["nokk"].fillna(tunggu["nokk_fam"]).map(mask_id_value, na_action="ignore"),
        "NIK_KEPALA": tunggu["nik"].map(mask_id_value, na_action="ignore"),
        "NAMA_KEPALA": tunggu["nama"],
        "DESIL": tunggu["desil"],
    })

    out = {}
    for name, frame in (("MASUK", masuk_out), ("KELUAR", keluar_out), ("DAFTAR_TUNGGU", tunggu_out)):
        frame = frame.copy()
        frame["KODE_DESA"] = frame["KODE_DESA"].fillna(UNKNOWN_VILLAGE).astype(str)
        sort = [c for c in ("PROGRAM", "PERINGKAT", "URUTAN", "FAMILY_ID") if c in frame.columns]
        out[name] = frame.sort_values(sort, kind="stable").reset_index(drop=True)
    return out


def safe_cell_value(value: object) -> tuple[object, bool]:
    """(value to write, must be literal text). NaN/NA become empty cells."""
    if value is None:
        return None, False
    try:
        if pd.isna(value):
            return None, False
    except (TypeError, ValueError):
        pass
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalar -> Python
        value = value.item()
    if isinstance(value, str):
        return value, looks_like_formula(value)
    return value, False


def _write_sheet(ws, frame: pd.DataFrame, columns: list[str]) -> None:
    header = columns + ANSWER_COLUMNS
    ws.append(header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row_idx, record in enumerate(frame[columns].itertuples(index=False), start=2):
        for col_idx, raw in enumerate(record, start=1):
            value, literal = safe_cell_value(raw)
            if value is None:
                continue
            cell = ws.cell(row=row_idx, column=col_idx)
            cell.value = value
            if isinstance(value, str):
                # Always a string cell, never a formula; quotePrefix keeps it text in Excel on edit.
                cell.data_type = "s"
                if literal:
                    cell.quotePrefix = True
    ws.freeze_panes = "A2"
    for i, name in enumerate(header, start=1):
        values = frame[name].head(200).tolist() if name in frame.columns else []
        width = max([len(name)] + [len(str(v)) for v in values])
        ws.column_dimensions[get_column_letter(i)].width = min(max(width + 2, 10), 50)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").upper() or "DESA"


def write_worksheets(con: duckdb.DuckDBPyConnection, period: str, out_dir: str | Path, every_village: bool = True) -> list[Path]:
    """Write `<out_dir>/<period>/<kode_desa>_<NAMA>.xlsx`; returns the files.

    With `every_village` (default) each of Buleleng's villages gets a workbook,
    empty sheets included, so a perbekel who receives none knows it was lost
    rather than "nothing to check"; otherwise only villages with a row.
    """
    sheets = build_sheets(con, period)
    names = village_names(con)
    villages = set().union(*(set(f["KODE_DESA"]) for f in sheets.values()))
    if every_village:
        villages |= set(names)
    villages = sorted(villages)
    target = Path(out_dir) / period
    target.mkdir(parents=True, exist_ok=True)
    written = []
    by_village = {name: dict(tuple(frame.groupby("KODE_DESA", sort=False))) for name, frame in sheets.items()}
    for kode in villages:
        wb = Workbook()
        wb.remove(wb.active)
        for sheet_name, columns in SHEETS.items():
            frame = by_village[sheet_name].get(kode, sheets[sheet_name].iloc[0:0])
            _write_sheet(wb.create_sheet(sheet_name), frame, columns)
        wb.properties.title = f"Verifikasi DTKS {period} desa {kode}"
        path = target / f"{kode}_{_slug(names.get(kode, 'TIDAK_DIKETAHUI'))}.xlsx"
        wb.save(path)
        written.append(path)
    return written


def main(args: Namespace) -> int:
    """`dtks worksheets --month YYYY-MM [--warehouse FILE] [--out DIR]` (reads the published full file)."""
    published = Path(args.warehouse)
    if not published.exists():
        print(f"dtks worksheets: published warehouse {published} not found (run and publish the month first)")
        return 1
    con = duckdb.connect(str(published), read_only=True)
    try:
        files = write_worksheets(con, args.month, Path(args.out))
    finally:
        con.close()
    print(f"{len(files)} village worksheets for {args.month} written to {Path(args.out) / args.month}")
    return 0
