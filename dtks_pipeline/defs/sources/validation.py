"""Repair, validate (pandera) and split one delivered file into staged, rejected and flagged rows.

Each source's columns are declared once (COLUMNS). Repairs that are unambiguous
(NIK apostrophes, code spellings, stray spaces, region-name variants) happen
first; then a pandera schema whose check names ARE the reason codes decides
what is valid. Every failure case becomes a rejection; when a row fails several
checks, the first reason in REASON_ORDER is reported. No Dagster here.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from dtks_pipeline.lib import dates, nik, regions
from dtks_pipeline.defs.sources.reading import RawDelivery

REASON_ORDER = (
    "BARIS_RUSAK",
    "KOLOM_WAJIB_KOSONG",
    "SEL_FORMULA",
    "NIK_RUSAK",
    "NIK_TIDAK_VALID",
    "TANGGAL_TIDAK_VALID",
    "KODE_TIDAK_VALID",
    "WILAYAH_TIDAK_DIKENAL",
    "DESA_TIDAK_SESUAI",
    "TANPA_BERITA_ACARA",
)
REASONS = {
    "BARIS_RUSAK": "the line cannot be split into the header's columns (unclosed quote, too many fields)",
    "KOLOM_WAJIB_KOSONG": "a required field is empty",
    "SEL_FORMULA": "a spreadsheet cell holds a formula (never executed)",
    "NIK_RUSAK": "NIK/NOKK damaged beyond repair (scientific notation, letters, or not 16 digits)",
    "NIK_TIDAK_VALID": "NIK/NOKK is 16 digits but not real (unknown region, impossible date or serial 0000)",
    "TANGGAL_TIDAK_VALID": "date unreadable, before 1900, or after the end of the period",
    "KODE_TIDAK_VALID": "value outside the documented set of codes",
    "WILAYAH_TIDAK_DIKENAL": "region name or code resolves to no known region",
    "DESA_TIDAK_SESUAI": "row's KODE_DESA differs from the village of the file name",
    "TANPA_BERITA_ACARA": "TAMBAH or HAPUS without NO_BA (signed minutes)",
}
FLAGS = {
    "NIK_TIDAK_SESUAI": "valid NIK whose birth date or sex part disagrees with the row's own",
    "DATA_GANDA": "village reports a duplicate (HAPUS DATA_GANDA): recorded, deduplication decides",
    "WILAYAH_DIPERKIRAKAN": "DTKS region name resolved by similarity, not spelled as the reference has it: please review",
    "KARAKTER_NUL": "NUL byte(s) removed from the value (a damaged export): please review",
    "SEL_FORMULA": "a free-text cell held a formula: its text is kept, never evaluated",
}

SEX_CODES = {"1": "L", "2": "P", "L": "L", "P": "P", "LAKI-LAKI": "L", "LAKI LAKI": "L", "PEREMPUAN": "P"}
VEHICLES = {"SEDAN", "MINIBUS", "JEEP", "MPV", "SUV", "PICK UP", "TRUK", "BUS", "SEPEDA MOTOR"}
PASSENGER_CARS = {"SEDAN", "MINIBUS", "JEEP", "MPV", "SUV"}
PRIVATE_PLATES = {"HITAM", "PUTIH"}
PLATES = {"HITAM", "PUTIH", "KUNING", "MERAH"}
VEHICLE_STATUS = {"AKTIF", "BLOKIR"}
FISHER_KINDS = {"NELAYAN TANGKAP", "PEMBUDIDAYA", "PENGOLAH", "PEMASAR"}
USULAN = {"TAMBAH", "HAPUS", "PERBAIKI"}
ALASAN = {
    "TAMBAH": {"MISKIN_BARU", "ANGGOTA_BARU"},
    "HAPUS": {"MENINGGAL", "PINDAH", "MAMPU", "TIDAK_DITEMUKAN", "DATA_GANDA"},
}


@dataclass(frozen=True)
class Col:
    """One staged column: where it comes from, how it is typed, whether it is required."""

    name: str  # staging column
    header: str | None  # delivered column (None: derived)
    kind: str  # text | name | upper | nik | nokk | date | int | code | village | region
    required: bool = False
    codes: dict[str, str] | set[str] | None = None  # allowed values (dict: spelling -> code)
    low: int | None = None
    high: int | None = None
    # free text nothing is decided on: a formula cell there is kept as its text (never evaluated, neutralised
    # when written to a spreadsheet) and flagged, instead of costing the row (SOURCES.md: village files)
    free_text: bool = False


def _c(*args, **kw) -> Col:
    return Col(*args, **kw)


COLUMNS: dict[str, tuple[Col, ...]] = {
    "dtks": (
        _c("id_dtks", "ID_DTKS", "text", True), _c("id_art", "ID_ART", "text", True),
        _c("nokk", "NOKK", "nokk", True), _c("nik", "NIK", "nik", True), _c("nama", "NAMA", "name", True),
        _c("jenis_kelamin", "JNS_KEL", "code", True, SEX_CODES), _c("tmpt_lahir", "TMPT_LHR", "name"),
        _c("tgl_lahir", "TGL_LHR", "date", True), _c("hub_kel", "HUB_KEL", "int", True, low=1, high=8),
        _c("nama_ibu", "NAMA_IBU", "name"), _c("kode_desa", None, "village"), _c("banjar", "BANJAR", "name"),
        _c("alamat", "ALAMAT", "text", free_text=True), _c("pekerjaan", "PEKERJAAN", "name"),
        _c("desil", "DESIL", "int", low=1, high=10), _c("sta_keberadaan", "STA_KEBERADAAN", "int", True, low=1, high=4),
    ),
    "dukcapil_kematian": (
        _c("nik", "NIK", "nik", True), _c("nama", "NAMA", "name", True),
        _c("jenis_kelamin", "JNS_KEL", "code", False, SEX_CODES), _c("tgl_lahir", "TGL_LHR", "date"),
        _c("tgl_meninggal", "TGL_MENINGGAL", "date", True), _c("no_akta", "NO_AKTA", "text", free_text=True),
        _c("kode_desa", "KODE_DESA", "village"),
    ),
    "dukcapil_pindah": (
        _c("nik", "NIK", "nik", True), _c("nokk", "NOKK", "nokk"), _c("nama", "NAMA", "name"),
        _c("tgl_pindah", "TGL_PINDAH", "date", True), _c("kode_desa_asal", "KODE_DESA_ASAL", "village"),
        _c("kode_wilayah_tujuan", "KODE_WILAYAH_TUJUAN", "region", True),
    ),
    "samsat_kendaraan": (
        _c("no_polisi", "NO_POLISI", "upper", True), _c("nik_pemilik", "NIK_PEMILIK", "nik", True),
        _c("nama_pemilik", "NAMA_PEMILIK", "name", True), _c("alamat_pemilik", "ALAMAT_PEMILIK", "text", free_text=True),
        _c("jenis_kendaraan", "JENIS_KENDARAAN", "code", True, VEHICLES),
        _c("warna_tnkb", "WARNA_TNKB", "code", True, PLATES), _c("tahun_buat", "TAHUN_BUAT", "int", low=1900, high=2100),
        _c("status", "STATUS", "code", True, VEHICLE_STATUS),
    ),
    "nelayan": (
        _c("no_kusuka", "NO_KUSUKA", "upper"), _c("nik", "NIK", "nik", True), _c("nama", "NAMA", "name", True),
        _c("tgl_lahir", "TGL_LHR", "date"), _c("kode_desa", "KODE_DESA", "village"),
        _c("jenis_nelayan", "JENIS_NELAYAN", "code", False, FISHER_KINDS),
    ),
    "angkutan": (
        _c("nik", "NIK", "nik", True), _c("nama", "NAMA", "name", True), _c("tgl_lahir", "TGL_LHR", "date"),
        _c("no_sim", "NO_SIM", "upper"), _c("trayek", "TRAYEK", "text", free_text=True), _c("no_polisi", "NO_POLISI", "upper"),
    ),
    "umkm": (
        _c("nik", "NIK", "nik", True), _c("nama", "NAMA", "name", True), _c("tgl_lahir", "TGL_LHR", "date"),
        _c("nama_usaha", "NAMA_USAHA", "text", free_text=True), _c("nib", "NIB", "upper"),
        _c("jenis_usaha", "JENIS_USAHA", "text", free_text=True),
        _c("kode_desa", "KODE_DESA", "village"),
    ),
    "desa": (
        _c("kode_desa", "KODE_DESA", "village", True), _c("nik", "NIK", "nik", True), _c("nokk", "NOKK", "nokk"),
        _c("nama", "NAMA", "name", True), _c("jenis_kelamin", "JNS_KEL", "code", False, SEX_CODES),
        _c("tgl_lahir", "TGL_LHR", "date"), _c("hub_kel", "HUB_KEL", "int", low=1, high=8),
        _c("alamat", "ALAMAT", "text", free_text=True), _c("usulan", "USULAN", "code", True, USULAN),
        _c("alasan", "ALASAN", "code", False, ALASAN["TAMBAH"] | ALASAN["HAPUS"]),
        _c("desil_usulan", "DESIL_USULAN", "int", low=1, high=4), _c("tgl_musdes", "TGL_MUSDES", "date"),
        _c("no_ba", "NO_BA", "text"),
    ),
}


def split_formula_columns(source: str, formula_columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, from the columns that held a formula ('NAMA,ALAMAT'): the first one that costs the row
    (not free text) and those kept as text, each '' when none."""
    free = {c.header for c in COLUMNS[source] if c.free_text}
    blocking = np.full(len(formula_columns), "", dtype=object)
    kept = np.full(len(formula_columns), "", dtype=object)
    for i in np.flatnonzero(formula_columns != ""):
        names = str(formula_columns[i]).split(",")
        blocking[i] = next((n for n in names if n not in free), "")
        kept[i] = ",".join(n for n in names if n in free)
    return blocking, kept


# Final types of the staging tables (also the column schema shown in the UI).
STAGING_TYPES = {"text": "string", "name": "string", "upper": "string", "nik": "string", "nokk": "string",
                 "date": "date", "int": "integer", "code": "string", "village": "string", "region": "string"}
SQL_TYPES = {"string": "VARCHAR", "integer": "INTEGER", "date": "DATE", "boolean": "BOOLEAN"}
DERIVED_COLUMNS = {"dukcapil_pindah": {"pindah_keluar": "boolean"}, "samsat_kendaraan": {"mobil_pribadi": "boolean"}}


@dataclass
class FileResult:
    """What became of every non-blank row of one file."""

    staged: pd.DataFrame
    rejected: pd.DataFrame  # source_row, reason_code, message, raw_record
    flags: pd.DataFrame  # source_row, flag_code, message
    rows_read: int
    blank_rows: int
    reason_counts: dict[str, int] = field(default_factory=dict)


def staging_columns(source: str) -> dict[str, str]:
    """Staging column -> type, in table order (after period, source_file, source_row)."""
    out = {c.name: STAGING_TYPES[c.kind] for c in COLUMNS[source]}
    out.update(DERIVED_COLUMNS.get(source, {}))
    return out


# ---------------------------------------------------------------- repair (unambiguous only)

def _clean_text(values: pd.Series) -> pd.Series:
    """Trim and collapse inner spaces; '' becomes NA."""
    text = values.astype("string[pyarrow]").str.replace(r"\s+", " ", regex=True).str.strip()
    return text.mask(text == "")


def _repair_column(col: Col, raw: pd.DataFrame) -> pd.Series:
    if col.kind == "village" and col.header is None:  # DTKS: names -> code (validate_file resolves them)
        return pd.Series(pd.NA, index=raw.index, dtype="string[pyarrow]")
    text = _clean_text(raw[col.header])
    if col.kind in ("name", "upper"):
        return text.str.upper()
    if col.kind in ("nik", "nokk"):
        repaired, _ = nik.repair(text)
        return repaired.fillna(text)  # unrepairable text stays, and fails NIK_RUSAK
    if col.kind == "code":
        upper = text.str.upper().str.replace(r"[\s_]+", " ", regex=True)
        if isinstance(col.codes, dict):
            return upper.map(col.codes).astype("string[pyarrow]").fillna(upper)
        if col.name in ("usulan", "alasan"):
            return upper.str.replace(" ", "_", regex=False)
        return upper.replace({"PICKUP": "PICK UP", "PICK-UP": "PICK UP"})
    if col.kind == "int":
        return text.str.replace(r"\.0$", "", regex=True)
    if col.kind in ("village", "region"):
        return regions.digits_only(text).mask(text.isna())
    return text


# ---------------------------------------------------------------- the pandera schema

def _check(fn, reason: str, header: str, frame: bool = False) -> pa.Check:
    """A check named by its reason code. pandera reports a failure by its `error`
    text, so the reason and the column travel in it. Column values reach `fn`
    as Arrow strings, whose .str methods are vectorised (object strings are not)."""
    if frame:
        return pa.Check(fn, name=reason, error=f"{reason}|{header}")
    return pa.Check(lambda s: fn(s.astype("string[pyarrow]")).fillna(False).astype(bool), name=reason, error=f"{reason}|{header}")


def _date_ok(period: str, parsed: pd.Series | None = None):
    """parsed: the column already parsed (validate_files parses each date column once)."""
    if parsed is not None:
        return lambda s: dates.valid_for_period(parsed.reindex(s.index), period)
    return lambda s: dates.valid_for_period(dates.parse(s), period)


def _digits_value(s: pd.Series) -> pd.Series:
    """The number a string of digits spells (float: any length fits), NaN for anything else.
    Arrow's cast, not pd.to_numeric, which goes through Python objects."""
    return s.where(s.str.fullmatch(r"\d+").fillna(False).astype(bool)).astype("float64")


def _int_ok(low: int, high: int):
    return lambda s: _digits_value(s).between(low, high)


def _region_ok(s: pd.Series) -> pd.Series:
    villages = s.isin(regions.village_codes())
    outside = (s.str.len() >= 4) & s.str[:4].isin(regions.regencies()) & (s.str[:4] != regions.BULELENG)
    return villages | outside


def build_schema(source: str, period: str, parsed: dict[str, pd.Series] | None = None) -> pa.DataFrameSchema:
    """The pandera schema of prepared files (Arrow strings, NA for empty; for desa, the
    column `_file_village` holds the village code of each row's file name). `parsed`:
    the date columns already parsed, by column name.

    Check names are reason codes. Required fields are frame-level checks rather
    than `nullable=False`, so that every problem of a row is reported, not only
    the first column's.
    """
    columns: dict[str, pa.Column] = {}
    frame_checks: list[pa.Check] = []
    for col in COLUMNS[source]:
        header = col.header or "DESA"
        checks: list[pa.Check] = []
        if col.kind in ("nik", "nokk"):
            sixteen = lambda s: s.str.fullmatch(r"\d{16}").fillna(False).astype(bool)  # noqa: E731
            valid = nik.valid_nik if col.kind == "nik" else nik.valid_nokk
            checks.append(_check(sixteen, "NIK_RUSAK", header))
            checks.append(_check(lambda s, valid=valid, sixteen=sixteen: ~sixteen(s) | valid(s.where(sixteen(s))), "NIK_TIDAK_VALID", header))
        elif col.kind == "date":
            checks.append(_check(_date_ok(period, (parsed or {}).get(col.name)), "TANGGAL_TIDAK_VALID", header))
        elif col.kind == "code":
            allowed = set(col.codes.values()) if isinstance(col.codes, dict) else col.codes
            checks.append(_check(lambda s, allowed=allowed: s.isin(allowed), "KODE_TIDAK_VALID", header))
        elif col.kind == "int":
            checks.append(_check(_int_ok(col.low, col.high), "KODE_TIDAK_VALID", header))
        elif col.kind == "village" and col.header is not None:
            checks.append(_check(lambda s: s.isin(regions.village_codes()), "WILAYAH_TIDAK_DIKENAL", header))
        elif col.kind == "region":
            checks.append(_check(_region_ok, "WILAYAH_TIDAK_DIKENAL", header))
        columns[col.name] = pa.Column(None, checks=checks, nullable=True, required=True)
        if col.required and not (col.kind == "village" and col.header is None):
            frame_checks.append(_check(lambda df, name=col.name: df[name].notna(), "KOLOM_WAJIB_KOSONG", header, frame=True))
    columns["_formula"] = pa.Column(None, _check(lambda s: s == "", "SEL_FORMULA", "cell"))
    columns["_broken"] = pa.Column(None, _check(lambda s: s == "", "BARIS_RUSAK", "line"))

    if source == "dtks":  # DESA is required; a name that resolves to no village is unknown
        frame_checks.append(_check(lambda df: df["_desa_nama"].notna(), "KOLOM_WAJIB_KOSONG", "DESA", frame=True))
        frame_checks.append(_check(lambda df: df["_desa_nama"].isna() | df["kode_desa"].notna(), "WILAYAH_TIDAK_DIKENAL", "DESA", frame=True))
    if source == "desa":
        # Frame checks see NA for empty: a comparison with NA is NA, so each says what it means
        # for an empty value (an empty USULAN is not TAMBAH).
        tambah_hapus = lambda df: df["usulan"].isin(["TAMBAH", "HAPUS"]).fillna(False).astype(bool)  # noqa: E731
        frame_checks += [
            _check(lambda df: ~tambah_hapus(df) | df["alasan"].notna(), "KOLOM_WAJIB_KOSONG", "ALASAN", frame=True),
            _check(lambda df: ~(df["usulan"] == "TAMBAH").fillna(False).astype(bool) | df["nokk"].notna(), "KOLOM_WAJIB_KOSONG", "NOKK", frame=True),
            _check(lambda df: ~tambah_hapus(df) | df["alasan"].isna()
                   | pd.Series([a in ALASAN.get(u, set()) for u, a in zip(df["usulan"], df["alasan"])], index=df.index),
                   "KODE_TIDAK_VALID", "ALASAN", frame=True),
            _check(lambda df: df["kode_desa"].isna() | (df["kode_desa"] == df["_file_village"]).fillna(False).astype(bool), "DESA_TIDAK_SESUAI", "KODE_DESA", frame=True),
            _check(lambda df: ~tambah_hapus(df) | df["no_ba"].notna(), "TANPA_BERITA_ACARA", "NO_BA", frame=True),
        ]
    return pa.DataFrameSchema(columns, checks=frame_checks, strict=False, coerce=False)


# ---------------------------------------------------------------- one file

def _first_reason(failures: pd.DataFrame) -> pd.DataFrame:
    """One (reason, column) per failing row: the earliest reason in REASON_ORDER."""
    cases = failures[failures["index"].notna()].copy()
    parts = cases["check"].astype(str).str.split("|", n=1, expand=True)
    # Anything not raised by our own checks (a dtype error, say) is a schema error of the column.
    known = parts[0].isin(REASON_ORDER)
    cases["reason_code"] = parts[0].where(known, "KODE_TIDAK_VALID")
    cases["header"] = parts[1].where(known, cases["column"]) if parts.shape[1] > 1 else cases["column"]
    cases["rank"] = cases["reason_code"].map({r: i for i, r in enumerate(REASON_ORDER)})
    cases = cases.sort_values(["index", "rank"], kind="stable").drop_duplicates("index")
    return cases[["index", "reason_code", "header"]].reset_index(drop=True)


def _finalize(frame: pd.DataFrame, source: str, parsed: dict[str, pd.Series] | None = None) -> pd.DataFrame:
    """Typed staging columns from validated strings (`parsed`: date columns already parsed)."""
    out = pd.DataFrame(index=frame.index)
    for col in COLUMNS[source]:
        values = frame[col.name]
        if col.kind == "date":
            when = parsed[col.name].reindex(frame.index) if parsed and col.name in parsed else dates.parse(values)
            out[col.name] = when.dt.date
        elif col.kind == "int":
            out[col.name] = _digits_value(values.astype("string[pyarrow]")).astype("Int64")
        else:
            out[col.name] = values.astype("string[pyarrow]")
    if source == "dukcapil_pindah":
        out["pindah_keluar"] = out["kode_wilayah_tujuan"].str[:4] != regions.BULELENG
    if source == "samsat_kendaraan":
        out["mobil_pribadi"] = (
            out["jenis_kendaraan"].isin(PASSENGER_CARS) & out["warna_tnkb"].isin(PRIVATE_PLATES) & (out["status"] == "AKTIF")
        )
    return out


def _flags(staged: pd.DataFrame, source: str, region: pd.DataFrame | None = None,
           nul_columns: pd.Series | None = None, formula_kept: pd.Series | None = None) -> pd.DataFrame:
    parts = []
    if "nik" in staged and "tgl_lahir" in staged:
        sex = staged["jenis_kelamin"] if "jenis_kelamin" in staged else pd.Series(pd.NA, index=staged.index)
        agree = nik.agrees_with_person(staged["nik"], pd.to_datetime(staged["tgl_lahir"]), sex)
        parts.append(pd.DataFrame({"source_row": staged.index[~agree], "flag_code": "NIK_TIDAK_SESUAI",
                                   "message": FLAGS["NIK_TIDAK_SESUAI"]}))
    if source == "desa":
        ganda = (staged["usulan"] == "HAPUS") & (staged["alasan"] == "DATA_GANDA")
        parts.append(pd.DataFrame({"source_row": staged.index[ganda], "flag_code": "DATA_GANDA", "message": FLAGS["DATA_GANDA"]}))
    if region is not None:
        estimated = region["estimated"].reindex(staged.index, fill_value=False)
        rows = staged.index[estimated.to_numpy(bool)]
        parts.append(pd.DataFrame({"source_row": rows, "flag_code": "WILAYAH_DIPERKIRAKAN",
                                   "message": region["message"].reindex(rows).to_numpy(object)}))
    if nul_columns is not None:
        nul = nul_columns.reindex(staged.index, fill_value="")
        rows = staged.index[(nul != "").to_numpy(bool)]
        parts.append(pd.DataFrame({"source_row": rows, "flag_code": "KARAKTER_NUL",
                                   "message": [f"{c}: NUL byte(s) removed" for c in nul.loc[rows]]}))
    if formula_kept is not None:
        kept = formula_kept.reindex(staged.index, fill_value="")
        rows = staged.index[(kept != "").to_numpy(bool)]
        parts.append(pd.DataFrame({"source_row": rows, "flag_code": "SEL_FORMULA",
                                   "message": [f"{c}: {FLAGS['SEL_FORMULA']}" for c in kept.loc[rows]]}))
    if not parts:
        return pd.DataFrame(columns=["source_row", "flag_code", "message"])
    return pd.concat(parts, ignore_index=True)


def _messages(failures: pd.DataFrame, batch: "_Batch", region: pd.DataFrame | None) -> list[str]:
    """One message per rejected row: the column and the reason; for a broken line, its line
    number in its file and what is wrong; for an unknown DTKS region, the candidates."""
    out = []
    for row, reason, header in zip(failures["index"].astype(int), failures["reason_code"], failures["header"]):
        if reason == "BARIS_RUSAK":
            out.append(f"line {batch.header_line[row] + batch.source_row[row]} of the file: {batch.broken[row]}")
        elif reason == "WILAYAH_TIDAK_DIKENAL" and region is not None and region["message"].loc[row]:
            out.append(f"{header}: {region['message'].loc[row]}")
        else:
            out.append(f"{header}: {REASONS[reason]}")
    return out


@dataclass
class _Batch:
    """Several files of one source stacked into one frame (row i of `delivered` is row
    `source_row[i]` of file `file_of[i]`), so that pandera and the repairs pay their fixed
    costs once per source rather than once per file (148 village files a month)."""

    raws: list[RawDelivery]
    delivered: pd.DataFrame  # the files' frames stacked, RangeIndex; a column a file lacks is NA
    file_of: np.ndarray
    source_row: np.ndarray
    header_line: np.ndarray  # per row: the header line of its file
    formula: np.ndarray
    broken: np.ndarray
    nul: pd.Series
    file_village: np.ndarray  # per row: the village code in its file name (desa)

    @classmethod
    def of(cls, raws: list[RawDelivery]) -> "_Batch":
        sizes = [len(r.frame) for r in raws]
        index = pd.RangeIndex(sum(sizes))
        frames = [r.frame.set_axis(pd.RangeIndex(len(r.frame)), axis=0) for r in raws]
        delivered = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        stack = lambda series: np.concatenate([s.to_numpy(object) for s in series]) if series else np.array([], object)  # noqa: E731
        return cls(
            raws=raws,
            delivered=delivered.set_axis(index, axis=0),
            file_of=np.repeat(np.arange(len(raws)), sizes),
            source_row=np.concatenate([r.frame.index.to_numpy("int64") for r in raws]) if raws else np.array([], "int64"),
            header_line=np.repeat([r.header_line for r in raws], sizes),
            formula=stack([r.formula_column for r in raws]),
            broken=stack([r.broken_rows for r in raws]),
            nul=pd.Series(stack([r.nul_columns for r in raws]), index=index, dtype=object),
            file_village=np.repeat([r.source_file.rsplit("/", 1)[-1].split(".")[0] for r in raws], sizes).astype(object),
        )

    def file_slices(self, global_rows: np.ndarray) -> list[np.ndarray]:
        """Positions in `global_rows` (batch row numbers) belonging to each file, in order."""
        owner = self.file_of[global_rows] if len(global_rows) else np.array([], int)
        return [np.flatnonzero(owner == i) for i in range(len(self.raws))]


def validate_file(source: str, raw: RawDelivery, period: str) -> FileResult:
    """Repair, validate and split one file. Every non-blank row is staged or rejected."""
    return validate_files(source, [raw], period)[0]


def validate_files(source: str, raws: list[RawDelivery], period: str) -> list[FileResult]:
    """Repair, validate and split several files of one source in one pass; one FileResult per
    file, exactly as `validate_file` would give for each alone (a row's checks never look at
    another row). Every non-blank row is staged or rejected."""
    if not raws:
        return []
    batch = _Batch.of(raws)
    delivered = batch.delivered
    prepared = pd.DataFrame(index=delivered.index)
    for col in COLUMNS[source]:
        prepared[col.name] = _repair_column(col, delivered)
    formula_blocking, formula_kept = split_formula_columns(source, batch.formula)
    prepared["_formula"] = formula_blocking
    prepared["_broken"] = batch.broken
    region = None
    if source == "dtks":
        region = regions.resolve_village_names_detailed(delivered["KECAMATAN"], delivered["DESA"])
        prepared["kode_desa"] = region["kode"]
        prepared["_desa_nama"] = _clean_text(delivered["DESA"])
    if source == "desa":
        prepared["_file_village"] = batch.file_village
    # Arrow strings, NA for empty: pandera's null handling and the checks' .str methods are
    # vectorised on them (on Python objects each costs a pass in Python per column and check).
    prepared = prepared.astype("string[pyarrow]")
    parsed = {c.name: dates.parse(prepared[c.name]) for c in COLUMNS[source] if c.kind == "date"}

    schema = build_schema(source, period, parsed)
    try:
        schema.validate(prepared, lazy=True)
        failures = pd.DataFrame(columns=["index", "reason_code", "header"])
    except SchemaErrors as errors:
        failures = _first_reason(errors.failure_cases)
    # A formula cell: name the column that held it.
    formula_rows = failures["reason_code"] == "SEL_FORMULA"
    if formula_rows.any():
        failures.loc[formula_rows, "header"] = formula_blocking[failures.loc[formula_rows, "index"].astype(int).to_numpy()]

    failures = failures.sort_values("index", kind="stable").reset_index(drop=True)
    rejected_index = failures["index"].astype(int).to_numpy()
    staged_all = _finalize(prepared.drop(index=rejected_index), source, parsed)
    flags_all = _flags(staged_all, source, region, batch.nul, pd.Series(formula_kept, index=batch.nul.index))
    rejected_all = pd.DataFrame({
        "source_row": batch.source_row[rejected_index],
        "reason_code": failures["reason_code"].to_numpy(),
        "message": _messages(failures, batch, region),
    })
    staged_rows = staged_all.index.to_numpy()
    flag_rows = flags_all["source_row"].to_numpy("int64")

    results = []
    for i, (raw, staged_at, rejected_at, flags_at) in enumerate(zip(
            raws, batch.file_slices(staged_rows), batch.file_slices(rejected_index), batch.file_slices(flag_rows))):
        staged = staged_all.iloc[staged_at]
        staged.index = pd.Index(batch.source_row[staged_rows[staged_at]], name="source_row", dtype="int64")
        rejected = rejected_all.iloc[rejected_at].reset_index(drop=True)
        rejected_rows = rejected["source_row"].to_numpy()
        raw_json = raw.frame.loc[rejected_rows].apply(lambda r: json.dumps(r.to_dict(), ensure_ascii=False), axis=1) \
            if len(rejected_rows) else pd.Series(dtype=object)
        rejected["raw_record"] = raw_json.to_numpy() if len(rejected_rows) else []
        flags = flags_all.iloc[flags_at].reset_index(drop=True)
        flags["source_row"] = batch.source_row[flag_rows[flags_at]]
        results.append(FileResult(
            staged=staged,
            rejected=rejected,
            flags=flags,
            rows_read=len(raw.frame),
            blank_rows=raw.blank_rows,
            reason_counts=rejected["reason_code"].value_counts().to_dict(),
        ))
    return results
