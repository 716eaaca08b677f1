"""Reconciliation of a month's payout (PROGRAMS.md "What every number must
reconcile to"), as blocking asset checks: a failing check stops the month from
being summarised and published.

The SQL lives in `reconcile_*` functions (no Dagster) so tests and the
benchmark can call them directly; each returns (passed, metadata).
"""

import dagster as dg
import duckdb

from dtks_pipeline.defs.payout.assets import PAYMENTS, SUMMARY
from dtks_pipeline.lib.masking import mask_id_value
from dtks_pipeline.defs.payout.programs import Program, ProgramsResource
from dtks_pipeline.defs.shared import WAREHOUSE_POOL, WarehouseResource
from dtks_pipeline.lib.warehouse import table_exists


def reconcile_quota(con: duckdb.DuckDBPyConnection, period: str, programs: list[Program]) -> tuple[bool, dict]:
    """Each paying program pays its quota, or pays every eligible family (shortfall reported).

    Fails when a program pays more than its quota, pays less while families
    wait, or a program outside its months pays anything.
    """
    paid = dict(con.execute("SELECT program, count(*) FROM payout.payments WHERE period = ? GROUP BY 1", [period]).fetchall())
    waiting = dict(con.execute("SELECT program, count(*) FROM payout.waiting_list WHERE period = ? GROUP BY 1", [period]).fetchall())
    problems, shortfall, per_program = [], {}, {}
    configured = {p.code: p for p in programs}
    for code in paid:
        if code not in configured or not configured[code].pays_in(period):
            problems.append(f"{code} pays {paid[code]} in {period}, outside its configured months")
    for p in programs:
        if not p.pays_in(period):
            continue
        n, quota, w = paid.get(p.code, 0), p.quota_for(period), waiting.get(p.code, 0)
        per_program[p.code] = {"paid": n, "quota": quota, "waiting": w}
        if n > quota:
            problems.append(f"{p.code} pays {n} > quota {quota}")
        elif n < quota:
            shortfall[p.code] = quota - n
            if w:
                problems.append(f"{p.code} pays {n} < quota {quota} while {w} families wait")
    return not problems, {"per_program": per_program, "shortfall": shortfall, "problems": problems}


def reconcile_one_program(con: duckdb.DuckDBPyConnection, period: str) -> tuple[bool, dict]:
    """No family appears twice in a month (one program per family)."""
    dupes = con.execute(
        """SELECT family_id, list(program ORDER BY program) AS programs FROM payout.payments
           WHERE period = ? GROUP BY family_id HAVING count(*) > 1 ORDER BY family_id""",
        [period],
    ).fetchall()
    return not dupes, {"families_paid_twice": len(dupes), "examples": [f"{f}: {p}" for f, p in dupes[:5]]}


def reconcile_recipients(con: duckdb.DuckDBPyConnection, period: str) -> tuple[bool, dict]:
    """Every recipient is an AKTIF member of the paid family in registry.persons of P, NIK matching."""
    bad = con.execute(
        """SELECT p.program, p.family_id, p.recipient_nik, r.status, r.family_id AS registry_family
           FROM payout.payments p
           LEFT JOIN registry.persons r ON r.period = p.period AND r.person_id = p.recipient_person_id
           WHERE p.period = ?
             AND (r.person_id IS NULL OR r.status <> 'AKTIF' OR r.family_id IS DISTINCT FROM p.family_id
                  OR r.nik IS DISTINCT FROM p.recipient_nik)""",
        [period],
    ).fetchall()
    examples = [f"{prog} {fam} NIK {mask_id_value(nik)} status={st} family={rf}" for prog, fam, nik, st, rf in bad[:5]]
    return not bad, {"bad_recipients": len(bad), "examples": examples}


def reconcile_amounts(con: duckdb.DuckDBPyConnection, period: str, programs: list[Program]) -> tuple[bool, dict]:
    """Every payment carries its program's configured amount."""
    rows = con.execute(
        "SELECT program, amount_idr, count(*) FROM payout.payments WHERE period = ? GROUP BY 1, 2", [period]
    ).fetchall()
    configured = {p.code: p.amount_idr for p in programs}
    wrong = [f"{prog}: {n} rows of Rp{amt:,} (configured {configured.get(prog)})" for prog, amt, n in rows if configured.get(prog) != amt]
    return not wrong, {"wrong_amounts": wrong, "configured": configured}


def reconcile_totals(con: duckdb.DuckDBPyConnection, period: str, programs: list[Program]) -> tuple[bool, dict]:
    """The month's total equals the sum over programs, in payments and in summary alike."""
    per_program = dict(con.execute(
        "SELECT program, sum(amount_idr)::BIGINT FROM payout.payments WHERE period = ? GROUP BY 1", [period]
    ).fetchall())
    amount = {p.code: p.amount_idr for p in programs}
    counts = con.execute("SELECT program, count(*) FROM payout.payments WHERE period = ? GROUP BY 1", [period]).fetchall()
    expected = {code: amount.get(code, 0) * n for code, n in counts}
    pay_total = con.execute("SELECT coalesce(sum(amount_idr), 0)::BIGINT FROM payout.payments WHERE period = ?", [period]).fetchone()[0]
    sum_total, sum_kpm = con.execute(
        "SELECT coalesce(sum(amount_idr), 0)::BIGINT, coalesce(sum(n_kpm), 0)::BIGINT FROM payout.summary WHERE period = ?", [period]
    ).fetchone()
    pay_kpm = con.execute("SELECT count(*) FROM payout.payments WHERE period = ?", [period]).fetchone()[0]
    summary_per_program = dict(con.execute(
        "SELECT program, sum(amount_idr)::BIGINT FROM payout.summary WHERE period = ? GROUP BY 1", [period]
    ).fetchall())
    passed = (
        pay_total == sum(per_program.values()) == sum_total
        and pay_kpm == sum_kpm
        and per_program == expected == summary_per_program
    )
    return passed, {
        "month_total_idr": int(pay_total), "summary_total_idr": int(sum_total),
        "kpm": int(pay_kpm), "summary_kpm": int(sum_kpm),
        "per_program_idr": {k: int(v) for k, v in per_program.items()},
    }


def reconcile_held(con: duckdb.DuckDBPyConnection, period: str) -> tuple[bool, dict]:
    """No family held in payout.held is paid or waiting this month."""
    if not table_exists(con, "payout.held"):
        return True, {"held_families": 0, "held_but_paid": 0, "held_but_waiting": 0}
    held = "SELECT family_id FROM payout.held WHERE period = ?"
    paid = con.execute(f"SELECT count(*) FROM payout.payments WHERE period = ? AND family_id IN ({held})", [period, period]).fetchone()[0]
    waiting = con.execute(f"SELECT count(*) FROM payout.waiting_list WHERE period = ? AND family_id IN ({held})", [period, period]).fetchone()[0]
    n = con.execute("SELECT count(DISTINCT family_id) FROM payout.held WHERE period = ?", [period]).fetchone()[0]
    return paid == 0 and waiting == 0, {"held_families": int(n), "held_but_paid": int(paid), "held_but_waiting": int(waiting)}


def _result(passed: bool, metadata: dict) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=bool(passed), severity=dg.AssetCheckSeverity.ERROR, metadata=metadata)


_CHECK = dict(blocking=True, pool=WAREHOUSE_POOL)


@dg.asset_check(asset=PAYMENTS, name="quota_filled_or_shortfall_reported", description=reconcile_quota.__doc__, **_CHECK)
def quota_check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, programs: ProgramsResource) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        return _result(*reconcile_quota(con, context.partition_key, programs.load()))


@dg.asset_check(asset=PAYMENTS, name="one_program_per_family", description=reconcile_one_program.__doc__, **_CHECK)
def one_program_check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        return _result(*reconcile_one_program(con, context.partition_key))


@dg.asset_check(asset=PAYMENTS, name="recipient_is_active_member", description=reconcile_recipients.__doc__, **_CHECK)
def recipient_check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        return _result(*reconcile_recipients(con, context.partition_key))


@dg.asset_check(asset=PAYMENTS, name="amounts_as_configured", description=reconcile_amounts.__doc__, **_CHECK)
def amount_check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, programs: ProgramsResource) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        return _result(*reconcile_amounts(con, context.partition_key, programs.load()))


@dg.asset_check(asset=SUMMARY, name="month_total_is_sum_over_programs", description=reconcile_totals.__doc__, **_CHECK)
def total_check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, programs: ProgramsResource) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        return _result(*reconcile_totals(con, context.partition_key, programs.load()))


@dg.asset_check(asset=PAYMENTS, name="held_families_not_paid", description=reconcile_held.__doc__, **_CHECK)
def held_check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        return _result(*reconcile_held(con, context.partition_key))


ASSET_CHECKS = [quota_check, one_program_check, recipient_check, amount_check, total_check, held_check]
