"""Splink's comparison-viewer and cluster-studio dashboards for the month's review pairs.

Written to `<warehouse dir>/review/<period>/` (review_stage.review_dir) so staff
can look at a pair before deciding it with `dtks review decide`. They need the
resolver's Splink linker and its predictions: `ReviewInputs.linker`,
`.predictions` (the SplinkDataFrame of `linker.inference.predict()`) and
`.clusters` (of `linker.clustering.cluster_pairwise_predictions_at_threshold`).
Splink's unique id (whatever the model's `unique_id_column_name`) is taken to be
the record key; a resolver with other ids passes `unique_id_of_key` (key, unique_id).

The dashboards hold unmasked records: they sit beside the full warehouse, for
cleared staff, never in the analyst file.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

COMPARISON_VIEWER = "comparison_viewer.html"
CLUSTER_STUDIO = "cluster_studio.html"
MAX_CLUSTERS = 200  # cluster studio renders every cluster it is given in one page


def write_dashboards(inputs, review_pairs: pd.DataFrame, out_dir: Path) -> dict[str, str]:
    """Write both dashboards for `review_pairs`; returns {name: path} or {"note": why not}.

    A dashboard is an aid, not part of the month: when Splink cannot draw it (for
    instance a model trained without `retain_intermediate_calculation_columns`), the
    note says why and the month goes on."""
    try:
        return _write(inputs, review_pairs, out_dir)
    except Exception as exc:  # noqa: BLE001 - reported in the asset metadata, never fatal
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        return {"note": f"dashboards not written: {type(exc).__name__}: {first}"}


def _write(inputs, review_pairs: pd.DataFrame, out_dir: Path) -> dict[str, str]:
    linker = getattr(inputs, "linker", None)
    predictions = getattr(inputs, "predictions", None)
    if linker is None or predictions is None:
        return {"note": "no Splink linker from the resolver this month: dashboards not written"}
    if review_pairs.empty:
        return {"note": "no review pairs this month"}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    keys = review_pairs[["key_a", "key_b"]]
    mapping = getattr(inputs, "unique_id_of_key", None)
    if mapping is not None:
        ids = dict(zip(mapping["key"], mapping["unique_id"]))
        keys = pd.DataFrame({"key_a": keys["key_a"].map(ids), "key_b": keys["key_b"].map(ids)}).dropna()
    keys = keys.astype(str)
    uid = linker.misc.save_model_to_json().get("unique_id_column_name", "unique_id")
    linker.table_management.register_table(keys, "__dtks_review_keys", overwrite=True)
    # one equi-join per orientation: an OR of the two makes DuckDB compare every prediction with every review
    # pair (a nested loop: 342 s at 250k families, 3,127 review pairs); a pair is in one orientation only
    subset = linker.misc.query_sql(f"""
        SELECT p.* FROM {predictions.physical_name} p JOIN __dtks_review_keys k
          ON CAST(p."{uid}_l" AS VARCHAR) = k.key_a AND CAST(p."{uid}_r" AS VARCHAR) = k.key_b
        UNION ALL
        SELECT p.* FROM {predictions.physical_name} p JOIN __dtks_review_keys k
          ON CAST(p."{uid}_l" AS VARCHAR) = k.key_b AND CAST(p."{uid}_r" AS VARCHAR) = k.key_a
          AND k.key_a <> k.key_b
    """, output_type="splink_df")
    subset.templated_name = predictions.templated_name  # Splink's dashboard SQL names its input by this
    written: dict[str, str] = {}
    viewer = out_dir / COMPARISON_VIEWER
    linker.visualisations.comparison_viewer_dashboard(subset, str(viewer), overwrite=True, num_example_rows=3)
    written["comparison viewer"] = str(viewer)
    clusters = getattr(inputs, "clusters", None)
    if clusters is None and getattr(inputs, "records", None) is not None and "person_id" in inputs.records:
        clusters = _person_clusters(linker, inputs.records, review_pairs, mapping, uid)
    if clusters is not None:
        cluster_ids = linker.misc.query_sql(f"""
            SELECT DISTINCT c.cluster_id FROM {clusters.physical_name} c JOIN __dtks_review_keys k
              ON CAST(c."{uid}" AS VARCHAR) IN (k.key_a, k.key_b) ORDER BY 1 LIMIT {MAX_CLUSTERS}
        """, output_type="pandas")["cluster_id"].tolist()
        if cluster_ids:
            studio = out_dir / CLUSTER_STUDIO
            linker.visualisations.cluster_studio_dashboard(predictions, clusters, str(studio),
                                                           cluster_ids=cluster_ids, overwrite=True)
            written["cluster studio"] = str(studio)
    return written


def _person_clusters(linker, records: pd.DataFrame, review_pairs: pd.DataFrame, mapping, uid: str):
    """The month's persons as Splink's clustered table (cluster_id = person_id), for the persons of the
    review pairs only: cluster studio then shows each person the model built, with its records."""
    persons = pd.concat([review_pairs["person_id_a"], review_pairs["person_id_b"]]).dropna().unique()[:MAX_CLUSTERS]
    nodes = records[records["person_id"].isin(persons)].copy()
    if nodes.empty:
        return None
    nodes[uid] = nodes["key"].map(dict(zip(mapping["key"], mapping["unique_id"]))) if mapping is not None else nodes["key"]
    nodes = nodes.dropna(subset=[uid]).rename(columns={"person_id": "cluster_id"})
    nodes["tgl_lahir"] = nodes["tgl_lahir"].astype(str) if "tgl_lahir" in nodes else None
    return linker.table_management.register_table(nodes, "__dtks_review_persons", overwrite=True)
