"""A NIK conflict holds the two families concerned and pays the rest (handmade export, in-process Dagster).

The export is one month's dtks.csv written as an agency would deliver it. Two
people who cannot be one person (other name, sex, birth date and family card)
carry the same NIK: the clerk typed the man's NIK on the woman's row. The
month must complete: both families held in payout.held (NIK_GANDA), the pair
in registry.review_pairs, everyone else paid.
"""
from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pytest

from dtks_pipeline import cli

from dtks_pipeline.defs.payout.assets import payout_allocation, payout_summary
from dtks_pipeline.defs.payout.checks import ASSET_CHECKS as PAYOUT_CHECKS
from dtks_pipeline.defs.payout.programs import ProgramsResource
from dtks_pipeline.defs.registry.assets import registry_tables
from dtks_pipeline.defs.registry.checks import ASSET_CHECKS as REGISTRY_CHECKS
from dtks_pipeline.defs.shared import resources_for
from dtks_pipeline.defs.sources.assets import staging_assets, staging_checks
from dtks_pipeline.defs.sources.specs import SOURCES
from dtks_pipeline_tests.sources.conftest import dtks_row, write_csv

PERIOD = "2022-10"
SHARED_NIK = "5108011205700001"   # I MADE SUDARMA, man, born 12-05-1970


def _nokk(n: int) -> str:
    return f"510801010115{n:04d}"


def export_rows() -> list[dict]:
    def row(art, dtks, nokk, nik, nama, jk, lahir, hub):
        return dtks_row(ID_ART=art, ID_DTKS=dtks, NOKK=nokk, NIK=nik, NAMA=nama, JNS_KEL=jk, TGL_LHR=lahir, HUB_KEL=hub)
    return [
        row("A1", "D1", _nokk(1), SHARED_NIK, "I MADE SUDARMA", "1", "12-05-1970", "1"),
        row("A2", "D1", _nokk(1), "5108014708720002", "NI NYOMAN RAI", "2", "07-08-1972", "2"),
        # another family's head carries the man's NIK: the woman's own NIK was mistyped as his
        row("B1", "D2", _nokk(2), SHARED_NIK, "NI KADEK SARI", "2", "03-03-1985", "1"),
        row("C1", "D3", _nokk(3), "5108010101600003", "I WAYAN BUDI", "1", "01-01-1960", "1"),
        row("E1", "D4", _nokk(4), "5108014909900004", "NI LUH AYU", "2", "09-09-1990", "1"),
    ]


def _materialize(src, wh, period):
    resources = {**resources_for(src, wh), "programs": ProgramsResource()}
    return dg.materialize(
        [staging_assets["dtks"], *[c for c in staging_checks if any(k.asset_key.path == ["staging", "dtks"] for k in c.check_keys)],
         registry_tables, *REGISTRY_CHECKS,
         payout_allocation, payout_summary, *PAYOUT_CHECKS],
        partition_key=period, resources=resources, raise_on_error=False,
    )


def _deliver(src, period):
    # Only the DTKS export: the registry reads the other sources as empty when they were never staged.
    write_csv(src / period / "dtks.csv", SOURCES["dtks"].columns, export_rows())


class Month:
    def __init__(self, src, wh, result):
        self.src, self.wh, self.result = src, wh, result

    def query(self, sql, params=()):
        con = duckdb.connect(str(self.wh.parent / "work" / self.wh.name), read_only=True)
        try:
            return con.execute(sql, list(params)).fetchall()
        finally:
            con.close()


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    root = tmp_path_factory.mktemp("held")
    src, wh = root / "src", root / "wh" / "dtks.duckdb"
    _deliver(src, PERIOD)
    return Month(src, wh, _materialize(src, wh, PERIOD))


def _family(month, nokk: str, period: str = PERIOD) -> str:
    return month.query("SELECT family_id FROM registry.families WHERE period = ? AND nokk = ?", [period, nokk])[0][0]


def test_the_month_completes_and_only_the_nik_check_warns(month):
    result = month.result
    assert result.success
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    nik_check = evaluations["nik_unique_among_active"]
    assert not nik_check.passed and nik_check.severity == dg.AssetCheckSeverity.WARN
    assert nik_check.metadata["shared NIKs"].value == 1
    assert nik_check.metadata["held families (NIK_GANDA)"].value == 2
    assert [name for name, e in evaluations.items() if not e.passed] == ["nik_unique_among_active"]
    assert evaluations["held_families_not_paid"].passed


def test_both_families_held_the_rest_paid(month):
    held = month.query("SELECT family_id, nokk, reason_code, detail FROM payout.held WHERE period = ? ORDER BY nokk", [PERIOD])
    assert [(f, n, r) for f, n, r, _ in held] == [
        (_family(month, _nokk(1)), _nokk(1), "NIK_GANDA"), (_family(month, _nokk(2)), _nokk(2), "NIK_GANDA")]
    for *_, detail in held:
        assert SHARED_NIK not in detail and "510801********01" in detail
        assert "SUDARMA" not in detail and "SARI" not in detail
    paid = {r[0] for r in month.query("SELECT nokk FROM payout.payments WHERE period = ?", [PERIOD])}
    assert paid == {_nokk(3), _nokk(4)}
    waiting = {r[0] for r in month.query("SELECT nokk FROM payout.waiting_list WHERE period = ?", [PERIOD])}
    assert not waiting & {_nokk(1), _nokk(2)}


def test_the_conflict_pair_is_in_review_with_both_records(month):
    pairs = month.query("""SELECT key_a, key_b, person_id_a, person_id_b, reason, nama_a, nama_b, decision
                           FROM registry.review_pairs WHERE period = ? AND reason = 'NIK_GANDA'""", [PERIOD])
    assert len(pairs) == 1
    key_a, key_b, pa, pb, _, nama_a, nama_b, decision = pairs[0]
    assert {key_a, key_b} == {"ART:D1/A1", "ART:D2/B1"}
    assert pa != pb and decision is None
    assert {nama_a, nama_b} == {"I MADE SUDARMA", "NI KADEK SARI"}


def test_registry_metadata_counts_held_and_review_and_names_the_dashboards(month):
    result = month.result
    events = {e.asset_key.to_user_string(): e.materialization.metadata for e in result.get_asset_materialization_events()}
    persons = events["registry/persons"]
    assert persons["held families"].value == {"families": 2, "by reason": {"NIK_GANDA": 2}}
    assert persons["review pairs"].value["by reason"]["NIK_GANDA"] == 1
    assert events["payout/held"]["by reason"].value == {"NIK_GANDA": 2}
    dashboards = persons["review dashboards"].value
    assert set(dashboards) == {"comparison viewer", "cluster studio"}, dashboards
    for path in dashboards.values():
        assert Path(path).is_file() and Path(path).parent == month.wh.parent / "review" / PERIOD


@pytest.fixture(scope="module")
def decided(month):
    """Staff decide the NIK_GANDA pair BEDA through `dtks review`, then November is built."""
    pair_id = month.query("SELECT pair_id FROM registry.review_pairs WHERE period = ? AND reason = 'NIK_GANDA'", [PERIOD])[0][0]
    code = cli.main(["review", "decide", "--pair", pair_id, "--decision", "beda", "--by", "Komang (Dinsos)",
                     "--note", "two people; her NIK is mistyped in the export", "--warehouse", str(month.wh)])
    _deliver(month.src, "2022-11")
    return pair_id, code, _materialize(month.src, month.wh, "2022-11")


def test_review_list_shows_the_pair_masked(month, capsys):
    assert cli.main(["review", "list", "--month", PERIOD, "--warehouse", str(month.wh), "--csv"]) == 0
    out = capsys.readouterr().out
    assert "NIK_GANDA" in out and "510801********01" in out
    assert SHARED_NIK not in out and "SUDARMA" not in out and "1970" not in out
    assert cli.main(["review", "decide", "--pair", "RP0000000000", "--decision", "BEDA", "--by", "x",
                     "--warehouse", str(month.wh)]) == 2
    assert cli.main(["review", "decide", "--pair", "RP0000000000", "--decision", "MUNGKIN", "--by", "x",
                     "--warehouse", str(month.wh)]) == 2


def test_review_decide_is_audited(month, decided):
    pair_id, code, _ = decided
    assert code == 0
    rows = month.query("""SELECT decision_id, key_a, key_b, person_id_a, person_id_b, decision, decided_by, decided_at,
                                 note, period, pair_id FROM registry.review_decisions""")
    assert len(rows) == 1
    did, key_a, key_b, pa, pb, decision, by, at, note, period, pid = rows[0]
    assert (key_a, key_b, decision, by, period, pid) == ("ART:D1/A1", "ART:D2/B1", "BEDA", "Komang (Dinsos)", PERIOD, pair_id)
    assert pa and pb and pa != pb and at is not None and "mistyped" in note


def test_a_beda_decision_releases_the_hold_next_month(month, decided):
    result = decided[2]
    assert result.success
    nov = "2022-11"
    persons = month.query("SELECT count(*) FROM registry.persons WHERE period = ? AND nik = ? AND status = 'AKTIF'", [nov, SHARED_NIK])
    assert persons == [(2,)]                       # still two people
    assert month.query("SELECT count(*) FROM payout.held WHERE period = ?", [nov]) == [(0,)]
    paid = {r[0] for r in month.query("SELECT nokk FROM payout.payments WHERE period = ?", [nov])}
    assert paid == {_nokk(1), _nokk(2), _nokk(3), _nokk(4)}
    check = next(e for e in result.get_asset_check_evaluations() if e.check_name == "nik_unique_among_active")
    assert check.severity == dg.AssetCheckSeverity.WARN and check.metadata["NIKs decided BEDA by staff"].value == 1
    assert month.query("SELECT decision FROM registry.review_pairs WHERE period = ? AND reason = 'NIK_GANDA'", [nov]) == [("BEDA",)]
