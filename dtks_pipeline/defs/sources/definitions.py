import dagster as dg

from dtks_pipeline.defs.sources.assets import staging_assets, staging_checks
from dtks_pipeline.defs.sources.reference import ref_wilayah

defs = dg.Definitions(assets=[ref_wilayah, *staging_assets.values()], asset_checks=staging_checks)
