"""The payout assets and checks run in process through Dagster on a DuckDB file in tmp_path."""
import dagster as dg
import duckdb
import pytest
import yaml

from dtks_pipeline.defs.payout.assets import PAYMENTS, payout_allocation, payout_summary
from dtks_pipeline.lib.masking import mask_id_value
from dtks_pipeline.defs.payout.checks import ASSET_CHECKS
from dtks_pipeline.defs.payout.definitions import defs as payout_defs
from dtks_pipeline.defs.payout.programs import ProgramsResource, load_programs
from dtks_pipeline.defs.payout.tables import format_payout_table, payout_table
from dtks_pipeline.defs.shared import resources_for

from .registry_builder import fam, fid, person, write_registry

OCT, NOV = "2022-10", "2022-11"
ASSETS = [payout_allocation, payout_summary, *ASSET_CHECKS]


def config(tmp_path, programs, name="programs.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"programs": programs}))
    return path


SMALL = [
    {"code": "BSU_NELAYAN", "name": "Nelayan", "amount_idr": 150000, "months": {"from": OCT, "to": "2022-12"},
     "quota": 1, "order": 1, "eligibility": {"kind": "sector", "source": "nelayan"}},
    {"code": "BSU_KTM", "name": "KTM", "amount_idr": 150000, "months": {"from": OCT, "to": "2022-12"},
     "quota": 2, "order": 2, "eligibility": {"kind": "desil", "min": 1, "max": 4}},
]


def registry(n_families=4):
    fams = [fam(str(i), desil=1 + i % 3) for i in range(1, n_families + 1)]
    persons = [person(f"{i}h", str(i), 1) for i in range(1, n_families + 1)]
    persons += [person(f"{i}s", str(i), 2) for i in range(1, n_families + 1)]
    return fams, persons


@pytest.fixture
def env(tmp_path):
    res = resources_for(tmp_path / "sources", tmp_path / "wh" / "dtks.duckdb")
    res["programs"] = ProgramsResource(path=str(config(tmp_path, SMALL)))
    con = res["warehouse"].connect()
    for period in (OCT, NOV):
        fams, persons = registry()
        write_registry(con, period, fams, persons, sector=[("nelayan", "4s")])
    con.close()
    return res


def materialize(res, period, raise_on_error=True):
    return dg.materialize(ASSETS, resources=res, partition_key=period, raise_on_error=raise_on_error)


def test_two_months_checks_pass_and_rerun_replaces_one_month(env):
    for period in (OCT, NOV):
        result = materialize(env, period)
        assert result.success
        checks = result.get_asset_check_evaluations()
        assert len(checks) == len(ASSET_CHECKS) and all(c.passed for c in checks)
    with env["warehouse"].connect() as con:
        before = con.execute("SELECT period, program, family_id, entry_reason FROM payout.payments ORDER BY ALL").fetchall()
        assert [r for r in before if r[0] == NOV and r[3] == "BARU"] == []
        table = payout_table(con, [OCT, NOV], env["programs"].load())
    materialize(env, OCT)  # rerun of October replaces October only
    with env["warehouse"].connect() as con:
        after = con.execute("SELECT period, program, family_id, entry_reason FROM payout.payments ORDER BY ALL").fetchall()
        assert con.execute("SELECT count(*) FROM payout.bsu_nelayan").fetchone()[0] == 2
        assert con.execute("SELECT count(*) FROM payout.budget").fetchone()[0] == 4
    assert after == before
    total = table[(table["period"] == OCT) & (table["program"] == "TOTAL")].iloc[0]
    assert (total["kpm"], total["amount_idr"]) == (3, 450000)
    assert "TOTAL" in format_payout_table(table)


def test_metadata_masks_nik_and_drops_names(env):
    result = materialize(env, OCT)
    mat = [m for m in result.get_asset_materialization_events() if m.asset_key == PAYMENTS][0]
    preview = mat.materialization.metadata["preview"].value
    assert "ORANG" not in preview and "510801" in preview and "********" in preview
    assert mask_id_value("5108012345678901") == "510801********01"


def test_out_of_order_month_fails_clearly(env):
    result = materialize(env, NOV, raise_on_error=False)
    assert not result.success
    failure = [e for e in result.all_events if e.is_step_failure][0]
    assert "Materialize 2022-10 first" in str(failure.step_failure_data.error)


def test_new_2023_program_and_changed_quota_need_no_code_change(tmp_path):
    programs = [
        {"code": "BSU_KTM", "name": "KTM 2023", "amount_idr": 200000, "months": ["2023-01", "2023-02"],
         "quota": 1, "order": 2, "eligibility": {"kind": "desil", "min": 1, "max": 2}},
        {"code": "BLT_DD_2023", "name": "BLT Dana Desa", "amount_idr": 300000, "months": {"from": "2023-01", "to": "2023-03"},
         "quota": 2, "order": 1, "eligibility": {"kind": "desil", "min": 1, "max": 3}},
    ]
    res = resources_for(tmp_path / "s", tmp_path / "wh" / "dtks.duckdb")
    res["programs"] = ProgramsResource(path=str(config(tmp_path, programs, "programs_2023.yaml")))
    with res["warehouse"].connect() as con:
        fams, persons = registry(5)
        write_registry(con, "2023-01", fams, persons)
    assert materialize(res, "2023-01").success
    with res["warehouse"].connect() as con:
        rows = con.execute("SELECT program, family_id, amount_idr FROM payout.payments ORDER BY program, rank").fetchall()
        assert con.execute("SELECT count(*) FROM payout.blt_dd_2023").fetchone()[0] == 2
    # desil: 1->2, 2->3, 3->1, 4->2, 5->3; rank: desil asc, then NOKK
    assert rows == [("BLT_DD_2023", fid("3"), 300000), ("BLT_DD_2023", fid("1"), 300000), ("BSU_KTM", fid("4"), 200000)]


def test_env_var_names_the_programs_file(tmp_path, monkeypatch):
    path = config(tmp_path, SMALL)
    monkeypatch.setenv("DTKS_PROGRAMS", str(path))
    assert [p.code for p in ProgramsResource().load()] == ["BSU_NELAYAN", "BSU_KTM"]
    monkeypatch.delenv("DTKS_PROGRAMS")
    default = load_programs()
    assert [(p.code, p.quota) for p in default] == [("BSU_ANGKUTAN", 125), ("BSU_NELAYAN", 553), ("BPUM", 1200), ("BSU_KTM", 6807)]
    assert sum(p.quota * p.amount_idr * len(p.months) for p in default) == 3_908_250_000


def test_payout_definitions_load(tmp_path):
    merged = dg.Definitions.merge(payout_defs, dg.Definitions(resources=resources_for(tmp_path, tmp_path / "w.duckdb")))
    graph = merged.resolve_asset_graph()
    assert {k.to_user_string() for k in graph.get_all_asset_keys()} >= {"payout/payments", "payout/waiting_list", "payout/changes", "payout/summary"}
    assert len(graph.asset_check_keys) == 6
    spec = graph.get(PAYMENTS)
    assert spec.group_name == "payout" and "duckdb" in spec.kinds


def test_reconciliation_catches_tampered_payments(env):
    from dtks_pipeline.defs.payout.checks import (
        reconcile_amounts, reconcile_one_program, reconcile_quota, reconcile_recipients, reconcile_totals,
    )

    materialize(env, OCT)
    progs = env["programs"].load()
    with env["warehouse"].connect() as con:
        assert all(f(con, OCT, progs)[0] for f in (reconcile_quota, reconcile_amounts, reconcile_totals))
        con.execute("UPDATE payout.payments SET amount_idr = 100000 WHERE program = 'BSU_KTM' AND rank = 1")
        con.execute("""INSERT INTO payout.payments SELECT * REPLACE ('BSU_KTM' AS program) FROM payout.payments
                       WHERE program = 'BSU_NELAYAN'""")
        con.execute("UPDATE registry.persons SET status = 'MENINGGAL' WHERE person_id IN (SELECT recipient_person_id FROM payout.payments WHERE program = 'BSU_NELAYAN')")
        assert not reconcile_amounts(con, OCT, progs)[0]
        assert not reconcile_one_program(con, OCT)[0]
        assert not reconcile_quota(con, OCT, progs)[0]  # KTM now pays 3 > quota 2
        ok, meta = reconcile_recipients(con, OCT)
        assert not ok and meta["bad_recipients"] == 2 and "ORANG" not in str(meta)
        assert not reconcile_totals(con, OCT, progs)[0]
