"""Domain: reports. The `reports/monthly` asset (one HTML page per month, after publication).

Modules: formatting (Indonesian numbers and labels), charts (Altair -> SVG via
vl-convert), html (the self-contained page), monthly_data (the aggregates),
monthly (the report and `dtks report`), assets.
"""
import dagster as dg

from dtks_pipeline.defs.reports.assets import monthly_report

defs = dg.Definitions(assets=[monthly_report])
