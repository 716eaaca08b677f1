"""Domain: payout. Who is paid what each month (PROGRAMS.md, WAREHOUSE.md payout schema).

Assets: payout/payments, payout/waiting_list, payout/changes (one multi-asset),
payout/summary. Blocking checks reconcile every month. The programs file comes
from the `programs` resource (default: $DTKS_PROGRAMS, else the packaged
programs.yaml). `payout_table` prints a month's program table for the CLI.
"""
import dagster as dg

from dtks_pipeline.defs.payout.assets import payout_allocation, payout_summary
from dtks_pipeline.defs.payout.checks import ASSET_CHECKS
from dtks_pipeline.defs.payout.programs import ProgramsResource, load_programs
from dtks_pipeline.defs.payout.tables import format_payout_table, payout_table

defs = dg.Definitions(
    assets=[payout_allocation, payout_summary],
    asset_checks=ASSET_CHECKS,
    resources={"programs": ProgramsResource()},
)

__all__ = ["defs", "payout_table", "format_payout_table", "load_programs", "ProgramsResource"]
