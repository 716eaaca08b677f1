"""Tests of the sample delivery generator on a small population (real files in tmp_path)."""
from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from dtks_pipeline.sample import damage as D
from dtks_pipeline.sample.generator import generate

MONTHS = ("2022-10", "2022-11", "2022-12")
AGENCY = ["dtks.csv", "dukcapil_kematian.csv", "dukcapil_pindah.csv", "samsat_kendaraan.csv",
          "nelayan.csv", "angkutan.csv", "umkm.csv"]
REF = Path(__file__).resolve().parents[2] / "dtks_pipeline" / "reference"
TRUTH_COLS = {
    "persons.csv": ["true_person_id", "nik", "nokk", "nama", "jenis_kelamin", "tgl_lahir", "hub_kel", "kode_desa"],
    "families.csv": ["nokk", "kode_desa", "desil"],
    "rows.csv": ["period", "source", "source_file", "source_row", "true_person_id", "expected", "reason_code",
                 "damage"],
    "registry.csv": ["period", "true_person_id", "nokk", "kode_desa", "status"],
    "exclusions.csv": ["period", "nokk", "true_person_id", "reason_code"],
    "sector.csv": ["period", "source", "true_person_id"],
}
REASONS = {"KOLOM_WAJIB_KOSONG", "SEL_FORMULA", "NIK_RUSAK", "NIK_TIDAK_VALID", "TANGGAL_TIDAK_VALID",
           "KODE_TIDAK_VALID", "WILAYAH_TIDAK_DIKENAL", "DESA_TIDAK_SESUAI", "TANPA_BERITA_ACARA"}


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    msgs = []
    summary = generate(out, families=400, seed=7, months=MONTHS, progress=msgs.append)
    assert msgs and summary["2022-10"]["dtks.csv"] > 1000
    return out


@pytest.fixture(scope="module")
def rows(sample) -> pd.DataFrame:
    return pd.read_csv(sample / "_truth" / "rows.csv", dtype=str, keep_default_na=False)


def read_delivery(path: Path) -> tuple[list[str], list[dict | None]]:
    """Header and data rows of one delivered file (None for a blank row), as the spec numbers them."""
    if path.suffix == ".xlsx":
        ws = openpyxl.load_workbook(path).active
        values = [list(r) for r in ws.iter_rows(values_only=True)]
        h = next(i for i, r in enumerate(values) if r and r[0] == "KODE_DESA")
        header = [str(c) for c in values[h]]
        body = values[h + 1:]
    else:
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp1252")
        first = text.splitlines()[0]
        sep = ";" if first.count(";") > first.count(",") else ","
        recs = list(csv.reader(io.StringIO(text, newline=""), delimiter=sep))
        header, body = recs[0], recs[1:]
    out = []
    for r in body:
        if not r or all(v is None or str(v).strip() == "" for v in r):
            out.append(None)
        else:
            out.append({c: ("" if v is None else v) for c, v in zip(header, r)})
    return header, out


def all_files(sample: Path):
    for m in MONTHS:
        for f in AGENCY:
            yield m, f
        for p in sorted((sample / m / "desa").iterdir()):
            yield m, f"desa/{p.name}"


def test_deterministic(sample, tmp_path):
    again = tmp_path / "again"
    generate(again, families=400, seed=7, months=MONTHS)
    a = sorted(p.relative_to(sample) for p in sample.rglob("*") if p.is_file())
    b = sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    assert a == b
    for rel in a:
        assert (sample / rel).read_bytes() == (again / rel).read_bytes(), rel


def test_other_seed_differs(sample, tmp_path):
    other = tmp_path / "other"
    generate(other, families=400, seed=8, months=("2022-10",))
    assert (other / "2022-10" / "dtks.csv").read_bytes() != (sample / "2022-10" / "dtks.csv").read_bytes()


def test_every_file_present(sample):
    for m in MONTHS:
        for f in AGENCY:
            assert (sample / m / f).is_file(), (m, f)
        assert list((sample / m / "desa").iterdir()), m
    for f, cols in TRUTH_COLS.items():
        assert pd.read_csv(sample / "_truth" / f, nrows=0).columns.tolist() == cols, f


def test_headers_as_in_sources_md(sample):
    expected = {
        "dtks.csv": "ID_DTKS ID_ART NOKK NIK NAMA JNS_KEL TMPT_LHR TGL_LHR HUB_KEL NAMA_IBU PROVINSI KABUPATEN "
                    "KECAMATAN DESA BANJAR ALAMAT PEKERJAAN DESIL STA_KEBERADAAN",
        "dukcapil_kematian.csv": "NIK NAMA JNS_KEL TGL_LHR TGL_MENINGGAL NO_AKTA KODE_DESA",
        "dukcapil_pindah.csv": "NIK NOKK NAMA TGL_PINDAH KODE_DESA_ASAL KODE_WILAYAH_TUJUAN",
        "samsat_kendaraan.csv": "NO_POLISI NIK_PEMILIK NAMA_PEMILIK ALAMAT_PEMILIK JENIS_KENDARAAN WARNA_TNKB "
                                "TAHUN_BUAT STATUS",
        "nelayan.csv": "NO_KUSUKA NIK NAMA TGL_LHR KODE_DESA JENIS_NELAYAN",
        "angkutan.csv": "NIK NAMA TGL_LHR NO_SIM TRAYEK NO_POLISI",
        "umkm.csv": "NIK NAMA TGL_LHR NAMA_USAHA NIB JENIS_USAHA KODE_DESA",
    }
    desa = "KODE_DESA NIK NOKK NAMA JNS_KEL TGL_LHR HUB_KEL ALAMAT USULAN ALASAN DESIL_USULAN TGL_MUSDES NO_BA".split()
    for m, f in all_files(sample):
        header, _ = read_delivery(sample / m / f)
        if f.startswith("desa/"):
            assert header[: len(desa)] == desa, f
        else:
            assert header == expected[f].split(), f


def test_rows_truth_covers_every_row_once(sample, rows):
    assert not rows.duplicated(["period", "source_file", "source_row"]).any()
    seen = 0
    for m, f in all_files(sample):
        _, body = read_delivery(sample / m / f)
        r = rows[(rows.period == m) & (rows.source_file == f)]
        assert r.source_row.astype(int).tolist() == list(range(1, len(body) + 1)), (m, f)
        blank = [i + 1 for i, x in enumerate(body) if x is None]
        assert r[r.expected == "BLANK"].source_row.astype(int).tolist() == blank, (m, f)
        seen += len(r)
    assert seen == len(rows)
    assert set(rows.expected) == {"STAGED", "REJECTED", "BLANK"}
    assert set(rows.reason_code[rows.expected == "REJECTED"]) <= REASONS
    assert (rows.reason_code[rows.expected != "REJECTED"] == "").all()
    src = rows.source_file.str.replace(r"^desa/.*", "desa", regex=True).str.replace(".csv", "", regex=False)
    assert (src == rows.source).all()


def _valid_regions():
    k = pd.read_csv(REF / "kabupaten_indonesia.csv", dtype=str)
    return set(k.kode[k.tingkat == "kabupaten"].str.replace(".", "", regex=False))


def nik_valid(nik: str, regions: set) -> bool:
    if len(nik) != 16 or not nik.isdigit():
        return False
    if nik[:4] not in regions or nik[12:] == "0000":
        return False
    if nik[:4] == "5108" and not 1 <= int(nik[4:6]) <= 9:
        return False
    dd, mm = int(nik[6:8]), int(nik[8:10])
    dd = dd - 40 if dd > 40 else dd
    try:
        dt.date(2000, mm, dd)  # leap year: 29-02 allowed
    except ValueError:
        return False
    return True


def parse_date(v):
    if isinstance(v, dt.datetime):
        return v.date()
    v = str(v).strip()
    for f in ("%d-%m-%Y", "%d/%m/%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(v, f).date()
        except ValueError:
            pass
    return None


def nik_matches(nik: str, born, sex) -> bool:
    dd, mm, yy = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    female = dd > 40
    if born is not None and ((dd - 40 if female else dd), mm, yy) != (born.day, born.month, born.year % 100):
        return False
    if sex is not None and sex != female:
        return False
    return True


SEX = {"JNS_KEL": {"1": False, "2": True, "L": False, "P": True, "LAKI-LAKI": False, "PEREMPUAN": True}}


def test_niks_valid_and_consistent(sample, rows):
    regions = _valid_regions()
    structural_ok = {"", "WILAYAH_VARIAN", "SPASI_NILAI", "HURUF_CAMPUR", "FORMAT_TANGGAL", "NOKK_FORMAT",
                     "NOKK_APOSTROF", "NOKK_SPASI", "NOKK_TITIK", "NOKK_DESIMAL"} | D.STRUCTURAL_STAGED
    checked = flagged = 0
    for m, f in all_files(sample):
        header, body = read_delivery(sample / m / f)
        nikcol = "NIK_PEMILIK" if "NIK_PEMILIK" in header else "NIK"
        r = rows[(rows.period == m) & (rows.source_file == f)]
        r = r.set_index(r.source_row.astype(int))
        for i, rec in enumerate(body, 1):
            if rec is None:
                continue
            kind = r.damage[i]
            nik = str(rec[nikcol])
            if kind in structural_ok or kind == "FLAG_NIK_TIDAK_SESUAI":
                assert nik_valid(nik, regions), (m, f, i, kind)
                if "TGL_LHR" in rec and rec["TGL_LHR"] != "" and kind not in ("NAMA_SALAH_EJA",):
                    born = parse_date(rec["TGL_LHR"])
                    sex = SEX["JNS_KEL"].get(str(rec.get("JNS_KEL", "")))
                    ok = nik_matches(nik, born, sex)
                    if kind == "FLAG_NIK_TIDAK_SESUAI":
                        assert not ok, (m, f, i)
                        flagged += 1
                    elif not kind.startswith("GANDA_NIK") and kind != "LINK_NIK_SALAH_KETIK":
                        assert ok, (m, f, i, kind, nik, rec["TGL_LHR"])
                checked += 1
            elif kind in ("NIK_WILAYAH_TIDAK_ADA", "NIK_SERIAL_0000", "NIK_TANGGAL_MUSTAHIL"):
                assert len(nik) == 16 and not nik_valid(nik, regions), (m, f, i, kind, nik)
            elif kind in ("NIK_SAINTIFIK", "NIK_15_DIGIT"):
                assert not (len(nik) == 16 and nik.isdigit()), (m, f, i, kind)
            elif kind in ("NIK_APOSTROF", "NIK_SPASI", "NIK_TITIK", "NIK_DESIMAL"):
                fixed = nik.strip().lstrip("'").replace(" ", "").replace(".", "")
                fixed = fixed[:-1] if kind == "NIK_DESIMAL" else fixed  # "....0" -> digits + "0"
                assert nik_valid(fixed, regions), (m, f, i, kind, nik)
    assert checked > 1000 and flagged > 0


def test_every_damage_kind_each_month(rows):
    kinds = (set(D.REPAIRABLE) - {"NOKK_FORMAT"}) | set(D.UNREPAIRABLE)
    for m in MONTHS:
        got = set(rows.damage[rows.period == m])
        got |= {"NOKK_FORMAT"} if any(k.startswith("NOKK_") for k in got) else set()
        assert kinds <= got, (m, kinds - got)
        assert (rows.expected[rows.period == m] == "BLANK").any()
        assert {"GANDA_NIK_SALAH_KETIK", "GANDA_NAMA_VARIAN", "FLAG_DATA_GANDA"} <= got


def test_village_files(sample, rows):
    w = pd.read_csv(REF / "wilayah_buleleng.csv", dtype=str)
    codes = set(w.kode[w.tingkat.isin(["desa", "kelurahan"])].str.replace(".", "", regex=False))
    kinds = set()
    for m in MONTHS:
        files = sorted((sample / m / "desa").iterdir())
        assert any(p.suffix == ".xlsx" for p in files) and any(p.suffix == ".csv" for p in files)
        for p in files:
            assert p.stem in codes and p.suffix in (".xlsx", ".csv"), p
            _, body = read_delivery(p)
            r = rows[(rows.period == m) & (rows.source_file == f"desa/{p.name}")]
            for rec, kind in zip(body, r.damage):
                if rec is None:
                    continue
                code = str(rec["KODE_DESA"]).replace(".", "").strip()
                if kind == "DESA_LAIN":
                    assert code != p.stem and code in codes
                elif kind != "KOLOM_KOSONG":
                    assert code == p.stem, (p, rec)
                kinds.add((rec["USULAN"], rec["ALASAN"]))
    assert {("TAMBAH", "MISKIN_BARU"), ("TAMBAH", "ANGGOTA_BARU"), ("HAPUS", "MAMPU"), ("HAPUS", "TIDAK_DITEMUKAN"),
            ("HAPUS", "DATA_GANDA"), ("PERBAIKI", "")} <= kinds


def test_formula_cells_are_real_formulas(sample, rows):
    hits = rows[rows.damage == "SEL_FORMULA"]
    assert len(hits) >= len(MONTHS)
    for _, h in hits.iterrows():
        ws = openpyxl.load_workbook(sample / h.period / h.source_file).active
        assert any(c.data_type == "f" for row in ws.iter_rows() for c in row)


def test_truth_consistency(sample, rows):
    t = sample / "_truth"
    persons = pd.read_csv(t / "persons.csv", dtype=str, keep_default_na=False)
    assert persons.true_person_id.is_unique and persons.nik.is_unique
    ids = set(persons.true_person_id)
    assert set(rows.true_person_id) - {""} <= ids
    reg = pd.read_csv(t / "registry.csv", dtype=str, keep_default_na=False)
    assert set(reg.status) <= {"AKTIF", "MENINGGAL", "PINDAH"}
    assert set(reg.true_person_id) == ids
    for a, b in zip(MONTHS, MONTHS[1:]):  # a status never reverts
        sa = reg[reg.period == a].set_index("true_person_id").status
        sb = reg[reg.period == b].set_index("true_person_id").status.reindex(sa.index)
        assert ((sa == "AKTIF") | (sa == sb)).all()
    ex = pd.read_csv(t / "exclusions.csv", dtype=str, keep_default_na=False)
    assert set(ex.reason_code) == {"MENINGGAL", "PINDAH", "MAMPU_MOBIL", "MAMPU_DESA", "TIDAK_DITEMUKAN"}
    fam = ex.reason_code.isin(["MAMPU_MOBIL", "MAMPU_DESA", "TIDAK_DITEMUKAN"])
    assert (ex.true_person_id[fam] == "").all() and (ex.true_person_id[~fam] != "").all()
    sec = pd.read_csv(t / "sector.csv", dtype=str, keep_default_na=False)
    assert set(sec.true_person_id) <= ids and set(sec.source) == {"angkutan", "nelayan", "umkm"}
    fams = pd.read_csv(t / "families.csv", dtype=str, keep_default_na=False)
    assert fams.nokk.is_unique and set(persons.nokk) == set(fams.nokk)
