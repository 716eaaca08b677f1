"""A deliberately broken delivery: checks fail naming the problem, payouts do not run."""
import shutil

from dtks_pipeline.definitions import build_definitions
from dtks_pipeline.defs.shared import resources_for


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


def test_corrupted_dtks_column_fails_its_checks_and_stops_payouts(small_sample, tmp_path):
    sources = tmp_path / "sources"
    for month in ("2022-10", "2022-11"):
        shutil.copytree(small_sample / month, sources / month)
    _corrupt_column(sources / "2022-11" / "dtks.csv", "DESIL", "#REF!")

    defs = build_definitions(resources_for(sources, tmp_path / "wh" / "dtks.duckdb"))
    job = defs.resolve_job_def("dtks_monthly")
    quiet = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    assert job.execute_in_process(partition_key="2022-10", raise_on_error=False, run_config=quiet).success

    result = job.execute_in_process(partition_key="2022-11", raise_on_error=False, run_config=quiet)
    assert not result.success
    failed = {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations() if not e.passed}
    assert ("staging/dtks", "rejection_rate") in failed
    evaluation = failed[("staging/dtks", "rejection_rate")]
    assert "DESIL: KODE_TIDAK_VALID" in evaluation.description
    assert evaluation.metadata["broken_files"].value[0]["source_file"] == "dtks.csv"

    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "staging/dtks" in materialized
    assert not {"registry/persons", "payout/payments", "operations/published_warehouse"} & materialized
