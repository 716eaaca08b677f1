"""Allocation rules (PROGRAMS.md) on tiny handmade registries in a real DuckDB file."""
import duckdb
import pytest

from dtks_pipeline.defs.payout.allocation import allocate, load_registry_month
from dtks_pipeline.defs.payout.programs import parse_programs
from dtks_pipeline.defs.payout.tables import PreviousMonthMissing, previous_payments, write_allocation

from .registry_builder import fam, fid, nik_of, person, pid, write_registry

OCT, NOV, DEC = "2022-10", "2022-11", "2022-12"


def programs(ktm_quota=2, sector_quota=1, months=(OCT, NOV, DEC), quota_by_month=None):
    base = {"amount_idr": 150000, "months": list(months)}
    return parse_programs({"programs": [
        {"code": "BSU_KTM", "name": "KTM", "quota": ktm_quota, "order": 4, "eligibility": {"kind": "desil", "min": 1, "max": 4},
         "quota_by_month": quota_by_month or {}, **base},
        {"code": "BSU_NELAYAN", "name": "Nelayan", "quota": sector_quota, "order": 2, "eligibility": {"kind": "sector", "source": "nelayan"}, **base},
        {"code": "BSU_ANGKUTAN", "name": "Angkutan", "quota": sector_quota, "order": 1, "eligibility": {"kind": "sector", "source": "angkutan"}, **base},
    ]})


@pytest.fixture
def con(tmp_path):
    c = duckdb.connect(str(tmp_path / "wh.duckdb"))
    yield c
    c.close()


def run_month(con, period, progs, **registry):
    write_registry(con, period, **registry)
    prev = previous_payments(con, period, progs, OCT)
    result = allocate(load_registry_month(con, period), progs, prev)
    write_allocation(con, result, period, progs)
    return result


def paid(result, program="BSU_KTM"):
    p = result.payments[result.payments["program"] == program]
    return dict(zip(p["family_id"], p["entry_reason"]))


def families(*specs):
    """specs: (short id, desil, n members); member i of family f is f'{f}m{i}', the first is the head."""
    fams, persons = [], []
    for short, desil, n in specs:
        fams.append(fam(short, desil))
        persons += [person(f"{short}m{i}", short, 1 if i == 0 else 3) for i in range(n)]
    return fams, persons


def test_rank_order_desil_then_size_then_nokk(con):
    fams, persons = families(("1", 3, 2), ("2", 1, 1), ("3", 1, 4), ("4", None, 9), ("5", 1, 4), ("6", 5, 3))
    r = run_month(con, OCT, programs(ktm_quota=3), families=fams, persons=persons)
    assert paid(r) == {fid("3"): "BARU", fid("5"): "BARU", fid("2"): "BARU"}
    w = r.waiting_list[r.waiting_list["program"] == "BSU_KTM"]
    assert list(w["family_id"]) == [fid("1")]  # desil 5 not eligible; no desil not in 1..4
    assert list(r.payments.sort_values("rank")["family_id"]) == [fid("3"), fid("5"), fid("2")]
    assert set(r.changes["reason_code"]) == {"BARU"} and set(r.changes["change"]) == {"MASUK"}


def test_incumbent_keeps_place_over_poorer_newcomer(con):
    fams, persons = families(("1", 3, 2), ("2", 4, 2))
    run_month(con, OCT, programs(ktm_quota=1), families=fams, persons=persons)
    fams2, persons2 = families(("1", 3, 2), ("2", 4, 2), ("9", 1, 5))
    r = run_month(con, NOV, programs(ktm_quota=1), families=fams2, persons=persons2)
    assert paid(r) == {fid("1"): "LANJUTAN"}
    assert list(r.waiting_list["family_id"]) == [fid("9"), fid("2")]
    assert r.changes.empty


def test_vacancy_filled_by_next_in_rank(con):
    fams, persons = families(("1", 1, 2), ("2", 2, 2), ("3", 3, 2), ("4", 3, 1))
    run_month(con, OCT, programs(ktm_quota=2), families=fams, persons=persons)
    excl = [{"family_id": fid("1"), "person_id": None, "reason_code": "MAMPU_MOBIL"}]
    fams[0]["status"] = "DIKECUALIKAN"
    r = run_month(con, NOV, programs(ktm_quota=2), families=fams, persons=persons, exclusions=excl)
    assert paid(r) == {fid("2"): "LANJUTAN", fid("3"): "BARU"}
    ch = {(c.family_id, c.change): c.reason_code for c in r.changes.itertuples()}
    assert ch == {(fid("1"), "KELUAR"): "MAMPU_MOBIL", (fid("3"), "MASUK"): "BARU"}


def test_family_eligible_for_two_programs_gets_the_earlier(con):
    fams, persons = families(("1", 1, 3), ("2", 2, 2), ("3", 7, 2))
    sector = [("nelayan", "1m1"), ("angkutan", "3m0"), ("nelayan", "3m1")]
    r = run_month(con, OCT, programs(ktm_quota=5), families=fams, persons=persons, sector=sector)
    by_family = dict(zip(r.payments["family_id"], r.payments["program"]))
    assert by_family == {fid("1"): "BSU_NELAYAN", fid("3"): "BSU_ANGKUTAN", fid("2"): "BSU_KTM"}
    assert r.payments["family_id"].is_unique
    # the sector program pays the listed person, not the head
    row = r.payments.set_index("family_id").loc[fid("1")]
    assert row["recipient_person_id"] == pid("1m1")


def test_taken_by_earlier_program_is_reported_as_program_lain(con):
    fams, persons = families(("1", 1, 3), ("2", 2, 2))
    run_month(con, OCT, programs(ktm_quota=2), families=fams, persons=persons)
    r = run_month(con, NOV, programs(ktm_quota=2), families=fams, persons=persons, sector=[("angkutan", "1m2")])
    assert dict(zip(r.payments["family_id"], r.payments["program"])) == {fid("1"): "BSU_ANGKUTAN", fid("2"): "BSU_KTM"}
    k = r.changes[(r.changes["program"] == "BSU_KTM")].iloc[0]
    assert (k["change"], k["reason_code"], k["detail"]) == ("KELUAR", "PROGRAM_LAIN", "BSU_ANGKUTAN")


def test_dead_head_passes_payment_to_spouse(con):
    persons = [person("h", "1", 1), person("s1", "1", 2, nik="5108010000000009"),
               person("s2", "1", 2, nik="5108010000000005"), person("c", "1", 4, born="2000-01-01")]
    run_month(con, OCT, programs(), families=[fam("1", 2)], persons=persons)
    persons[0] = person("h", "1", 1, status="MENINGGAL")
    excl = [{"family_id": fid("1"), "person_id": pid("h"), "reason_code": "MENINGGAL"}]
    r = run_month(con, NOV, programs(), families=[fam("1", 2)], persons=persons, exclusions=excl)
    row = r.payments.iloc[0]
    assert (row["entry_reason"], row["recipient_person_id"], row["recipient_nik"]) == ("LANJUTAN", pid("s2"), "5108010000000005")


def test_no_head_or_spouse_pays_oldest_member_aged_17_at_month_end(con):
    persons = [person("a", "1", 4, born="2005-10-31"), person("b", "1", 4, born="2005-11-01"),
               person("h", "1", 1, status="PINDAH")]
    r = run_month(con, OCT, programs(), families=[fam("1", 2)], persons=persons)
    assert r.payments.iloc[0]["recipient_person_id"] == pid("a")  # b is 17 only in November
    persons2 = [person("x", "2", 4, born="2010-01-01")]  # nobody can receive
    r2 = run_month(con, DEC, programs(months=(DEC,)), families=[fam("2", 1)], persons=persons2)
    assert r2.payments.empty


def test_quota_lowered_below_incumbents_best_ranked_keep(con):
    fams, persons = families(("1", 2, 2), ("2", 1, 2), ("3", 3, 2), ("4", 1, 1))
    progs = programs(ktm_quota=3, quota_by_month={NOV: 2})
    run_month(con, OCT, progs, families=fams, persons=persons)  # pays 2, 4, 1 -- 3 waits
    r = run_month(con, NOV, progs, families=fams, persons=persons)
    assert paid(r) == {fid("2"): "LANJUTAN", fid("4"): "LANJUTAN"}
    k = r.changes.iloc[0]
    assert (k["family_id"], k["change"], k["reason_code"]) == (fid("1"), "KELUAR", "TURUN_PERINGKAT")
    assert list(r.waiting_list["family_id"]) == [fid("1"), fid("3")]


def test_sector_recipient_lowest_nik_and_delisted_family_leaves(con):
    persons = [person("h", "1", 1, nik="5108010000000001"), person("a", "1", 3, nik="5108010000000030"),
               person("b", "1", 3, nik="5108010000000020")]
    sector = [("nelayan", "a"), ("nelayan", "b")]
    r = run_month(con, OCT, programs(), families=[fam("1", 8)], persons=persons, sector=sector)
    assert r.payments.iloc[0][["program", "recipient_person_id"]].tolist() == ["BSU_NELAYAN", pid("b")]
    r2 = run_month(con, NOV, programs(), families=[fam("1", 8)], persons=persons, sector=[])
    assert r2.payments.empty
    assert r2.changes.iloc[0]["reason_code"] == "TIDAK_TERDAFTAR_SEKTOR"


def test_months_outside_program_pay_nothing(con):
    fams, persons = families(("1", 2, 2))
    progs = programs(months=(OCT,))
    run_month(con, OCT, progs, families=fams, persons=persons)
    r = run_month(con, NOV, progs, families=fams, persons=persons)
    assert r.payments.empty and r.waiting_list.empty
    assert r.changes["reason_code"].tolist() == ["PROGRAM_SELESAI"]


def test_previous_month_missing_raises(con):
    fams, persons = families(("1", 2, 2))
    write_registry(con, NOV, families=fams, persons=persons)
    with pytest.raises(PreviousMonthMissing, match="Materialize 2022-10 first"):
        previous_payments(con, NOV, programs(), OCT)
    assert nik_of("1m0") != nik_of("1m1")
