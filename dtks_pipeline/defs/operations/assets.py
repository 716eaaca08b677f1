"""The publication asset: the last step of every month.

`operations/published_warehouse` depends on every other asset of the pipeline,
so Dagster runs it only after all of them (and their blocking checks) have
succeeded in the run; a failed blocking check upstream therefore stops
publication, and readers keep the last good warehouse.
"""

from collections.abc import Iterable, Sequence

import dagster as dg

from dtks_pipeline.defs.operations.publish import publish
from dtks_pipeline.defs.shared import OWNERS, WAREHOUSE_POOL, WarehouseResource, monthly_partitions

PUBLISHED_KEY = dg.AssetKey(["operations", "published_warehouse"])


def asset_keys_of(defs_list: Iterable[dg.Definitions]) -> list[dg.AssetKey]:
    """Every asset key the given domain Definitions define (assets, multi-assets, specs)."""
    keys: set[dg.AssetKey] = set()
    for defs in defs_list:
        for item in defs.assets or []:
            if isinstance(item, dg.AssetsDefinition):
                keys.update(item.keys)
            elif isinstance(item, dg.AssetSpec):
                keys.add(item.key)
            elif hasattr(item, "key"):
                keys.add(item.key)
    keys.discard(PUBLISHED_KEY)
    return sorted(keys, key=lambda k: k.to_user_string())


def build_published_warehouse(upstream: Sequence[dg.AssetKey]) -> dg.AssetsDefinition:
    """The publication asset, depending on `upstream` (all other assets of the month)."""

    @dg.asset(
        key=PUBLISHED_KEY,
        group_name="operations",
        partitions_def=monthly_partitions,
        pool=WAREHOUSE_POOL,
        kinds={"duckdb"},
        owners=OWNERS,
        deps=list(upstream),
        description=(
            "Publishes the month atomically: a copy of the published file (one self-contained "
            "DuckDB file) gets the month's rows (earlier months kept as they are) and is swapped in, "
            "and the analyst-only file (masked NIK/NOKK, no birth dates) is updated the same way. Runs last: every "
            "other asset of the month and its blocking checks must have passed."
        ),
    )
    def published_warehouse(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        result = publish(warehouse.working_path, warehouse.published_path, period=context.partition_key)
        if result.skipped:
            context.log.warning(f"analyst tables not built (source table missing): {', '.join(result.skipped)}")
        return dg.MaterializeResult(
            metadata={
                "period": context.partition_key,
                "published_path": dg.MetadataValue.path(str(result.published_path)),
                "analyst_path": dg.MetadataValue.path(str(result.analyst_path)),
                "published_mb": round(result.published_bytes / 1e6, 2),
                "analyst_mb": round(result.analyst_bytes / 1e6, 2),
                "analyst_row_counts": dg.MetadataValue.json(result.analyst_tables),
                "analyst_tables_missing": dg.MetadataValue.json(result.skipped),
                "publish_seconds": round(result.seconds, 3),
                "periods_written": dg.MetadataValue.json(result.periods_written),
                "periods_reused": result.periods_reused,
                "tables_rebuilt": dg.MetadataValue.json(result.tables_rebuilt),
                "stage seconds": dg.MetadataValue.json(result.stage_seconds),
            }
        )

    return published_warehouse
