"""The registry assets on a handmade three-month staging set (real DuckDB file, in-process Dagster)."""
from __future__ import annotations

import dagster as dg
import pytest

from dtks_pipeline.defs.registry.assets import registry_tables
from dtks_pipeline.defs.registry.checks import (
    ASSET_CHECKS,
    active_person_in_one_family,
    exclusions_have_evidence,
    links_cover_staged_rows,
    nik_unique_among_active,
)
from dtks_pipeline.defs.shared import WarehouseResource
from dtks_pipeline_tests.registry.staging_fixture import DESA_A, DESA_B, DESA_C, dtks_row, nik, nokk, write_staging

NIK_A = nik("01", "1970-05-12", "L", 1)          # I MADE SUDARMA (1970)
NIK_A_TYPO = NIK_A[:-1] + "7"                     # the same man, one digit mistyped
NIK_D = nik("01", "1960-01-01", "L", 2)           # dies in October
NIK_F = nik("06", "1980-07-07", "L", 3)           # another I MADE SUDARMA
NIK_G = nik("01", "1982-04-04", "L", 4)           # angkot owner
NIK_H = nik("01", "1985-08-08", "L", 5)           # private car owner
NIK_J = nik("01", "1990-09-09", "P", 6)           # moves inside Buleleng
NIK_K = nik("01", "2022-11-20", "P", 7)           # born in November, appears in December
NIK_B = nik("01", "1975-03-03", "P", 8)           # name corrected by the village in November
NIK_E = nik("01", "1962-02-02", "P", 9)           # her December DTKS row is missing


def _dtks(with_baby: bool = False) -> list[dict]:
    rows = [
        dtks_row("A1", "H1", nokk(1), NIK_A, "I MADE SUDARMA", "L", "1970-05-12", 1),
        dtks_row("B1", "H1", nokk(1), nik("01", "1975-03-03", "P", 8), "NI KETUT SARI", "P", "1975-03-03", 2),
        dtks_row("D1", "H2", nokk(2), NIK_D, "I WAYAN BUDI", "L", "1960-01-01", 1),
        dtks_row("E1", "H2", nokk(2), nik("01", "1962-02-02", "P", 9), "NI NYOMAN RAI", "P", "1962-02-02", 2),
        dtks_row("C1", "H9", nokk(1), NIK_A_TYPO, "I MD. SUDARMA", "L", "1970-05-12", 7),
        dtks_row("F1", "H3", nokk(3), NIK_F, "I MADE SUDARMA", "L", "1980-07-07", 1),
        dtks_row("G1", "H3", nokk(3), NIK_G, "I KOMANG ARTA", "L", "1982-04-04", 3),
        dtks_row("H1", "H4", nokk(4), NIK_H, "I KADEK ADI", "L", "1985-08-08", 1, kode_desa=DESA_B),
        dtks_row("J1", "H5", nokk(5), NIK_J, "NI LUH AYU", "P", "1990-09-09", 1),
    ]
    if with_baby:
        rows.append(dtks_row("K1", "H5", nokk(5), NIK_K, "NI PUTU BAYI", "P", "2022-11-20", 3, sta=4))
    return rows


SAMSAT = [
    dict(no_polisi="DK 1234 AB", nik_pemilik=NIK_G, nama_pemilik="I KOMANG ARTA", alamat_pemilik="JL. RAYA 1",
         jenis_kendaraan="MINIBUS", warna_tnkb="KUNING", status="AKTIF", mobil_pribadi=False),
    dict(no_polisi="DK 99 XY", nik_pemilik=NIK_H, nama_pemilik="I KADEK ADI", alamat_pemilik="JL. RAYA 1",
         jenis_kendaraan="SEDAN", warna_tnkb="HITAM", status="AKTIF", mobil_pribadi=True),
    dict(no_polisi="DK 5 ZZ", nik_pemilik=nik("01", "1950-06-06", "L", 99), nama_pemilik="I GEDE KAYA",
         alamat_pemilik="JL. LAIN", jenis_kendaraan="SUV", warna_tnkb="PUTIH", status="AKTIF", mobil_pribadi=True),
]


def _stage_all(con) -> None:
    write_staging(con, "dtks", "2022-10", _dtks())
    write_staging(con, "samsat_kendaraan", "2022-10", SAMSAT)
    write_staging(con, "dukcapil_kematian", "2022-10", [
        dict(nik=NIK_D, nama="I WAYAN BUDI", jenis_kelamin="L", tgl_lahir="1960-01-01", tgl_meninggal="2022-10-15",
             no_akta="AKTA-1", kode_desa=DESA_A),
    ])
    write_staging(con, "dukcapil_pindah", "2022-11", [
        dict(nik=NIK_J, nokk=nokk(5), nama="NI LUH AYU", tgl_pindah="2022-11-10", kode_desa_asal=DESA_A,
             kode_wilayah_tujuan=DESA_C, pindah_keluar=False),
    ])
    write_staging(con, "desa", "2022-11", [
        # TAMBAH of a man already in DTKS: links to him, no new person
        dict(kode_desa=DESA_A, nik=NIK_A, nokk=nokk(1), nama="I MADE SUDARMA", jenis_kelamin="L",
             tgl_lahir="1970-05-12", hub_kel=1, usulan="TAMBAH", alasan="ANGGOTA_BARU", no_ba="BA-1",
             tgl_musdes="2022-11-05", source_file=f"desa/{DESA_A}.csv"),
        # PERBAIKI of B's name: replaces the name, keeps the person_id
        dict(kode_desa=DESA_A, nik=NIK_B, nokk=nokk(1), nama="NI KETUT SARIASIH", jenis_kelamin="P",
             tgl_lahir="1975-03-03", usulan="PERBAIKI", source_file=f"desa/{DESA_A}.csv"),
    ])
    dec = [r for r in _dtks(with_baby=True) if r["id_art"] != "E1"]   # E's December row was lost at ingestion
    write_staging(con, "dtks", "2022-12", dec)


def _materialize(resource: WarehouseResource, period: str, raise_on_error: bool = True):
    return dg.materialize(
        [registry_tables, *ASSET_CHECKS], partition_key=period, resources={"warehouse": resource},
        raise_on_error=raise_on_error,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    resource = WarehouseResource(path=str(tmp_path_factory.mktemp("reg") / "w.duckdb"))
    con = resource.connect()
    _stage_all(con)
    con.close()
    results = {p: _materialize(resource, p) for p in ("2022-10", "2022-11", "2022-12")}
    return resource, results


@pytest.fixture
def con(built):
    connection = built[0].connect(read_only=True)
    yield connection
    connection.close()


def _person(con, period: str, nik_: str) -> dict:
    df = con.execute("SELECT * FROM registry.persons WHERE period = ? AND nik = ?", [period, nik_]).df()
    assert len(df) == 1, f"expected one person with that NIK in {period}, got {len(df)}"
    return df.iloc[0].to_dict()


def _link(con, period: str, source: str, row: int, source_period: str) -> str | None:
    return con.execute(
        "SELECT person_id FROM registry.person_links WHERE period = ? AND source = ? AND source_row = ? AND source_period = ?",
        [period, source, row, source_period]).fetchone()[0]


def test_all_checks_pass(built, con):
    results = built[1]
    for period, result in results.items():
        assert result.success
        evaluations = result.get_asset_check_evaluations()
        assert len(evaluations) == 4
        assert all(e.passed for e in evaluations), period
    for fn in (nik_unique_among_active, active_person_in_one_family, exclusions_have_evidence, links_cover_staged_rows):
        assert fn(con, "2022-12")[0]


def test_death_in_october_counts_in_december(con):
    for period in ("2022-10", "2022-11", "2022-12"):
        d = _person(con, period, NIK_D)
        assert d["status"] == "MENINGGAL"
        assert d["status_source"] == "dukcapil_kematian"
        assert str(d["status_date"])[:10] == "2022-10-15"
    ex = con.execute("""SELECT evidence_source, evidence_period, evidence_file, evidence_row FROM registry.exclusions
                        WHERE period = '2022-12' AND reason_code = 'MENINGGAL'""").fetchall()
    assert ex == [("dukcapil_kematian", "2022-10", "dukcapil_kematian.csv", 1)]
    # the death row is linked in the month that delivered it, and only there: (period, file, row) is its identity
    assert _link(con, "2022-10", "dukcapil_kematian", 1, "2022-10") == _person(con, "2022-10", NIK_D)["person_id"]
    later = con.execute("""SELECT count(*) FROM registry.person_links WHERE period > '2022-10'
                           AND source = 'dukcapil_kematian' AND source_period = '2022-10'""").fetchone()[0]
    assert later == 0


def test_move_inside_buleleng_changes_village_only(con):
    assert _person(con, "2022-10", NIK_J)["kode_desa"] == DESA_A
    for period in ("2022-11", "2022-12"):
        j = _person(con, period, NIK_J)
        assert j["kode_desa"] == DESA_C
        assert j["status"] == "AKTIF"


def test_angkot_owner_not_excluded_but_private_car_is(con):
    fam = con.execute("SELECT nokk, status FROM registry.families WHERE period = '2022-12'").fetchall()
    status = dict(fam)
    assert status[nokk(3)] == "AKTIF"          # angkot KUNING MINIBUS
    assert status[nokk(4)] == "DIKECUALIKAN"   # HITAM SEDAN
    ex = con.execute("""SELECT f.nokk, e.evidence_row FROM registry.exclusions e JOIN registry.families f
                        ON f.period = e.period AND f.family_id = e.family_id
                        WHERE e.period = '2022-12' AND e.reason_code = 'MAMPU_MOBIL'""").fetchall()
    assert ex == [(nokk(4), 2)]
    # the car owner outside DTKS is reported, not linked
    assert con.execute("""SELECT person_id, match_rule FROM registry.person_links WHERE period = '2022-12'
                          AND source = 'samsat_kendaraan' AND source_row = 3""").fetchone() == (None, "TIDAK_DITEMUKAN")


def test_one_digit_nik_typo_duplicate_collapses(con):
    a = _link(con, "2022-10", "dtks", 1, "2022-10")
    c = _link(con, "2022-10", "dtks", 5, "2022-10")
    assert a is not None and a == c
    assert con.execute("SELECT count(*) FROM registry.persons WHERE period = '2022-10' AND nik = ?", [NIK_A_TYPO]).fetchone()[0] == 0
    rule = con.execute("""SELECT match_rule FROM registry.person_links WHERE period = '2022-10' AND source = 'dtks'
                          AND source_row = 5""").fetchone()[0]
    assert rule == "GANDA_NIK_SATU_DIGIT"


def test_same_common_name_different_people_stay_apart(con):
    a = _person(con, "2022-10", NIK_A)
    f = _person(con, "2022-10", NIK_F)
    assert a["nama"] == f["nama"] == "I MADE SUDARMA"
    assert a["person_id"] != f["person_id"]
    assert con.execute("SELECT count(*) FROM registry.persons WHERE period = '2022-10'").fetchone()[0] == 8


def test_person_and_family_ids_stable_across_months_and_reruns(built):
    resource = built[0]
    con = resource.connect(read_only=True)
    def ids(period):
        return dict(con.execute("SELECT nik, person_id FROM registry.persons WHERE period = ?", [period]).fetchall())
    def fids(period):
        return dict(con.execute("SELECT nokk, family_id FROM registry.families WHERE period = ?", [period]).fetchall())
    oct_, dec = ids("2022-10"), ids("2022-12")
    assert all(dec[k] == v for k, v in oct_.items())
    assert NIK_K in dec and dec[NIK_K] not in oct_.values()
    assert all(v.startswith("P") and len(v) == 9 for v in dec.values())
    assert fids("2022-10") == fids("2022-12")
    con.close()
    _materialize(resource, "2022-10")   # rerun of a month
    con = resource.connect(read_only=True)
    assert dict(con.execute("SELECT nik, person_id FROM registry.persons WHERE period = '2022-10'").fetchall()) == oct_
    con.close()


def test_month_out_of_order_fails(tmp_path):
    resource = WarehouseResource(path=str(tmp_path / "w.duckdb"))
    con = resource.connect()
    _stage_all(con)
    con.close()
    result = _materialize(resource, "2022-12", raise_on_error=False)
    assert not result.success
    failure = [e for e in result.all_events if e.is_step_failure][0]
    assert "2022-11" in str(failure.step_failure_data.error) and "in order" in str(failure.step_failure_data.error)


def test_village_tambah_perbaiki_and_lost_rows(con):
    a_oct = _person(con, "2022-10", NIK_A)["person_id"]
    tambah = con.execute("""SELECT person_id, match_rule FROM registry.person_links WHERE period = '2022-11'
                            AND source = 'desa' AND source_row = 1""").fetchone()
    assert tambah[0] == a_oct and tambah[1].startswith("TAMBAH_TERDAFTAR")
    assert con.execute("SELECT count(*) FROM registry.persons WHERE period = '2022-11'").fetchone()[0] == 8
    b_oct, b_nov = _person(con, "2022-10", NIK_B), _person(con, "2022-11", NIK_B)
    assert b_oct["nama"] == "NI KETUT SARI" and b_nov["nama"] == "NI KETUT SARIASIH"
    assert b_oct["person_id"] == b_nov["person_id"]
    # a person whose December row is missing stays, with the same id
    assert _person(con, "2022-12", NIK_E)["person_id"] == _person(con, "2022-11", NIK_E)["person_id"]
