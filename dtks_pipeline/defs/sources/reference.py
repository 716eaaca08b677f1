"""ref.wilayah: Buleleng's Kemendagri region codes, shipped with the package."""

import dagster as dg

from dtks_pipeline.defs.shared import OWNERS, WAREHOUSE_POOL, WarehouseResource, monthly_partitions
from dtks_pipeline.lib import regions
from dtks_pipeline.lib.warehouse import transaction


@dg.asset(
    key=["ref", "wilayah"],
    # Partitioned like everything else so that one monthly job covers the whole graph;
    # every month rewrites the same small table.
    partitions_def=monthly_partitions,
    group_name="ingestion",
    kinds={"duckdb", "csv"},
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    description="Kemendagri codes of Bali, Buleleng, its 9 kecamatan and 148 desa/kelurahan (Kepmendagri 300.2.2-2138/2025).",
    metadata={
        "dagster/column_schema": dg.TableSchema(columns=[
            dg.TableColumn("kode", "string", description="10-digit village code, 6-digit kecamatan, 4-digit kabupaten"),
            dg.TableColumn("kode_dotted", "string", description="as written by Kemendagri: 51.08.01.2001"),
            dg.TableColumn("tingkat", "string", description="provinsi, kabupaten, kecamatan, desa, kelurahan"),
            dg.TableColumn("nama", "string"),
        ])
    },
)
def ref_wilayah(warehouse: WarehouseResource) -> dg.MaterializeResult:
    frame = regions.wilayah().rename(columns={"kode": "kode_dotted", "kode_digits": "kode"})[["kode", "kode_dotted", "tingkat", "nama"]]
    with warehouse.connect() as con:
        with transaction(con):
            con.execute("CREATE OR REPLACE TABLE ref.wilayah AS SELECT * FROM frame")
    return dg.MaterializeResult(metadata={"dagster/row_count": len(frame), "villages": int(frame["tingkat"].isin(["desa", "kelurahan"]).sum())})
