"""A deliberately broken delivery: the file is quarantined naming the problem, the month still pays.

Starts from the session's `pipeline_months` working files as they were after 2022-10 (copied) and runs
2022-11 with a broken DTKS export through the monthly job.
"""
import shutil

import dagster as dg
import duckdb

from dtks_pipeline.definitions import build_definitions
from dtks_pipeline.defs.shared import resources_for
from dtks_pipeline_tests.pipeline_sample import QUIET
from dtks_pipeline_tests.warehouse_copy import copy_warehouse


def _corrupt_column(path, column, value):
    """Overwrite one column of a ';' CSV in every data row (what a broken export does)."""
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    index = lines[0].split(";").index(column)
    out = [lines[0]]
    for line in lines[1:]:
        cells = line.split(";")
        if len(cells) > index and any(c.strip() for c in cells):
            cells[index] = value
        out.append(";".join(cells))
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def test_corrupted_dtks_column_is_quarantined_and_the_month_pays_on_the_last_accepted_snapshot(pipeline_months, tmp_path):
    sources = tmp_path / "sources"
    shutil.copytree(pipeline_months.sources, sources)
    _corrupt_column(sources / "2022-11" / "dtks.csv", "DESIL", "#REF!")
    assert pipeline_months.results["2022-10"].success  # 2022-10 as it was run (and copied) by the fixture
    warehouse = copy_warehouse(pipeline_months.after_october, tmp_path / "wh")

    defs = build_definitions(resources_for(sources, warehouse))
    job = defs.resolve_job_def("dtks_monthly")
    result = job.execute_in_process(partition_key="2022-11", raise_on_error=False, run_config=QUIET)
    failures = [e.event_specific_data.error.message.splitlines()[0][:300] for e in result.all_events
                if e.event_type_value == "STEP_FAILURE"]
    assert result.success, failures  # a broken file holds back only itself
    failed = {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations() if not e.passed}
    assert set(failed) == {("staging/dtks", "file_quarantine")}
    evaluation = failed[("staging/dtks", "file_quarantine")]
    assert evaluation.severity == dg.AssetCheckSeverity.WARN
    assert "dtks.csv: broken delivery" in evaluation.description and "mostly DESIL: KODE_TIDAK_VALID" in evaluation.description
    assert evaluation.metadata["quarantined_files"].value[0]["source_file"] == "dtks.csv"

    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert {"staging/dtks", "registry/persons", "payout/payments", "operations/published_warehouse"} <= materialized
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        # The registry of 2022-11 is built on the 2022-10 snapshot, and the month pays.
        periods = con.execute("SELECT DISTINCT source_period FROM registry.person_links "
                              "WHERE period = '2022-11' AND source = 'dtks'").fetchall()
        paid = con.execute("SELECT count(*) FROM payout.payments WHERE period = '2022-11'").fetchone()[0]
    finally:
        con.close()
    assert periods == [("2022-10",)] and paid > 0
