"""Blocking checks on the registry of a month.

Each check is a pure function `(con, period) -> (passed, metadata)` tested on
its own, wrapped in a blocking asset check: a failing month stops the run
before payout reads it. Metadata never shows a NIK or a name unmasked.
"""

import dagster as dg
import duckdb

from dtks_pipeline.defs.registry.assets import EXCLUSIONS, FAMILIES, PERSON_LINKS, PERSONS
from dtks_pipeline.defs.registry.inputs import PERSON_SOURCES, SNAPSHOT_SOURCES, snapshot_period
from dtks_pipeline.defs.shared import WAREHOUSE_POOL, WarehouseResource
from dtks_pipeline.lib.warehouse import table_exists

# No partitions_def on the checks (preview in Dagster 1.13): the month comes from the run, as in the payout checks.
_CHECK = dict(blocking=True, pool=WAREHOUSE_POOL)
_MASK = "substr({c}, 1, 6) || repeat('*', 8) || substr({c}, 15, 2)"


def nik_unique_among_active(con: duckdb.DuckDBPyConnection, period: str) -> tuple[bool, dict]:
    """No NIK is shared by two AKTIF persons."""
    rows = con.execute(f"""
        SELECT {_MASK.format(c='nik')} AS nik, count(*) AS n FROM registry.persons
        WHERE period = ? AND status = 'AKTIF' AND nik IS NOT NULL GROUP BY nik HAVING count(*) > 1
        ORDER BY n DESC LIMIT 20""", [period]).fetchall()
    n = con.execute("""SELECT count(*) FROM (SELECT nik FROM registry.persons WHERE period = ? AND status = 'AKTIF'
                       AND nik IS NOT NULL GROUP BY nik HAVING count(*) > 1)""", [period]).fetchone()[0]
    return n == 0, {"shared NIKs": n, "examples (masked)": [r[0] for r in rows]}


def active_person_in_one_family(con: duckdb.DuckDBPyConnection, period: str) -> tuple[bool, dict]:
    """Every AKTIF person belongs to exactly one family of the month."""
    n = con.execute("""
        SELECT count(*) FROM registry.persons p
        WHERE p.period = ? AND p.status = 'AKTIF'
          AND (SELECT count(*) FROM registry.families f WHERE f.period = p.period AND f.family_id = p.family_id) <> 1
    """, [period]).fetchone()[0]
    return n == 0, {"active persons without exactly one family": n}


def exclusions_have_evidence(con: duckdb.DuckDBPyConnection, period: str) -> tuple[bool, dict]:
    """Every exclusion points at a staged row that exists."""
    missing: dict[str, int] = {}
    total = con.execute("SELECT count(*) FROM registry.exclusions WHERE period = ?", [period]).fetchone()[0]
    sources = [r[0] for r in con.execute(
        "SELECT DISTINCT evidence_source FROM registry.exclusions WHERE period = ?", [period]).fetchall()]
    for source in sources:
        if source not in PERSON_SOURCES or not table_exists(con, f"staging.{source}"):
            missing[str(source)] = con.execute(
                "SELECT count(*) FROM registry.exclusions WHERE period = ? AND evidence_source IS NOT DISTINCT FROM ?",
                [period, source]).fetchone()[0]
            continue
        n = con.execute(f"""
            SELECT count(*) FROM registry.exclusions e
            WHERE e.period = ? AND e.evidence_source = ? AND NOT EXISTS (
              SELECT 1 FROM staging.{source} s WHERE s.period = e.evidence_period
                AND s.source_file = e.evidence_file AND s.source_row = e.evidence_row)""", [period, source]).fetchone()[0]
        if n:
            missing[source] = n
    return not missing, {"exclusions": total, "without a staged row": missing}


def links_cover_staged_rows(con: duckdb.DuckDBPyConnection, period: str) -> tuple[bool, dict]:
    """person_links holds every staged row of the person-bearing sources used this month."""
    missing: dict[str, int] = {}
    for source in PERSON_SOURCES:
        if not table_exists(con, f"staging.{source}"):
            continue
        if source in SNAPSHOT_SOURCES:
            snap = snapshot_period(con, source, period)
            if snap is None:
                continue
            where, params = "s.period = ?", [snap]
        else:
            where, params = "s.period <= ?", [period]
        n = con.execute(f"""
            SELECT count(*) FROM staging.{source} s WHERE {where} AND NOT EXISTS (
              SELECT 1 FROM registry.person_links l WHERE l.period = ? AND l.source = ?
                AND l.source_period = s.period AND l.source_file = s.source_file AND l.source_row = s.source_row)""",
            [*params, period, source]).fetchone()[0]
        if n:
            missing[source] = n
    return not missing, {"staged rows without a link": missing}


def _period(context: dg.AssetCheckExecutionContext) -> str | None:
    """The month the check runs for: the run's partition (set when it runs with its registry asset)."""
    if context.has_partition_key:
        return context.partition_key
    return context.run.tags.get("dagster/partition")


def _run(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, fn) -> dg.AssetCheckResult:
    period = _period(context)
    if not period:
        return dg.AssetCheckResult(
            passed=False, severity=dg.AssetCheckSeverity.ERROR,
            description="run this check with a month (partition) of the registry assets",
        )
    con = warehouse.connect(read_only=True)
    try:
        passed, metadata = fn(con, period)
    finally:
        con.close()
    return dg.AssetCheckResult(passed=passed, metadata={k: dg.MetadataValue.json(v) if isinstance(v, (dict, list)) else v
                                                        for k, v in metadata.items()})


@dg.asset_check(asset=PERSONS, name="nik_unique_among_active", description=nik_unique_among_active.__doc__, **_CHECK)
def check_nik_unique(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    return _run(context, warehouse, nik_unique_among_active)


@dg.asset_check(asset=FAMILIES, name="active_person_in_one_family", description=active_person_in_one_family.__doc__, **_CHECK)
def check_one_family(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    return _run(context, warehouse, active_person_in_one_family)


@dg.asset_check(asset=EXCLUSIONS, name="exclusions_have_evidence", description=exclusions_have_evidence.__doc__, **_CHECK)
def check_evidence(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    return _run(context, warehouse, exclusions_have_evidence)


@dg.asset_check(asset=PERSON_LINKS, name="links_cover_staged_rows", description=links_cover_staged_rows.__doc__, **_CHECK)
def check_links_cover(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    return _run(context, warehouse, links_cover_staged_rows)


ASSET_CHECKS = [check_nik_unique, check_one_family, check_evidence, check_links_cover]
