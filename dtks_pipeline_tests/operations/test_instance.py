"""The instance configuration: SQLite in DAGSTER_HOME by default, pool duckdb limited to 1,
and the PostgreSQL example that switches storage by configuration alone.

The PostgreSQL test runs when a server is reachable: set DTKS_TEST_POSTGRES_URL
(postgresql://user:password@host:port/db) or have postgresql://dagster:dagster@localhost:5432/dagster_test
answer; otherwise it is skipped with the reason.
"""
import os
import shutil
import socket
from pathlib import Path
from urllib.parse import urlparse

import dagster as dg
import pytest

from dtks_pipeline.defs.operations.assets import PUBLISHED_KEY, build_published_warehouse
from dtks_pipeline.defs.shared import WarehouseResource, monthly_partitions, resources_for

from .conftest import write_sample_warehouse

REPO = Path(__file__).resolve().parents[2]
DEFAULT_TEST_URL = "postgresql://dagster:dagster@localhost:5432/dagster_test"


def _tiny_month(tmp_path, instance):
    @dg.asset(key=["registry", "persons"], partitions_def=monthly_partitions, pool="duckdb")
    def persons(warehouse: WarehouseResource):
        write_sample_warehouse(warehouse.working_path)

    return dg.materialize(
        [persons, build_published_warehouse([persons.key])],
        resources=resources_for(tmp_path / "sources", tmp_path / "wh" / "dtks.duckdb"),
        partition_key="2022-11",
        instance=instance,
    )


def _instance_from(yaml_name: str, home: Path) -> dg.DagsterInstance:
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / yaml_name, home / "dagster.yaml")
    return dg.DagsterInstance.from_config(str(home))


def test_default_instance_is_sqlite_in_dagster_home_with_pool_limit_1(tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    instance = _instance_from("dagster.yaml", home)
    try:
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"
        assert (home / "history" / "runs.db").exists()
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
        result = _tiny_month(tmp_path, instance)
        assert result.success
        assert instance.event_log_storage.get_concurrency_info("duckdb").limit == 1
        assert instance.fetch_materializations(PUBLISHED_KEY, limit=1).records
    finally:
        instance.dispose()


def _reachable_postgres_url() -> tuple[str | None, str]:
    url = os.environ.get("DTKS_TEST_POSTGRES_URL") or DEFAULT_TEST_URL
    parts = urlparse(url)
    try:
        with socket.create_connection((parts.hostname or "localhost", parts.port or 5432), timeout=1):
            pass
    except OSError as exc:
        return None, f"no PostgreSQL at {parts.hostname}:{parts.port or 5432} ({exc}); set DTKS_TEST_POSTGRES_URL"
    try:
        import psycopg2

        psycopg2.connect(url, connect_timeout=2).close()
    except Exception as exc:  # noqa: BLE001 - any failure means "not usable here"
        return None, f"PostgreSQL at {parts.hostname}:{parts.port or 5432} refused the test login ({type(exc).__name__}); set DTKS_TEST_POSTGRES_URL"
    return url, ""


def test_postgres_instance_from_the_example_config(tmp_path, monkeypatch):
    url, why = _reachable_postgres_url()
    if url is None:
        pytest.skip(f"PostgreSQL test skipped: {why}")
    parts = urlparse(url)
    for name, value in {
        "DAGSTER_PG_HOST": parts.hostname or "localhost",
        "DAGSTER_PG_PORT": str(parts.port or 5432),
        "DAGSTER_PG_USER": parts.username or "",
        "DAGSTER_PG_PASSWORD": parts.password or "",
        "DAGSTER_PG_DB": parts.path.lstrip("/"),
    }.items():
        monkeypatch.setenv(name, value)
    home = tmp_path / "dagster_home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    instance = _instance_from("dagster_postgres.yaml", home)
    try:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        result = _tiny_month(tmp_path, instance)
        assert result.success
        run = instance.get_run_by_id(result.run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=PUBLISHED_KEY, asset_partitions=["2022-11"]), limit=5
        ).records
        assert any(r.run_id == result.run_id for r in records)
        assert instance.event_log_storage.get_concurrency_info("duckdb").limit == 1
        # The run is really in PostgreSQL, not in a file under DAGSTER_HOME.
        assert not (home / "history" / "runs.db").exists()
        import psycopg2

        with psycopg2.connect(url) as con, con.cursor() as cur:
            cur.execute("SELECT count(*) FROM runs WHERE run_id = %s", [result.run_id])
            assert cur.fetchone()[0] == 1
    finally:
        instance.dispose()


def test_postgres_config_is_valid_without_a_server(tmp_path, monkeypatch):
    """The example parses and names its env vars even where no PostgreSQL runs."""
    from dagster._core.instance.config import dagster_instance_config

    home = tmp_path / "h"
    home.mkdir()
    shutil.copy(REPO / "dagster_postgres.yaml", home / "dagster.yaml")
    config, _ = dagster_instance_config(str(home))
    db = config["storage"]["postgres"]["postgres_db"]
    assert db["scheme"] == "postgresql+psycopg2"  # SQLAlchemy 2.1 would pick psycopg 3, not installed
    assert {v["env"] for v in db.values() if isinstance(v, dict)} == {
        "DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_USER", "DAGSTER_PG_PASSWORD", "DAGSTER_PG_DB"
    }
    assert config["concurrency"]["pools"]["default_limit"] == 1
