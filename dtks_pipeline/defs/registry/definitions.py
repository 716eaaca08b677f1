"""Domain: registry (resolution, statuses, families, exclusions)."""
import dagster as dg

from dtks_pipeline.defs.registry.assets import registry_tables
from dtks_pipeline.defs.registry.checks import ASSET_CHECKS

defs = dg.Definitions(assets=[registry_tables], asset_checks=ASSET_CHECKS)
