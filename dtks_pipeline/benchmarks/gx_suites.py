"""Seconds of each Great Expectations suite on one month of a working file, outside Dagster.

    python -m dtks_pipeline.benchmarks.gx_suites WORKING.duckdb 2022-12 GX_DIR [OUTCOMES.json]

Runs `quality.checks.validate_table` for every suite in turn in one process (Data Docs built),
into GX_DIR, which is emptied first (the first suite therefore also creates the GX context).
Importing GX is timed apart: every process pays it once. OUTCOMES.json keeps each
expectation's outcome (already masked), so two versions of the code can be compared.
"""
from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> None:
    work, period, gx_dir = argv[0], argv[1], Path(argv[2])
    out = argv[3] if len(argv) > 3 else None
    import duckdb

    from dtks_pipeline.defs.payout.programs import ProgramsResource
    from dtks_pipeline.defs.quality.checks import validate_table
    from dtks_pipeline.defs.quality.suites import SUITES

    if gx_dir.exists():
        shutil.rmtree(gx_dir)
    programs = ProgramsResource().load()
    t = time.perf_counter()
    import great_expectations  # noqa: F401

    print(f"import great_expectations {time.perf_counter() - t:.2f} s", flush=True)
    con = duckdb.connect(work, read_only=True)
    outcomes, total = {}, 0.0
    for table in SUITES:
        t = time.perf_counter()
        outcome = validate_table(con, table, period, programs, gx_dir)
        seconds = time.perf_counter() - t
        total += seconds
        print(f"{table:22} {seconds:6.2f} s  {outcome.rows:,} rows", flush=True)
        outcomes[table] = [
            {"label": e.label, "severity": e.severity, "success": e.success, "unexpected_count": e.unexpected_count,
             "unexpected_percent": e.unexpected_percent, "sample": e.sample, "observed": str(e.observed_value),
             "exception": e.exception} for e in outcome.expectations]
    print(f"all suites {total:.2f} s")
    if out:
        Path(out).write_text(json.dumps(outcomes, indent=1, default=str))


if __name__ == "__main__":
    main(sys.argv[1:])
