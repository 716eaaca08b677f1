"""The pipeline's DuckDB settings (lib.warehouse.configure) on real warehouse files."""
from __future__ import annotations

import pytest

from dtks_pipeline.lib import warehouse


def _limit(con) -> str:
    return con.execute("SELECT current_setting('memory_limit')").fetchone()[0]


def test_connect_sets_the_memory_limit_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(warehouse.MEMORY_LIMIT_ENV_VAR, "1GB")
    con = warehouse.connect(tmp_path / "a.duckdb")
    try:
        assert _limit(con) == "953.6 MiB"  # DuckDB counts 1GB in decimal and shows it in binary units
    finally:
        con.close()
    reader = warehouse.connect(tmp_path / "a.duckdb", read_only=True)
    try:
        assert _limit(reader) == "953.6 MiB"
    finally:
        reader.close()


def test_default_leaves_duckdb_its_own_limit_and_a_bad_value_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(warehouse.MEMORY_LIMIT_ENV_VAR, "1GB")
    con = warehouse.connect(tmp_path / "limited.duckdb")
    limited = _limit(con)
    con.close()
    monkeypatch.setenv(warehouse.MEMORY_LIMIT_ENV_VAR, "default")
    con = warehouse.connect(tmp_path / "own.duckdb")
    try:
        assert _limit(con) != limited
    finally:
        con.close()
    monkeypatch.setenv(warehouse.MEMORY_LIMIT_ENV_VAR, "lots")
    with pytest.raises(ValueError, match=warehouse.MEMORY_LIMIT_ENV_VAR):
        warehouse.connect(tmp_path / "bad.duckdb")
