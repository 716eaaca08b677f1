"""Registry tables in the warehouse: their DDL and the one-transaction write of a month."""
from __future__ import annotations

import duckdb

from dtks_pipeline.defs.registry.build import FAMILY_KEYS, PERSON_KEYS, RegistryBuild
from dtks_pipeline.lib.warehouse import replace_period_from, transaction

DDL = {
    "registry.persons": """(period VARCHAR, person_id VARCHAR, nik VARCHAR, nama VARCHAR, jenis_kelamin VARCHAR,
        tgl_lahir DATE, nokk VARCHAR, family_id VARCHAR, hub_kel INTEGER, kode_desa VARCHAR, status VARCHAR,
        status_date DATE, status_source VARCHAR)""",
    "registry.person_links": """(period VARCHAR, source VARCHAR, source_file VARCHAR, source_row BIGINT,
        person_id VARCHAR, match_rule VARCHAR, match_score DOUBLE, source_period VARCHAR)""",
    "registry.families": """(period VARCHAR, family_id VARCHAR, nokk VARCHAR, kepala_person_id VARCHAR,
        kode_desa VARCHAR, desil INTEGER, n_anggota_aktif INTEGER, status VARCHAR)""",
    "registry.exclusions": """(period VARCHAR, family_id VARCHAR, person_id VARCHAR, reason_code VARCHAR,
        evidence_source VARCHAR, evidence_file VARCHAR, evidence_row BIGINT, effective_date DATE,
        evidence_period VARCHAR)""",
    PERSON_KEYS: "(k VARCHAR, person_id VARCHAR, first_period VARCHAR)",
    FAMILY_KEYS: "(nokk VARCHAR, family_id VARCHAR, first_period VARCHAR)",
}


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    for name, columns in DDL.items():
        con.execute(f"CREATE TABLE IF NOT EXISTS {name} {columns}")


def write_registry(con: duckdb.DuckDBPyConnection, build: RegistryBuild) -> None:
    """Replace the month in the four tables and add the new surrogate keys, atomically, from the
    build's tables (inside DuckDB: a month's rows never pass through Python)."""
    ensure_tables(con)
    with transaction(con):
        for table, query in build.queries().items():
            replace_period_from(con, table, query, build.period)
        for table, new in ((PERSON_KEYS, build.new_person_keys_table), (FAMILY_KEYS, build.new_family_keys_table)):
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {new}")
