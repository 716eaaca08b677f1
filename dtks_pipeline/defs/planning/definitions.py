"""Domain: planning. The `dtks_simulation` job (what-if simulation of a programs file).

Modules: scenario (load and check a scenario against the data), simulate (the
project's allocation on the published months), compare (the views), workbook,
page, store (simulation.* DuckDB file), run (`dtks simulate`), jobs.
"""
import dagster as dg

from dtks_pipeline.defs.planning.jobs import simulation_job

defs = dg.Definitions(jobs=[simulation_job])
