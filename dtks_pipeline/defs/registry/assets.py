"""The registry assets: one multi-asset writes the month's four registry tables together.

They are built together because they are one decision (who is who, who is
still here, which family is excluded) and must never disagree: the four
tables and the surrogate keys are replaced in one transaction.
"""

import time

import dagster as dg

from dtks_pipeline.defs.registry import build as build_mod
from dtks_pipeline.defs.registry import review_stage
from dtks_pipeline.defs.registry.held import HELD_DDL, HELD_REASONS
from dtks_pipeline.defs.registry.review import REVIEW_DDL
from dtks_pipeline.defs.registry.inputs import STAGING_SOURCES
from dtks_pipeline.defs.registry.storage import write_registry
from dtks_pipeline.defs.shared import OWNERS, WAREHOUSE_POOL, WarehouseResource, monthly_partitions

GROUP = "registry"
KINDS = {"duckdb"}
CANDIDATE_PAIRS_METADATA = "candidate pairs per blocking rule"  # also read by benchmarks.pipeline

PERSONS = dg.AssetKey(["registry", "persons"])
PERSON_LINKS = dg.AssetKey(["registry", "person_links"])
FAMILIES = dg.AssetKey(["registry", "families"])
EXCLUSIONS = dg.AssetKey(["registry", "exclusions"])
REVIEW_PAIRS = dg.AssetKey(["registry", "review_pairs"])
HELD = dg.AssetKey(["payout", "held"])
STAGING_KEYS = [dg.AssetKey(["staging", s]) for s in STAGING_SOURCES]


def _schema(columns: dict[str, str]) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(name, type_, description=desc) for name, (type_, desc) in columns.items()])


def _schema_from_ddl(ddl: str) -> dg.TableSchema:
    """The column schema of a table whose DDL is declared in its own module, e.g. '(period VARCHAR, ...)'."""
    columns = [part.strip().split(" ", 1) for part in ddl.strip("() ").split(",")]
    return dg.TableSchema(columns=[dg.TableColumn(name, type_) for name, type_ in columns])



PERSONS_SCHEMA = _schema({
    "period": ("VARCHAR", "month YYYY-MM"), "person_id": ("VARCHAR", "P + 8 digits, stable across months"),
    "nik": ("VARCHAR", "NIK after village corrections"), "nama": ("VARCHAR", "name"),
    "jenis_kelamin": ("VARCHAR", "L/P"), "tgl_lahir": ("DATE", "birth date"), "nokk": ("VARCHAR", "family card"),
    "family_id": ("VARCHAR", "K + 8 digits"), "hub_kel": ("INTEGER", "relation to the family head"),
    "kode_desa": ("VARCHAR", "village, after moves inside Buleleng"),
    "status": ("VARCHAR", "AKTIF, MENINGGAL or PINDAH"), "status_date": ("DATE", "date of the status event"),
    "status_source": ("VARCHAR", "source of the status event"),
})
LINKS_SCHEMA = _schema({
    "period": ("VARCHAR", "registry month"), "source": ("VARCHAR", "staging source"),
    "source_file": ("VARCHAR", "file"), "source_row": ("BIGINT", "1-based row"),
    "person_id": ("VARCHAR", "NULL when TIDAK_DITEMUKAN"),
    "match_rule": ("VARCHAR", "DTKS, TAMBAH_BARU, GANDA_NIK_<kind>, TAMBAH_TERDAFTAR_NIK_<kind>, NIK_<kind> "
                              "(kind: SAMA, SATU_DIGIT, TUKAR_DIGIT, BEDA), KEPUTUSAN_SAMA, TIDAK_DITEMUKAN"),
    "match_score": ("DOUBLE", "Splink match probability of the row's best pair (NULL for the row founding a person)"),
    "source_period": ("VARCHAR", "period of the staged row"),
})
FAMILIES_SCHEMA = _schema({
    "period": ("VARCHAR", "month"), "family_id": ("VARCHAR", "K + 8 digits"), "nokk": ("VARCHAR", "family card"),
    "kepala_person_id": ("VARCHAR", "family head"), "kode_desa": ("VARCHAR", "village"),
    "desil": ("INTEGER", "DTKS decile, or DESIL_USULAN of a village TAMBAH"),
    "n_anggota_aktif": ("INTEGER", "AKTIF members"), "status": ("VARCHAR", "AKTIF, TIDAK_AKTIF, DIKECUALIKAN"),
})
EXCLUSIONS_SCHEMA = _schema({
    "period": ("VARCHAR", "month"), "family_id": ("VARCHAR", "family"), "person_id": ("VARCHAR", "person (person-level reasons)"),
    "reason_code": ("VARCHAR", "MENINGGAL, PINDAH, MAMPU_MOBIL, MAMPU_DESA, TIDAK_DITEMUKAN"),
    "evidence_source": ("VARCHAR", "staging source"), "evidence_file": ("VARCHAR", "file"),
    "evidence_row": ("BIGINT", "row"), "effective_date": ("DATE", "date of the event"),
    "evidence_period": ("VARCHAR", "period of the evidence row"),
})


@dg.multi_asset(
    specs=[
        dg.AssetSpec(PERSONS, deps=STAGING_KEYS, group_name=GROUP, kinds=KINDS, owners=OWNERS,
                     metadata={"dagster/column_schema": PERSONS_SCHEMA},
                     description="One row per real person of the month after deduplication, with status "
                                 "(AKTIF / MENINGGAL / PINDAH) and a person_id stable across months."),
        dg.AssetSpec(PERSON_LINKS, deps=STAGING_KEYS, group_name=GROUP, kinds=KINDS, owners=OWNERS,
                     metadata={"dagster/column_schema": LINKS_SCHEMA},
                     description="Every staged row of a person-bearing source used this month, with the person "
                                 "it refers to (or TIDAK_DITEMUKAN), the match rule and the match weight."),
        dg.AssetSpec(FAMILIES, deps=STAGING_KEYS, group_name=GROUP, kinds=KINDS, owners=OWNERS,
                     metadata={"dagster/column_schema": FAMILIES_SCHEMA},
                     description="One row per NOKK: head, village, decile, active members, status."),
        dg.AssetSpec(EXCLUSIONS, deps=STAGING_KEYS, group_name=GROUP, kinds=KINDS, owners=OWNERS,
                     metadata={"dagster/column_schema": EXCLUSIONS_SCHEMA},
                     description="Why a person left the active registry or a family may not receive aid, "
                                 "with the staged row as evidence."),
        dg.AssetSpec(REVIEW_PAIRS, deps=STAGING_KEYS, group_name=GROUP, kinds=KINDS, owners=OWNERS,
                     metadata={"dagster/column_schema": _schema_from_ddl(REVIEW_DDL)},
                     description="Pairs for staff to decide SAMA/BEDA (`dtks review`): uncertain match "
                                 "probability (RAGU) or two active persons sharing a NIK (NIK_GANDA)."),
        dg.AssetSpec(HELD, deps=STAGING_KEYS, group_name=GROUP, kinds=KINDS, owners=OWNERS,
                     metadata={"dagster/column_schema": _schema_from_ddl(HELD_DDL)},
                     description="Families held back from payment this month and why (NIK_GANDA, "
                                 "KELUARGA_GANDA); everyone else is paid."),
    ],
    partitions_def=monthly_partitions,
    pool=WAREHOUSE_POOL,
    can_subset=False,
)
def registry_tables(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Resolve the month's staged rows into persons, links, families and exclusions."""
    period = context.partition_key
    started = time.perf_counter()
    con = warehouse.connect()
    try:
        try:
            result = build_mod.build_registry(con, period)
        except build_mod.RegistryOrderError as exc:
            raise dg.Failure(description=str(exc)) from exc
        t = time.perf_counter()
        write_registry(con, result)
        result.seconds["write"] = round(time.perf_counter() - t, 2)
        counts = result.counts(con)
        t = time.perf_counter()
        inputs, review_persons = _review_inputs(con, result)
        result.seconds["review_inputs"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        review = review_stage.run_review(con, period, review_persons, inputs,
                                         review_stage.review_dir(warehouse.working_path, period))
        result.seconds["review"] = round(time.perf_counter() - t, 2)
    finally:
        con.close()
    seconds = round(time.perf_counter() - started, 2)
    context.log.info(f"registry {period}: candidate pairs per blocking rule {result.candidates.counts}; "
                     f"stage seconds {result.seconds}")
    context.log.info(
        f"registry {period}: {counts['persons']['rows']} persons, {counts['families']['rows']} families, "
        f"{counts['exclusions']['rows']} exclusions, {counts['person_links']['rows']} links in {seconds}s"
    )
    common = {"snapshot/periods used": dg.MetadataValue.json(result.used_periods), "seconds": seconds,
              CANDIDATE_PAIRS_METADATA: dg.MetadataValue.json(result.candidates.counts),
              "stage seconds": dg.MetadataValue.json(result.seconds),
              "linkage model": dg.MetadataValue.json(result.scored.parameters)}
    review_meta = review.metadata()
    yield dg.MaterializeResult(asset_key=PERSONS, metadata={
        **common, **{k: dg.MetadataValue.json(v) for k, v in review_meta.items()}, "dagster/row_count": counts["persons"]["rows"], "dagster/column_schema": PERSONS_SCHEMA,
        "by status": dg.MetadataValue.json(counts["persons"]["by status"]),
        "new person ids": counts["persons"]["new person ids"],
    })
    yield dg.MaterializeResult(asset_key=PERSON_LINKS, metadata={
        **common, "dagster/row_count": counts["person_links"]["rows"], "dagster/column_schema": LINKS_SCHEMA,
        "by rule": dg.MetadataValue.json(counts["person_links"]["by match_rule"]),
    })
    yield dg.MaterializeResult(asset_key=FAMILIES, metadata={
        "dagster/row_count": counts["families"]["rows"], "dagster/column_schema": FAMILIES_SCHEMA,
        "by status": dg.MetadataValue.json(counts["families"]["by status"]),
    })
    yield dg.MaterializeResult(asset_key=EXCLUSIONS, metadata={
        "dagster/row_count": counts["exclusions"]["rows"], "dagster/column_schema": EXCLUSIONS_SCHEMA,
        "by reason": dg.MetadataValue.json(counts["exclusions"]["by reason_code"]),
    })
    yield dg.MaterializeResult(asset_key=REVIEW_PAIRS, metadata={
        "dagster/row_count": len(review.review_pairs), **{k: dg.MetadataValue.json(v) for k, v in review_meta.items()},
    })
    yield dg.MaterializeResult(asset_key=HELD, metadata={
        "dagster/row_count": len(review.held),
        "families held": review_meta["held families"]["families"],
        "by reason": dg.MetadataValue.json(review_meta["held families"]["by reason"]),
        "reasons": dg.MetadataValue.json(HELD_REASONS),
    })


def _review_inputs(con, result) -> tuple[review_stage.ReviewInputs, "pd.DataFrame"]:
    """The review stage's inputs from the resolver's tables (build.RegistryBuild.review_frames: only the
    pairs in the uncertain band or behind a NIK conflict, their records and the conflicting persons),
    with the trained Splink linker for the dashboards; and the persons frame run_review takes."""
    from dtks_pipeline.defs.registry.clustering import MATCH_PROBABILITY
    from dtks_pipeline.defs.registry.review import uncertain_band

    scored, records, persons = result.review_frames(con, *uncertain_band(MATCH_PROBABILITY))
    inputs = review_stage.ReviewInputs(
        scored=scored, records=records,
        threshold_probability=MATCH_PROBABILITY, linker=result.scored.linker,
        predictions=result.scored.predictions,
        unique_id_of_key=records[["key", "mid"]].rename(columns={"mid": "unique_id"}),
    )
    return inputs, persons
