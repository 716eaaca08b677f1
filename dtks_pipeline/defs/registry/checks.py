"""Blocking checks on the registry of a month.

Each check is a pure function `(con, period) -> (passed, metadata)` tested on
its own, wrapped in a blocking asset check: a failing month stops the run
before payout reads it. Metadata never shows a NIK or a name unmasked.

A check blocks only what it concerns: when every fault it finds is contained
(the families concerned are in payout.held and will not be paid, or staff
decided the pair), it reports a WARN (`metadata[CONTAINED]` true), which
stops nothing, and everyone else is paid.
"""

import dagster as dg
import duckdb
import pandas as pd

from dtks_pipeline.defs.registry import held as held_mod
from dtks_pipeline.defs.registry.assets import EXCLUSIONS, FAMILIES, PERSON_LINKS, PERSONS
from dtks_pipeline.defs.registry.inputs import PERSON_SOURCES, SNAPSHOT_SOURCES, snapshot_period
from dtks_pipeline.defs.shared import WAREHOUSE_POOL, WarehouseResource
from dtks_pipeline.lib.masking import mask_id_value
from dtks_pipeline.lib.warehouse import table_exists

# No partitions_def on the checks (preview in Dagster 1.13): the month comes from the run, as in the payout checks.
_CHECK = dict(blocking=True, pool=WAREHOUSE_POOL)


CONTAINED = "contained (held or decided; nothing else stopped)"


def nik_unique_among_active(con: duckdb.DuckDBPyConnection, period: str) -> tuple[bool, dict]:
    """No NIK is shared by two AKTIF persons; WARN when every shared NIK's families are held
    (payout.held NIK_GANDA) or staff decided the persons BEDA."""
    pairs = held_mod.nik_conflict_pairs(con, period)
    held = held_mod.held_of(con, period)
    held_ids = set(held.loc[held["reason_code"] == held_mod.NIK_GANDA, "family_id"])
    decided = pairs["decision"].fillna("") == "BEDA"
    open_pairs = pairs[~decided]
    sides = (list(zip(open_pairs["nik"], open_pairs["family_id_a"])) + list(zip(open_pairs["nik"], open_pairs["family_id_b"])))
    # A person without a family is paid nothing anyway; a family not held would be paid on a doubtful NIK.
    not_held = sorted({nik for nik, fam in sides if fam is not None and not pd.isna(fam) and fam not in held_ids})
    n = int(pairs["nik"].nunique())
    metadata = {
        "shared NIKs": n,
        "held families (NIK_GANDA)": len(held_ids),
        "NIKs decided BEDA by staff": int(pairs.loc[decided, "nik"].nunique()),
        "shared NIKs whose families are not held": len(not_held),
        "examples (masked)": [mask_id_value(v) for v in sorted(pairs["nik"].unique())[:20]],
    }
    if n:
        metadata[CONTAINED] = not not_held
    return n == 0, metadata


def active_person_in_one_family(con: duckdb.DuckDBPyConnection, period: str) -> tuple[bool, dict]:
    """Every AKTIF person belongs to exactly one family of the month; WARN when every family on
    several rows is held (KELUARGA_GANDA) and the rest have no family row (they cannot be paid)."""
    rows = con.execute("""
        SELECT p.family_id, (SELECT count(*) FROM registry.families f
                             WHERE f.period = p.period AND f.family_id = p.family_id) AS n
        FROM registry.persons p WHERE p.period = ? AND p.status = 'AKTIF'
    """, [period]).df()
    bad = rows[rows["n"] != 1]
    held = held_mod.held_of(con, period)
    held_ids = set(held.loc[held["reason_code"] == held_mod.KELUARGA_GANDA, "family_id"])
    several = bad[bad["n"] > 1]
    metadata = {
        "active persons without exactly one family": len(bad),
        "in no family (cannot be paid)": int((bad["n"] == 0).sum()),
        "in a family on several rows": len(several),
        "held families (KELUARGA_GANDA)": len(held_ids),
    }
    if len(bad):
        metadata[CONTAINED] = bool(several["family_id"].isin(held_ids).all())
    return len(bad) == 0, metadata


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
    """person_links holds every staged row of the person-bearing sources used this month: the snapshots it reads
    and the events delivered in it (an earlier month's events are in that month's links)."""
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
            where, params = "s.period = ?", [period]
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
    contained = not passed and metadata.get(CONTAINED, False)
    return dg.AssetCheckResult(
        passed=passed, severity=dg.AssetCheckSeverity.WARN if contained else dg.AssetCheckSeverity.ERROR,
        description="contained: the families concerned are held (payout.held), everyone else is paid" if contained else None,
        metadata={k: dg.MetadataValue.json(v) if isinstance(v, (dict, list)) else v for k, v in metadata.items()})


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
