"""Each repair and each rejection reason, on small handmade files."""
import datetime as dt
import json

import pandas as pd
import pytest

from dtks_pipeline.defs.sources.reading import DeliveryError, read_delivery
from dtks_pipeline.defs.sources.specs import SOURCES
from dtks_pipeline.defs.sources.validation import validate_file, validate_files

from .conftest import GOOD_NIK, VILLAGE, desa_row, dtks_row, write_csv, write_xlsx


def run(source, path, source_file, period="2022-10"):
    spec = SOURCES[source]
    return validate_file(source, read_delivery(path, source_file, spec.columns, spec.separators), period)


def reasons(result):
    return dict(zip(result.rejected["source_row"], result.rejected["reason_code"]))


def test_repairs_in_dtks(tmp_path):
    rows = [
        dtks_row(NIK="'" + GOOD_NIK),  # leading apostrophe
        dtks_row(NIK=GOOD_NIK + ".0", NOKK="5108010101150001.0"),  # .0 suffix
        dtks_row(NIK="5108 0145 0480 0001", TGL_LHR="05/04/1980"),  # spaces; DD/MM/YYYY
        dtks_row(NAMA="  ni   made  sari ", TGL_LHR="1980-04-05", JNS_KEL=" 2 "),  # stray spaces, case; ISO date
        dtks_row(KECAMATAN="Gerokgak", DESA="Tinga-tinga"),  # region spelling variants
        dtks_row(DESA="CELUKAN BAWANG"),
    ]
    path = write_csv(tmp_path / "dtks.csv", SOURCES["dtks"].columns, rows, bom=True)
    result = run("dtks", path, "dtks.csv")
    assert result.rejected.empty
    staged = result.staged
    assert staged["nik"].tolist() == [GOOD_NIK] * 6
    assert staged.loc[2, "nokk"] == "5108010101150001"
    assert set(staged["tgl_lahir"]) == {dt.date(1980, 4, 5)}
    assert staged.loc[4, "nama"] == "NI MADE SARI"
    assert staged["kode_desa"].tolist() == [VILLAGE] * 5 + ["5108012013"]
    assert set(staged["jenis_kelamin"]) == {"P"}


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"NIK": "5.10801E+15"}, "NIK_RUSAK"),  # Excel scientific notation: digits lost
        ({"NIK": "510801450480001"}, "NIK_RUSAK"),  # 15 digits
        ({"NIK": "9908014504800001"}, "NIK_TIDAK_VALID"),  # unknown region
        ({"NIK": "5108014504800000"}, "NIK_TIDAK_VALID"),  # serial 0000
        ({"NOKK": "5108013102150001"}, "NIK_TIDAK_VALID"),  # NOKK issued 31-02
        ({"TGL_LHR": "31-02-1980"}, "TANGGAL_TIDAK_VALID"),
        ({"TGL_LHR": "tidak tahu"}, "TANGGAL_TIDAK_VALID"),
        ({"TGL_LHR": "01-11-2022"}, "TANGGAL_TIDAK_VALID"),  # after the end of the period
        ({"JNS_KEL": "3"}, "KODE_TIDAK_VALID"),
        ({"HUB_KEL": "9"}, "KODE_TIDAK_VALID"),
        ({"DESIL": "11"}, "KODE_TIDAK_VALID"),
        ({"STA_KEBERADAAN": "5"}, "KODE_TIDAK_VALID"),
        ({"DESA": "ATLANTIS"}, "WILAYAH_TIDAK_DIKENAL"),
        ({"NAMA": ""}, "KOLOM_WAJIB_KOSONG"),
        ({"NIK": ""}, "KOLOM_WAJIB_KOSONG"),
        ({"DESA": ""}, "KOLOM_WAJIB_KOSONG"),
        ({"NIK": "5.10801E+15", "NAMA": ""}, "KOLOM_WAJIB_KOSONG"),  # several problems: the first reason wins
    ],
)
def test_dtks_rejections(tmp_path, changes, reason):
    path = write_csv(tmp_path / "dtks.csv", SOURCES["dtks"].columns, [dtks_row(), dtks_row(**changes)])
    result = run("dtks", path, "dtks.csv")
    assert reasons(result) == {2: reason}
    assert result.staged.index.tolist() == [1]
    rejected = result.rejected.iloc[0]
    assert json.loads(rejected["raw_record"])["NIK"] == dtks_row(**changes)["NIK"]  # the row as delivered
    assert rejected["message"]


def test_nik_disagreeing_with_birth_date_is_kept_and_flagged(tmp_path):
    path = write_csv(tmp_path / "dtks.csv", SOURCES["dtks"].columns, [dtks_row(TGL_LHR="06-04-1980"), dtks_row(JNS_KEL="1")])
    result = run("dtks", path, "dtks.csv")
    assert len(result.staged) == 2 and result.rejected.empty
    assert result.flags["flag_code"].tolist() == ["NIK_TIDAK_SESUAI", "NIK_TIDAK_SESUAI"]


def test_blank_rows_keep_their_number_and_are_no_record(tmp_path):
    path = write_csv(tmp_path / "dtks.csv", SOURCES["dtks"].columns, [dtks_row(), None, dtks_row(NAMA="")])
    result = run("dtks", path, "dtks.csv")
    assert result.staged.index.tolist() == [1]
    assert reasons(result) == {3: "KOLOM_WAJIB_KOSONG"}
    assert (result.rows_read, result.blank_rows) == (2, 1)


def test_extra_columns_are_kept_in_the_raw_record(tmp_path):
    columns = SOURCES["dtks"].columns + ("KETERANGAN",)
    path = write_csv(tmp_path / "dtks.csv", columns, [dtks_row(NAMA="", KETERANGAN="cek ulang")])
    result = run("dtks", path, "dtks.csv")
    assert json.loads(result.rejected.iloc[0]["raw_record"])["KETERANGAN"] == "cek ulang"


def test_windows_1252_village_csv_with_commas(tmp_path):
    rows = [desa_row(ALAMAT="Gg. Mawar \u2013 Banjar Kaja\u2019s"), desa_row(NIK="5108010504800003", USULAN="HAPUS", ALASAN="MENINGGAL")]
    path = write_csv(tmp_path / "desa" / f"{VILLAGE}.csv", SOURCES["desa"].columns, rows, sep=",", encoding="cp1252")
    result = run("desa", path, f"desa/{VILLAGE}.csv")
    assert result.rejected.empty
    assert result.staged.loc[1, "alamat"] == "Gg. Mawar \u2013 Banjar Kaja\u2019s"
    assert result.staged["usulan"].tolist() == ["TAMBAH", "HAPUS"]


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"KODE_DESA": "5108012013"}, "DESA_TIDAK_SESUAI"),
        ({"NO_BA": ""}, "TANPA_BERITA_ACARA"),
        ({"USULAN": "GANTI"}, "KODE_TIDAK_VALID"),
        ({"USULAN": "HAPUS", "ALASAN": "MISKIN_BARU"}, "KODE_TIDAK_VALID"),
        ({"USULAN": "HAPUS", "ALASAN": ""}, "KOLOM_WAJIB_KOSONG"),
        ({"NOKK": ""}, "KOLOM_WAJIB_KOSONG"),  # a TAMBAH needs the family card
        ({"KODE_DESA": "5108999999"}, "WILAYAH_TIDAK_DIKENAL"),
        ({"DESIL_USULAN": "7"}, "KODE_TIDAK_VALID"),
    ],
)
def test_village_rejections(tmp_path, changes, reason):
    path = write_csv(tmp_path / "desa" / f"{VILLAGE}.csv", SOURCES["desa"].columns, [desa_row(), desa_row(**changes)])
    assert reasons(run("desa", path, f"desa/{VILLAGE}.csv")) == {2: reason}


def test_perbaiki_needs_no_berita_acara(tmp_path):
    row = desa_row(USULAN="PERBAIKI", ALASAN="", NO_BA="", NOKK="", NAMA="I WAYAN BUDIARTA")
    path = write_csv(tmp_path / "desa" / f"{VILLAGE}.csv", SOURCES["desa"].columns, [row])
    result = run("desa", path, f"desa/{VILLAGE}.csv")
    assert result.rejected.empty and result.staged.loc[1, "usulan"] == "PERBAIKI"


def test_xlsx_with_title_rows_formula_cell_real_dates_and_blank_row(tmp_path):
    rows = [
        desa_row(TGL_LHR=dt.datetime(1980, 4, 5), TGL_MUSDES=dt.datetime(2022, 10, 20)),
        None,
        desa_row(NIK="5108010504800003"),
        desa_row(NIK=5108010504800004, NOKK=5108010101150001),  # numbers typed into the sheet
    ]
    path = write_xlsx(tmp_path / "desa" / f"{VILLAGE}.xlsx", SOURCES["desa"].columns, rows, title_rows=2,
                      formulas={(2, "NAMA"): '=HYPERLINK("http://x","I MADE")'})
    result = run("desa", path, f"desa/{VILLAGE}.xlsx")
    assert reasons(result) == {3: "SEL_FORMULA"}
    assert "NAMA" in result.rejected.iloc[0]["message"]
    assert json.loads(result.rejected.iloc[0]["raw_record"])["NAMA"].startswith("=HYPERLINK")  # kept as text
    assert result.staged.index.tolist() == [1, 4]
    assert result.staged.loc[1, "tgl_lahir"] == dt.date(1980, 4, 5)
    assert result.staged.loc[4, "nik"] == "5108010504800004"
    assert result.blank_rows == 1


def test_formula_in_free_text_keeps_the_row_as_text_and_flags_it(tmp_path):
    # a formula in ALAMAT costs nothing the row is used for: staged with the formula's text, never its value,
    # and flagged; a formula beside it in NIK still rejects the row, named by that column
    rows = [desa_row(), desa_row(NIK="5108010504800003"), desa_row(NIK="5108010504800004")]
    path = write_xlsx(tmp_path / "desa" / f"{VILLAGE}.xlsx", SOURCES["desa"].columns, rows,
                      formulas={(0, "ALAMAT"): '=HYPERLINK("http://x","BR. KAJA")', (1, "ALAMAT"): "=1+1",
                                (1, "NIK"): '="5108010504800003"'})
    result = run("desa", path, f"desa/{VILLAGE}.xlsx")
    assert reasons(result) == {2: "SEL_FORMULA"}
    assert result.rejected.iloc[0]["message"].startswith("NIK:")
    assert result.staged.index.tolist() == [1, 3]
    assert result.staged.loc[1, "alamat"].startswith("=HYPERLINK")
    flags = result.flags
    assert flags[flags["flag_code"] == "SEL_FORMULA"]["source_row"].tolist() == [1]
    assert flags.loc[flags["flag_code"] == "SEL_FORMULA", "message"].iloc[0].startswith("ALAMAT:")


def test_samsat_private_car_rule(tmp_path):
    base = {"NO_POLISI": "DK 1 AB", "NIK_PEMILIK": GOOD_NIK, "NAMA_PEMILIK": "NI MADE SARI", "ALAMAT_PEMILIK": "TINGA TINGA",
            "TAHUN_BUAT": "2015", "STATUS": "AKTIF"}
    rows = [
        {**base, "JENIS_KENDARAAN": "SEDAN", "WARNA_TNKB": "HITAM"},
        {**base, "JENIS_KENDARAAN": "MINIBUS", "WARNA_TNKB": "KUNING"},  # an angkot
        {**base, "JENIS_KENDARAAN": "PICK UP", "WARNA_TNKB": "HITAM"},
        {**base, "JENIS_KENDARAAN": "SUV", "WARNA_TNKB": "PUTIH", "STATUS": "BLOKIR"},
        {**base, "JENIS_KENDARAAN": "sepeda motor", "WARNA_TNKB": "hitam"},
        {**base, "JENIS_KENDARAAN": "KAPAL", "WARNA_TNKB": "HITAM"},
    ]
    path = write_csv(tmp_path / "samsat_kendaraan.csv", SOURCES["samsat_kendaraan"].columns, rows)
    result = run("samsat_kendaraan", path, "samsat_kendaraan.csv")
    assert result.staged["mobil_pribadi"].tolist() == [True, False, False, False, False]
    assert reasons(result) == {6: "KODE_TIDAK_VALID"}


def test_moves_inside_and_out_of_buleleng(tmp_path):
    columns = SOURCES["dukcapil_pindah"].columns
    base = {"NIK": GOOD_NIK, "NOKK": "5108010101150001", "NAMA": "NI MADE SARI", "TGL_PINDAH": "10-10-2022", "KODE_DESA_ASAL": "51.08.01.2012"}
    rows = [{**base, "KODE_WILAYAH_TUJUAN": "51.71"}, {**base, "KODE_WILAYAH_TUJUAN": "51.08.06.1006"},
            {**base, "KODE_WILAYAH_TUJUAN": "35.15.02"}, {**base, "KODE_WILAYAH_TUJUAN": "99.99"}]
    result = run("dukcapil_pindah", write_csv(tmp_path / "p.csv", columns, rows), "dukcapil_pindah.csv")
    assert result.staged["kode_wilayah_tujuan"].tolist() == ["5171", "5108061006", "351502"]
    assert result.staged["pindah_keluar"].tolist() == [True, False, True]
    assert reasons(result) == {4: "WILAYAH_TIDAK_DIKENAL"}


@pytest.mark.parametrize("kind", ["missing_column", "wrong_separator", "empty", "missing"])
def test_files_that_fail_as_a_whole_name_file_and_reason(tmp_path, kind):
    columns = SOURCES["nelayan"].columns
    path = tmp_path / "nelayan.csv"
    row = {"NIK": GOOD_NIK, "NAMA": "NI MADE SARI"}
    if kind == "missing_column":
        write_csv(path, [c for c in columns if c != "NAMA"], [row])
    elif kind == "wrong_separator":
        write_csv(path, columns, [row], sep=",")
    elif kind == "empty":
        path.write_bytes(b"")
    with pytest.raises(DeliveryError) as error:
        read_delivery(path, "nelayan.csv", columns, (";",))
    message = str(error.value)
    assert message.startswith("nelayan.csv:")
    expected = {"missing_column": "NAMA", "wrong_separator": "separator", "empty": "empty", "missing": "not delivered"}[kind]
    assert expected in message


def test_village_files_validated_together_as_each_alone(tmp_path):
    """validate_files stacks a source's files into one pandera pass: each file's result must be
    what validating it alone gives (rows numbered in their own file, messages naming their line)."""
    columns = SOURCES["desa"].columns
    other = "5108012013"
    paths = [
        write_xlsx(tmp_path / f"{VILLAGE}.xlsx", columns,
                   [desa_row(), desa_row(NIK="123"), None, desa_row(KODE_DESA=other), desa_row(USULAN="HAPUS", ALASAN="DATA_GANDA")],
                   title_rows=2, formulas={(0, "NAMA"): '=CONCAT("I ","MADE")'}),
        write_csv(tmp_path / f"{other}.csv", columns,
                  [desa_row(KODE_DESA=other, TGL_LHR="31-02-1980"), desa_row(KODE_DESA=other), desa_row(KODE_DESA=other, USULAN="TAMBAH", NO_BA="")]),
    ]
    broken = tmp_path / "5108012014.csv"
    broken.write_text(";".join(columns) + "\n" + ";".join(desa_row(KODE_DESA="5108012014").values()) + "\n"
                      + '5108012014;"' + GOOD_NIK + "\n", encoding="utf-8")
    paths.append(broken)
    raws = [read_delivery(p, f"desa/{p.name}", columns, SOURCES["desa"].separators) for p in paths]
    together = validate_files("desa", raws, "2022-10")
    assert len(together) == len(raws)
    for raw, batched in zip(raws, together):
        alone = validate_file("desa", raw, "2022-10")
        assert len(alone.rejected) and len(alone.staged)  # every file has both kinds of rows
        pd.testing.assert_frame_equal(batched.staged, alone.staged)
        pd.testing.assert_frame_equal(batched.rejected, alone.rejected)
        pd.testing.assert_frame_equal(batched.flags.reset_index(drop=True), alone.flags.reset_index(drop=True), check_dtype=False)
        assert (batched.rows_read, batched.blank_rows, batched.reason_counts) == (alone.rows_read, alone.blank_rows, alone.reason_counts)
    assert reasons(together[0]) == {1: "SEL_FORMULA", 2: "NIK_RUSAK", 4: "DESA_TIDAK_SESUAI"}
    assert together[0].staged.index.tolist() == [5]
    assert "DATA_GANDA" in set(together[0].flags["flag_code"])
    assert reasons(together[1]) == {1: "TANGGAL_TIDAK_VALID", 3: "TANPA_BERITA_ACARA"}
    assert reasons(together[2]) == {2: "BARIS_RUSAK"}
    assert together[2].rejected["message"].iloc[0].startswith("line 3 of the file")
