"""One run per warehouse: an OS lock, tested with real processes."""
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from dtks_pipeline.defs.operations.lock import WarehouseBusy, WarehouseLock, lock_path_for

DTKS = str(Path(sys.executable).with_name("dtks"))
HOLD = """
import sys, time
from dtks_pipeline.defs.operations.lock import WarehouseLock
lock = WarehouseLock(sys.argv[1]); lock.acquire()
print("held", flush=True)
time.sleep(float(sys.argv[2]))
lock.release()
"""


def hold(warehouse: Path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(warehouse), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def dtks(*args):
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    return subprocess.run([DTKS, *args], capture_output=True, text=True, env=env, timeout=300)


def test_a_second_run_says_who_holds_the_warehouse_in_one_line_and_touches_nothing(tmp_path):
    sources = tmp_path / "sources"
    (sources / "2022-10").mkdir(parents=True)
    warehouse = tmp_path / "w" / "dtks.duckdb"
    holder = hold(warehouse, 60)
    try:
        done = dtks("run", "--sources", str(sources), "--warehouse", str(warehouse))
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 1
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1 and not done.stderr.strip(), done.stdout + done.stderr
    assert f"is in use by another run (pid {holder.pid} on " in lines[0] and "command: " in lines[0]
    assert "--wait" in lines[0]
    assert sorted(p.name for p in warehouse.parent.iterdir()) == [lock_path_for(warehouse).name]  # nothing else written


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    warehouse = tmp_path / "dtks.duckdb"
    holder = hold(warehouse, 60)
    with pytest.raises(WarehouseBusy, match=f"pid {holder.pid}"):
        WarehouseLock(warehouse).acquire()
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    with WarehouseLock(warehouse) as lock:  # the kernel released it with the process
        assert f"pid {os.getpid()}" in lock.holder()


def test_wait_runs_after_the_holder_is_done(tmp_path):
    sources = tmp_path / "sources"
    (sources / "2022-10").mkdir(parents=True)  # an empty month: refused at once, after the lock is taken
    warehouse = tmp_path / "w" / "dtks.duckdb"
    holder = hold(warehouse, 120)
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    waiting = subprocess.Popen([DTKS, "run", "--sources", str(sources), "--warehouse", str(warehouse), "--wait",
                                "--wait-timeout", "120"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        first = waiting.stdout.readline()
        assert "is in use by another run" in first and "waiting up to 120 s" in first
        assert waiting.poll() is None  # still waiting while the holder lives
    finally:
        holder.kill()  # the holder ends: the kernel frees the lock
        holder.wait()
    rest = waiting.stdout.read()
    assert waiting.wait(timeout=120) == 1
    assert "holds no delivery file" in rest  # it ran once the holder was gone


def test_wait_gives_up_after_its_timeout(tmp_path):
    warehouse = tmp_path / "dtks.duckdb"
    holder = hold(warehouse, 60)
    try:
        with pytest.raises(WarehouseBusy, match="gave up after waiting 1 s"):
            WarehouseLock(warehouse).acquire(wait=True, timeout=1, poll=0.2)
    finally:
        holder.kill()
        holder.wait()
