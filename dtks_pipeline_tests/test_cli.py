"""The `dtks` command: `dtks run` over every month and over a broken delivery, through the CLI's
`main` in process (what the installed entry point calls; the month runs, not the process start, are
what these tests are about), and the installed command itself run as a user or cron job would.
"""
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from dtks_pipeline.cli import main as dtks_main

DTKS = [str(Path(sys.executable).with_name("dtks"))]


@pytest.fixture()
def in_process(monkeypatch, capsys):
    """`dtks ARGS` in this process: (exit code, stdout). An ephemeral Dagster instance, never the
    project's; the runner's DTKS_SOURCES/DTKS_WAREHOUSE are restored afterwards."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("DTKS_SOURCES", "")
    monkeypatch.setenv("DTKS_WAREHOUSE", "")

    def run(*args):
        capsys.readouterr()
        code = dtks_main(list(args))
        return code, capsys.readouterr().out
    return run


def dtks(*args, cwd=None, env_home=None):
    import os

    env = {**os.environ}
    env.pop("DAGSTER_HOME", None)  # an ephemeral instance: the test must not touch the project's
    return subprocess.run(DTKS + list(args), capture_output=True, text=True, cwd=cwd, env=env, timeout=600)


def test_run_every_month_prints_summary_and_writes_the_warehouse(pipeline_sample, tmp_path, in_process):
    warehouse = tmp_path / "out" / "dtks.duckdb"
    code, out = in_process("run", "--sources", str(pipeline_sample), "--warehouse", str(warehouse))
    assert code == 0, out[-3000:]
    assert "[3/3] 2022-12: ok" in out
    assert "Rows staged / rejected per source:" in out and "dtks" in out
    assert "Status: OK" in out
    con = duckdb.connect(str(warehouse), read_only=True)  # the published file
    try:
        periods = [r[0] for r in con.execute("SELECT DISTINCT period FROM staging.dtks ORDER BY 1").fetchall()]
    finally:
        con.close()
    assert periods == ["2022-10", "2022-11", "2022-12"]


def test_a_broken_file_is_quarantined_and_the_run_exits_3(pipeline_sample, tmp_path, in_process):
    sources = tmp_path / "sources"
    shutil.copytree(pipeline_sample / "2022-10", sources / "2022-10")
    path = sources / "2022-10" / "umkm.csv"
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    header = lines[0].split(";")
    drop = header.index("NAMA")
    path.write_text("\n".join(";".join(v for i, v in enumerate(line.split(";")) if i != drop) for line in lines) + "\n", encoding="utf-8")
    code, out = in_process("run", "--sources", str(sources), "--warehouse", str(tmp_path / "w.duckdb"))
    assert code == 3, out[-3000:]
    assert "!! QUARANTINED FILES (1)" in out
    quarantined = next(line for line in out.splitlines() if line.startswith("  2022-10  umkm.csv: "))
    assert "NAMA" in quarantined and "no earlier snapshot" in quarantined
    assert "Status: COMPLETED WITH QUARANTINE (1 file(s) quarantined" in out
    assert (tmp_path / "w.duckdb").exists()  # the month was published without the file


def test_the_installed_command_checks_the_months_argument(pipeline_sample, tmp_path):
    done = dtks("run", "--sources", str(pipeline_sample), "--warehouse", str(tmp_path / "w.duckdb"), "--months", "2023-01")
    assert done.returncode == 2
    assert "no delivery folder for 2023-01" in done.stdout
