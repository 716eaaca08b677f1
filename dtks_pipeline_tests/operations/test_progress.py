"""Progress lines of a run: a long step is named while it runs; named stages are listed after it."""
from __future__ import annotations

import io
import time

import dagster as dg

from dtks_pipeline.defs.operations.progress import LOGGER_NAME, STAGE_SECONDS, progress_logger_def


def _run(assets, heartbeat: float) -> list[str]:
    out = io.StringIO()
    job = dg.define_asset_job("progress_test").resolve(asset_graph=dg.Definitions(assets=assets).resolve_asset_graph())
    job = job.with_logger_defs({LOGGER_NAME: progress_logger_def(out, heartbeat=heartbeat)})
    result = job.execute_in_process(run_config={"loggers": {LOGGER_NAME: {}}}, raise_on_error=False)
    assert result.success
    return out.getvalue().splitlines()


def test_a_long_step_is_named_while_it_runs_and_its_stages_after():
    @dg.asset
    def slow() -> dg.MaterializeResult:
        time.sleep(1.0)
        return dg.MaterializeResult(metadata={"dagster/row_count": 3,
                                              STAGE_SECONDS: dg.MetadataValue.json({"mentions": 0.25, "clusters": 0.75})})

    @dg.asset(deps=[slow])
    def quick() -> None:
        return None

    lines = _run([slow, quick], heartbeat=0.3)
    running = [line for line in lines if "still running" in line]
    assert running and all(line.split()[0] == "slow" for line in running), lines
    done = next(i for i, line in enumerate(lines) if line.split()[0] == "slow" and " in " in line)
    assert lines.index(running[0]) < done, "the heartbeat comes while the step runs, before its result line"
    assert lines[done + 1].strip() == "stages: mentions 0.2 s, clusters 0.8 s"
    assert not [line for line in lines[done + 1:] if "still running" in line], "nothing is named after it ended"


def test_no_heartbeat_for_steps_shorter_than_the_interval():
    @dg.asset
    def fast() -> None:
        return None

    lines = _run([fast], heartbeat=5)
    assert lines and not [line for line in lines if "still running" in line]
