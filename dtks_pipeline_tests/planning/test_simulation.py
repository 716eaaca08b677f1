"""`dtks simulate` on a small published warehouse: the project's own rules, compared with what was paid."""
from __future__ import annotations

import copy
import hashlib
import io
from argparse import Namespace

import duckdb
import pytest
from openpyxl import load_workbook

from dtks_pipeline.defs.planning.run import PAGE, STORE, WORKBOOK, main, run_simulation
from dtks_pipeline.defs.operations.publish import analyst_path_for
from dtks_pipeline_tests.published_sample import write_programs

MONTH = "2022-11"


def scenario(sample, tmp_path, name="scenario.yaml", edit=None):
    document = copy.deepcopy(sample.programs_document())
    if edit:
        edit({p["code"]: p for p in document["programs"]}, document)
    return write_programs(tmp_path / name, document)


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def real_payments(sample, period):
    con = duckdb.connect(str(sample.warehouse), read_only=True)
    try:
        return con.execute(
            """SELECT program, family_id, recipient_person_id, amount_idr, rank, entry_reason FROM payout.payments
               WHERE period = ? ORDER BY program, family_id""", [period]).df()
    finally:
        con.close()


def test_repeating_the_programs_file_reproduces_the_real_allocation(published_sample, tmp_path):
    result = run_simulation(published_sample.warehouse, scenario(published_sample, tmp_path), MONTH, 2, tmp_path / "out")
    assert [s.period for s in result.sims] == ["2022-10", "2022-11"]
    for sim in result.sims:
        cols = ["program", "family_id", "recipient_person_id", "amount_idr", "rank", "entry_reason"]
        mine = sim.scenario.allocation.payments[cols].sort_values(["program", "family_id"]).reset_index(drop=True)
        real = real_payments(published_sample, sim.period)
        assert len(real) > 300
        assert mine.astype(str).equals(real[cols].astype(str)), sim.period
    programs = result.views["programs"]
    assert (programs["delta_kpm"] == 0).all() and (programs["delta_rp"] == 0).all()
    assert (programs["eligible_real"] == programs["eligible_sim"]).all()
    assert result.views["changes"].empty


def test_ktm_quota_plus_1000_pays_exactly_1000_more(published_sample, tmp_path):
    def plus_1000(progs, _):
        progs["BSU_KTM"]["quota"] += 1000

    result = run_simulation(published_sample.warehouse, scenario(published_sample, tmp_path, edit=plus_1000), MONTH, 1,
                            tmp_path / "out")
    sim = result.sims[0]
    # enough families are eligible for the larger quota (else the test would prove nothing)
    assert sim.scenario.allocation.eligible_counts["BSU_KTM"] >= 300 + 1000
    rows = result.views["programs"].set_index("program")
    assert rows.loc["BSU_KTM", "delta_kpm"] == 1000
    assert rows.loc["BSU_KTM", "delta_rp"] == 1000 * 150_000
    assert (rows.drop(index=["BSU_KTM", "TOTAL"])["delta_kpm"] == 0).all()
    assert rows.loc["TOTAL", "delta_kpm"] == 1000
    changes = result.views["changes"]
    assert len(changes) == 1000 and set(changes["change"]) == {"MASUK"} and set(changes["reason_code"]) == {"KUOTA_DITAMBAH"}
    budget = result.views["budget"].set_index("program")
    assert budget.loc["TOTAL", "delta_rp"] == 1000 * 150_000


def test_widening_desil_adds_the_families_of_the_added_desil(published_sample, tmp_path):
    def widen(progs, _):
        progs["BSU_KTM"]["eligibility"]["max"] = 5

    result = run_simulation(published_sample.warehouse, scenario(published_sample, tmp_path, edit=widen), MONTH, 1,
                            tmp_path / "out")
    con = duckdb.connect(str(published_sample.warehouse), read_only=True)
    try:
        # Desil-5 families a desil program could pay, counted straight from the published tables.
        added = con.execute("""
            SELECT count(DISTINCT f.family_id) FROM registry.families f
            WHERE f.period = $p AND f.desil = 5 AND f.status = 'AKTIF'
              AND NOT EXISTS (SELECT 1 FROM registry.exclusions e WHERE e.period = f.period AND e.family_id = f.family_id
                              AND e.reason_code NOT IN ('MENINGGAL', 'PINDAH'))
              AND EXISTS (SELECT 1 FROM registry.persons p WHERE p.period = f.period AND p.family_id = f.family_id
                          AND p.status = 'AKTIF'
                          AND (p.hub_kel IN (1, 2) OR p.tgl_lahir <= DATE '2022-11-30' - INTERVAL 17 YEAR))
        """, {"p": MONTH}).fetchone()[0]
    finally:
        con.close()
    assert added > 0
    ktm = result.views["programs"].set_index("program").loc["BSU_KTM"]
    assert ktm["eligible_sim"] - ktm["eligible_real"] == added
    # Coverage counts a family eligible for any program once: desil-5 families a sector program could
    # already pay were eligible before; the rest of the added desil are new.
    sim = result.sims[0]
    sector_eligible = set().union(*(v for k, v in sim.baseline.eligible.items() if k != "BSU_KTM"))
    desil5 = set(sim.scenario.eligible["BSU_KTM"]) - set(sim.baseline.eligible["BSU_KTM"])
    coverage = result.views["coverage_desil"].set_index("desil")
    assert coverage.loc["5", "eligible_sim"] - coverage.loc["5", "eligible_real"] == len(desil5 - sector_eligible)


def test_the_published_warehouse_is_byte_identical_afterwards(published_sample, tmp_path):
    # every published file: the warehouse, its analyst copy and whatever lies beside them (e.g. Parquet parts)
    folder = published_sample.warehouse.parent
    files = sorted(p for p in folder.rglob("*") if p.is_file() and "work" not in p.relative_to(folder).parts)
    assert published_sample.warehouse in files and analyst_path_for(published_sample.warehouse) in files
    before = [(sha256(f), f.stat().st_mtime_ns) for f in files]
    wal = published_sample.warehouse.with_name(published_sample.warehouse.name + ".wal")

    def change(progs, _):
        progs["BSU_KTM"]["quota"] = 100
        progs["BSU_KTM"]["eligibility"]["max"] = 6
    assert main(Namespace(warehouse=str(files[0]), programs=str(scenario(published_sample, tmp_path, edit=change)),
                          month=MONTH, months=2, out=str(tmp_path / "out")), io.StringIO(), io.StringIO()) == 0
    assert [(sha256(f), f.stat().st_mtime_ns) for f in files] == before
    assert not wal.exists()


def test_cli_prints_the_comparison_and_writes_workbook_page_and_tables(published_sample, tmp_path):
    from dtks_pipeline.cli import main as dtks

    hostile = '=HYPERLINK("http://evil.example","klik")'

    def new_program(progs, document):
        document["programs"].append({
            "code": "BST_LANSIA", "name": hostile, "amount_idr": 200000, "months": [MONTH], "quota": 50, "order": 5,
            "eligibility": {"kind": "desil", "min": 1, "max": 6}})
    path = scenario(published_sample, tmp_path, edit=new_program)
    out = tmp_path / "out"
    import contextlib
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = dtks(["simulate", "--month", MONTH, "--programs", str(path), "--warehouse", str(published_sample.warehouse),
                     "--out", str(out)])
    text = stdout.getvalue()
    assert code == 0, text
    assert "BST_LANSIA" in text and "Rp10.000.000" in text and "TOTAL" in text  # 50 KPM x Rp200.000
    assert {p.name for p in out.iterdir()} == {WORKBOOK, PAGE, STORE}

    wb = load_workbook(out / WORKBOOK)
    assert wb.sheetnames[:3] == ["Info", "Program", "Anggaran"] and "Masuk_Keluar_Keluarga" in wb.sheetnames
    cells = [c for row in wb["Program"].iter_rows() for c in row if c.value == hostile]
    assert cells and all(c.data_type == "s" and c.quotePrefix for c in cells)
    moves = wb["Masuk_Keluar_Keluarga"]
    reasons = {row[3] for row in moves.iter_rows(min_row=2, values_only=True)}
    assert "PROGRAM_BARU" in reasons

    con = duckdb.connect(str(out / STORE), read_only=True)
    try:
        tables = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'simulation'").fetchall()}
        assert {"programs", "budget", "kecamatan", "desa", "coverage_desil", "coverage_kecamatan", "changes",
                "payments", "scenario", "runs"} <= tables
        assert con.execute("SELECT count(*) FROM simulation.payments WHERE program = 'BST_LANSIA'").fetchone()[0] == 50
        assert con.execute("SELECT count(*) FROM simulation.payments WHERE nokk NOT LIKE '%*%'").fetchone()[0] == 0
    finally:
        con.close()

    page = (out / PAGE).read_text(encoding="utf-8")
    assert page.count('<svg class="chart"') >= 5 and "http://" not in page.replace("http://www.w3.org", "")
    wh = duckdb.connect(str(published_sample.warehouse), read_only=True)
    try:
        niks = {r[0] for r in wh.execute("SELECT recipient_nik FROM payout.payments WHERE period = ?", [MONTH]).fetchall()}
    finally:
        wh.close()
    assert not any(nik in page for nik in niks)


def test_dagster_job_with_run_config(published_sample, tmp_path):
    from dtks_pipeline.definitions import build_definitions
    from dtks_pipeline.defs.planning.jobs import SIMULATION_JOB_NAME
    from dtks_pipeline.defs.shared import resources_for

    job = build_definitions(resources_for(published_sample.sources, published_sample.warehouse)).resolve_job_def(
        SIMULATION_JOB_NAME)
    config = {"month": MONTH, "scenario_file": str(scenario(published_sample, tmp_path)), "months": 1,
              "out_dir": str(tmp_path / "job")}
    result = job.execute_in_process(run_config={"ops": {"simulate_scenario": {"config": config}}})
    assert result.success
    assert (tmp_path / "job" / WORKBOOK).exists() and (tmp_path / "job" / PAGE).exists()
    bad = dict(config, month="2030-01", out_dir=str(tmp_path / "bad"))
    failed = job.execute_in_process(run_config={"ops": {"simulate_scenario": {"config": bad}}}, raise_on_error=False)
    assert not failed.success and not (tmp_path / "bad").exists()


def test_families_held_for_review_are_paid_by_no_program(published_sample, tmp_path):
    """A copy of the published file with three paid families put in payout.held: the simulation
    (the project's allocation) pays them nowhere and says why."""
    import shutil

    from dtks_pipeline.defs.planning.compare import all_views
    from dtks_pipeline.defs.planning.scenario import load_scenario
    from dtks_pipeline.defs.planning.simulate import simulate

    copy_path = tmp_path / "dtks.duckdb"
    shutil.copy(published_sample.warehouse, copy_path)
    con = duckdb.connect(str(copy_path))  # a scratch copy: views over the original's parts (if any) still read
    try:
        paid = con.execute("SELECT family_id, nokk FROM payout.payments WHERE period = ? AND program = 'BSU_KTM' "
                           "ORDER BY family_id LIMIT 3", [MONTH]).fetchall()
        # payout.held as a plain table of the copy (the published file may hold it as a table or a view)
        kind = con.execute("SELECT table_type FROM information_schema.tables WHERE table_schema = 'payout' "
                           "AND table_name = 'held'").fetchone()
        con.execute("CREATE TEMP TABLE held_before (period VARCHAR, family_id VARCHAR, nokk VARCHAR, reason_code VARCHAR, "
                    "detail VARCHAR)")
        if kind:
            con.execute("INSERT INTO held_before SELECT period, family_id, nokk, reason_code, detail FROM payout.held")
            con.execute(f"DROP {'VIEW' if kind[0] == 'VIEW' else 'TABLE'} payout.held")
        con.execute("CREATE TABLE payout.held AS SELECT * FROM held_before")
        con.executemany("INSERT INTO payout.held VALUES (?, ?, ?, 'NIK_GANDA', 'test')", [(MONTH, f, n) for f, n in paid])
        sc = load_scenario(scenario(published_sample, tmp_path), con, MONTH, 1)
        sims = simulate(con, sc.months, sc.programs)
    finally:
        con.close()
    views = all_views(sims)
    held = {f for f, _ in paid}
    assert sims[0].held >= held
    assert not held & set(sims[0].scenario.allocation.payments["family_id"])
    left = views["changes"][views["changes"]["change"] == "KELUAR"]
    assert set(left["family_id"]) == held and set(left["reason_code"]) == {"DITAHAN"}
    # the vacancies go to the next families in rank order: the quota is still paid
    ktm = views["programs"].set_index("program").loc["BSU_KTM"]
    assert ktm["kpm_sim"] == ktm["kpm_real"]
