"""A `dtks run` killed mid-month (kill -9, the out-of-memory killer) leaves its Dagster run STARTED and
its slot of the "duckdb" pool claimed: the next run frees them, or it would wait for the slot forever."""
import os
import subprocess
import sys

import dagster as dg
from dagster._core.storage.dagster_run import DagsterRunStatus

from dtks_pipeline.defs.operations.stale_runs import HOST_TAG, PID_TAG, release_dead_runs, run_tags

from .test_instance import _instance_from


@dg.op(pool="duckdb")
def _write():
    pass


@dg.job
def _month():
    _write()


def _run_holding_slot(instance: dg.DagsterInstance, tags: dict[str, str]) -> str:
    run = instance.create_run_for_job(_month, tags=tags)
    instance.event_log_storage.claim_concurrency_slot("duckdb", run.run_id, "_write")
    return run.run_id


def test_a_dead_dtks_run_is_failed_and_its_slot_freed(tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    instance = _instance_from("dagster.yaml", home)
    try:
        instance.event_log_storage.set_concurrency_slots("duckdb", 1)
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        dead_run = _run_holding_slot(instance, {**run_tags(), PID_TAG: str(dead.pid)})
        # a live process of this host (the test's parent) and a run of another host are left alone
        live_run = instance.create_run_for_job(_month, tags={**run_tags(), PID_TAG: str(os.getppid())}).run_id
        other_host = instance.create_run_for_job(_month, tags={HOST_TAG: "another-host", PID_TAG: str(dead.pid)}).run_id
        assert [s.run_id for s in instance.event_log_storage.get_concurrency_info("duckdb").claimed_slots] == [dead_run]

        assert release_dead_runs(instance) == [dead_run]

        assert instance.event_log_storage.get_concurrency_info("duckdb").claimed_slots == []
        assert instance.get_run_by_id(dead_run).status == DagsterRunStatus.FAILURE
        assert instance.get_run_by_id(live_run).status == DagsterRunStatus.NOT_STARTED
        assert instance.get_run_by_id(other_host).status == DagsterRunStatus.NOT_STARTED
        assert release_dead_runs(instance) == []
    finally:
        instance.dispose()


def test_the_instance_monitors_runs_of_the_daemon():
    """Runs launched by the daemon (UI, schedule) are failed and their slots freed by run monitoring."""
    from pathlib import Path

    import yaml

    repo = Path(__file__).resolve().parents[2]
    for name in ("dagster.yaml", "dagster_postgres.yaml"):
        monitoring = yaml.safe_load((repo / name).read_text())["run_monitoring"]
        assert monitoring["enabled"] is True and monitoring["free_slots_after_run_end_seconds"] > 0
