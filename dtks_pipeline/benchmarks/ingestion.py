"""Score ingestion against the generator's ground truth (`<sources>/_truth/rows.csv`).

For every delivered row the truth says STAGED, REJECTED (with the reason) or
BLANK. The benchmark stages every month into a fresh warehouse and reports:
unusable rows rejected with the right reason, usable rows wrongly rejected,
rows found in neither place, and the wall time.

    dtks benchmark ingestion --sources data/sources --workdir data/benchmarks
"""
from __future__ import annotations

import json
import resource
import time
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd

from dtks_pipeline.defs.shared import resources_for
from dtks_pipeline.defs.sources.assets import staging_assets, staging_checks
from dtks_pipeline.defs.sources.reference import ref_wilayah
from dtks_pipeline.runner import find_months

KEYS = ["period", "source_file", "source_row"]


def stage_all(sources: Path, warehouse: Path) -> list[str]:
    """Materialize ref + every staging asset and check for every month found."""
    periods = find_months(sources)
    for period in periods:
        result = dg.materialize(
            [ref_wilayah, *staging_assets.values(), *staging_checks],
            partition_key=period,
            resources=resources_for(sources, warehouse),
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        )
        if not result.success:
            raise RuntimeError(f"staging failed for {period}")
        print(f"  staged {period}", flush=True)
    return periods


def observed_outcomes(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """(period, source_file, source_row) -> STAGED or REJECTED (+ reason) as the warehouse has it."""
    tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'staging'").fetchall()]
    staged = " UNION ALL ".join(f"SELECT period, source_file, source_row FROM staging.{t}" for t in tables)
    return con.execute(
        f"""SELECT period, source_file, source_row, 'STAGED' AS observed, NULL AS observed_reason FROM ({staged})
            UNION ALL
            SELECT period, source_file, source_row, 'REJECTED', reason_code FROM audit.rejected_rows"""
    ).df()


def score(truth: pd.DataFrame, observed: pd.DataFrame) -> dict:
    truth = truth[truth["expected"] != "BLANK"]
    merged = truth.merge(observed, on=KEYS, how="outer", indicator=True)
    usable = merged["expected"] == "STAGED"
    unusable = merged["expected"] == "REJECTED"
    right_reason = unusable & (merged["observed"] == "REJECTED") & (merged["observed_reason"] == merged["reason_code"])
    wrongly_rejected = usable & (merged["observed"] == "REJECTED")
    confusion = (
        merged[unusable & ~right_reason]
        .groupby(["reason_code", merged["observed_reason"].fillna(merged["observed"]).fillna("MISSING")])
        .size()
        .to_dict()
    )
    wrong = merged[wrongly_rejected].groupby(["damage", "observed_reason"], dropna=False).size().to_dict()
    return {
        "rows_delivered": int(len(truth)),
        "rows_usable": int(usable.sum()),
        "rows_unusable": int(unusable.sum()),
        "unusable_rejected_right_reason": int(right_reason.sum()),
        "unusable_recall": round(float(right_reason.sum() / max(unusable.sum(), 1)), 5),
        "usable_wrongly_rejected": int(wrongly_rejected.sum()),
        "usable_wrongly_rejected_pct": round(float(100 * wrongly_rejected.sum() / max(usable.sum(), 1)), 4),
        "rows_missing_in_warehouse": int((merged["_merge"] == "left_only").sum()),
        "rows_not_in_truth": int((merged["_merge"] == "right_only").sum()),
        "unusable_misclassified": {f"{k[0]} -> {k[1]}": int(v) for k, v in confusion.items()},
        "usable_rejected_by_damage": {f"{k[0]} -> {k[1]}": int(v) for k, v in wrong.items()},
    }


def run(sources: Path, workdir: Path) -> dict:
    workdir.mkdir(parents=True, exist_ok=True)
    warehouse = workdir / "ingestion" / "dtks.duckdb"
    for stale in (warehouse, warehouse.parent / "work" / warehouse.name):
        stale.unlink(missing_ok=True)
    truth = pd.read_csv(sources / "_truth" / "rows.csv", dtype={"period": str, "source_file": str, "reason_code": str, "damage": str})
    started = time.monotonic()
    periods = stage_all(sources, warehouse)
    seconds = time.monotonic() - started
    con = duckdb.connect(str(warehouse.parent / "work" / warehouse.name), read_only=True)
    try:
        observed = observed_outcomes(con)
    finally:
        con.close()
    figures = {"periods": periods, "wall_seconds": round(seconds, 1),
               "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1), **score(truth, observed)}
    (workdir / "ingestion.json").write_text(json.dumps(figures, indent=2))
    print(f"Ingestion against ground truth ({', '.join(periods)}):")
    for key in ("rows_delivered", "rows_usable", "rows_unusable", "unusable_recall", "usable_wrongly_rejected",
                "usable_wrongly_rejected_pct", "rows_missing_in_warehouse", "rows_not_in_truth", "wall_seconds", "peak_rss_mb"):
        print(f"  {key:<32} {figures[key]}")
    for key in ("unusable_misclassified", "usable_rejected_by_damage"):
        if figures[key]:
            print(f"  {key}: {figures[key]}")
    return figures
