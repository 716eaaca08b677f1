"""Payout assets: thin wiring of the allocation rules to the warehouse.

`payout_allocation` (one multi-asset: payout/payments, payout/waiting_list,
payout/changes, computed together and written in one transaction) reads the
registry of month P and payout.payments of P-1; `payout/summary` aggregates
P's payments by kecamatan and village and refreshes the `payout.budget` view.

Months depend on their predecessor (incumbency): payments declare a
self-dependency on the previous partition so backfills run in order, and an
out-of-order run fails with PreviousMonthMissing.
"""

import dagster as dg
import pandas as pd

from dtks_pipeline.defs.payout.allocation import allocate, load_registry_month
from dtks_pipeline.defs.payout.programs import SECTOR_SOURCES, ProgramsResource
from dtks_pipeline.defs.payout.tables import (
    DDL,
    PreviousMonthMissing,
    previous_payments,
    write_allocation,
    write_summary,
)
from dtks_pipeline.defs.shared import OWNERS, FIRST_MONTH, WAREHOUSE_POOL, WarehouseResource, monthly_partitions
from dtks_pipeline.lib.masking import preview_markdown
from dtks_pipeline.lib.warehouse import table_exists

GROUP = "payout"
KINDS = {"duckdb"}
PAYMENTS = dg.AssetKey(["payout", "payments"])
WAITING_LIST = dg.AssetKey(["payout", "waiting_list"])
CHANGES = dg.AssetKey(["payout", "changes"])
SUMMARY = dg.AssetKey(["payout", "summary"])
REGISTRY_TABLES = ("persons", "families", "exclusions", "person_links")
# payout/held (families held back by a registry conflict) is written with the registry (registry/held.py).
REGISTRY_KEYS = [dg.AssetKey(["registry", t]) for t in REGISTRY_TABLES] + [dg.AssetKey(["payout", "held"])]

PAYMENTS_SCHEMA = dg.TableSchema(columns=[
    dg.TableColumn("period", "VARCHAR", description="YYYY-MM"),
    dg.TableColumn("program", "VARCHAR", description="program code (programs.yaml)"),
    dg.TableColumn("family_id", "VARCHAR"),
    dg.TableColumn("nokk", "VARCHAR", description="16-digit family card number (personal data)"),
    dg.TableColumn("recipient_person_id", "VARCHAR"),
    dg.TableColumn("recipient_nik", "VARCHAR", description="personal data"),
    dg.TableColumn("recipient_nama", "VARCHAR", description="personal data"),
    dg.TableColumn("kode_desa", "VARCHAR"),
    dg.TableColumn("amount_idr", "BIGINT"),
    dg.TableColumn("rank", "INTEGER", description="position among the program's eligible families"),
    dg.TableColumn("entry_reason", "VARCHAR", description="LANJUTAN or BARU"),
])


def ddl_schema(qualified: str) -> dg.TableSchema:
    """The UI column schema of a payout table, read from its DDL (tables.DDL)."""
    body = DDL[qualified].strip().strip("()")
    pairs = [part.split() for part in body.split(",") if part.strip()]
    return dg.TableSchema(columns=[dg.TableColumn(name, type_) for name, type_ in pairs])


def masked_preview(frame: pd.DataFrame, n: int = 5) -> dg.MetadataValue:
    """First rows as markdown: NIK/NOKK masked (6 + 2 digits), names reduced to initials."""
    return dg.MetadataValue.md(preview_markdown(frame, rows=n))


def _require_registry(con, period: str) -> None:
    """Fail clearly when the registry of P is absent (persons and families must have rows)."""
    missing = [f"registry.{t}" for t in REGISTRY_TABLES if not table_exists(con, f"registry.{t}")]
    missing += [
        f"registry.{t} (no rows for {period})" for t in ("persons", "families")
        if f"registry.{t}" not in missing
        and not con.execute(f"SELECT count(*) FROM registry.{t} WHERE period = ?", [period]).fetchone()[0]
    ]
    if missing:
        raise dg.Failure(
            description=f"payout for {period} needs the registry of {period}; missing: {', '.join(missing)}. "
            "Materialize the registry assets of this month first."
        )


def _counts(frame: pd.DataFrame, column: str) -> dict:
    return {str(k): int(v) for k, v in frame[column].value_counts().sort_index().items()} if len(frame) else {}


@dg.multi_asset(
    name="payout_allocation",
    specs=[
        dg.AssetSpec(
            PAYMENTS,
            description="One row per family paid in the month: program, recipient, amount, rank, LANJUTAN/BARU (PROGRAMS.md).",
            deps=[*REGISTRY_KEYS, dg.AssetDep(PAYMENTS, partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1))],
            group_name=GROUP, kinds=KINDS, owners=OWNERS,
            metadata={"dagster/column_schema": PAYMENTS_SCHEMA, "dagster/table_name": "payout.payments"},
        ),
        dg.AssetSpec(
            WAITING_LIST,
            description="Eligible families beyond the quota, per program, in rank order.",
            deps=REGISTRY_KEYS, group_name=GROUP, kinds=KINDS, owners=OWNERS,
            metadata={"dagster/table_name": "payout.waiting_list", "dagster/column_schema": ddl_schema("payout.waiting_list")},
        ),
        dg.AssetSpec(
            CHANGES,
            description="Families that entered (MASUK) or left (KELUAR) each program against the previous month, with reason_code.",
            deps=REGISTRY_KEYS, group_name=GROUP, kinds=KINDS, owners=OWNERS,
            metadata={"dagster/table_name": "payout.changes", "dagster/column_schema": ddl_schema("payout.changes")},
        ),
    ],
    partitions_def=monthly_partitions,
    pool=WAREHOUSE_POOL,
    can_subset=False,
)
def payout_allocation(context: dg.AssetExecutionContext, warehouse: WarehouseResource, programs: ProgramsResource):
    period = context.partition_key
    progs = programs.load()
    con = warehouse.connect()
    try:
        _require_registry(con, period)
        try:
            prev = previous_payments(con, period, progs, FIRST_MONTH)
        except PreviousMonthMissing as err:
            raise dg.Failure(description=str(err)) from err
        month = load_registry_month(con, period, SECTOR_SOURCES)
        result = allocate(month, progs, prev)
        write_allocation(con, result, period, progs, str(programs.resolved_path()))
    finally:
        con.close()

    pay, wait, chg = result.payments, result.waiting_list, result.changes
    paying = [p for p in progs if p.pays_in(period)]
    shortfall = {p.code: p.quota_for(period) - int((pay["program"] == p.code).sum()) for p in paying}
    context.log.info(
        f"{period}: {len(pay):,} payments, Rp{int(pay['amount_idr'].sum()):,}; "
        f"per program {_counts(pay, 'program')}; waiting {len(wait):,}; changes {len(chg):,}"
    )
    yield dg.MaterializeResult(asset_key=PAYMENTS, metadata={
        "dagster/row_count": len(pay),
        "amount_idr": int(pay["amount_idr"].sum()) if len(pay) else 0,
        "kpm_per_program": _counts(pay, "program"),
        "entry_reason": _counts(pay, "entry_reason"),
        "eligible_per_program": result.eligible_counts,
        "shortfall_per_program": {k: v for k, v in shortfall.items() if v > 0},
        "programs_file": str(programs.resolved_path()),
        "preview": masked_preview(pay),
    })
    yield dg.MaterializeResult(asset_key=WAITING_LIST, metadata={
        "dagster/row_count": len(wait),
        "per_program": _counts(wait, "program"),
        "preview": masked_preview(wait),
    })
    yield dg.MaterializeResult(asset_key=CHANGES, metadata={
        "dagster/row_count": len(chg),
        "masuk": int((chg["change"] == "MASUK").sum()),
        "keluar": int((chg["change"] == "KELUAR").sum()),
        "keluar_reasons": _counts(chg[chg["change"] == "KELUAR"], "reason_code"),
        "preview": masked_preview(chg),
    })


@dg.asset(
    key=SUMMARY,
    description="KPM and rupiah per program, kecamatan and village (the budget view); refreshes payout.budget across months.",
    deps=[PAYMENTS],
    partitions_def=monthly_partitions,
    group_name=GROUP, kinds=KINDS, owners=OWNERS, pool=WAREHOUSE_POOL,
    metadata={"dagster/table_name": "payout.summary", "dagster/column_schema": ddl_schema("payout.summary")},
)
def payout_summary(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    period = context.partition_key
    con = warehouse.connect()
    try:
        summary = write_summary(con, period)
    finally:
        con.close()
    per_program = summary.groupby("program")[["n_kpm", "amount_idr"]].sum() if len(summary) else pd.DataFrame()
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(summary),
        "kpm_total": int(summary["n_kpm"].sum()) if len(summary) else 0,
        "amount_idr_total": int(summary["amount_idr"].sum()) if len(summary) else 0,
        "amount_idr_per_program": {k: int(v) for k, v in per_program.get("amount_idr", pd.Series(dtype=int)).items()},
        "kecamatan": int(summary["kode_kecamatan"].nunique()) if len(summary) else 0,
        "preview": masked_preview(summary),
    })
