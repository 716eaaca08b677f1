"""The whole project's Definitions load, carry the GX checks, and describe every asset fully."""
from __future__ import annotations

import dagster as dg
import pytest

from dtks_pipeline.defs.quality.suites import SUITES

REQUIRED = ("description", "group", "kinds", "owners", "dagster/column_schema")


@pytest.fixture(scope="module")
def asset_graph():
    from dtks_pipeline.definitions import defs

    return defs.resolve_asset_graph()


def test_definitions_load_with_a_blocking_gx_check_per_table(asset_graph):
    from dtks_pipeline.definitions import defs

    checks = {k for k in asset_graph.asset_check_keys if k.name == "gx_suite"}
    assert checks == {dg.AssetCheckKey(dg.AssetKey(t.split(".")), "gx_suite") for t in SUITES}
    for key in checks:
        assert asset_graph.get_check_spec(key).blocking, key
    assert defs.resolve_job_def("dtks_monthly") is not None


# Assets that publish files rather than hold one table: no column schema to show.
NOT_A_TABLE = {dg.AssetKey(["operations", "published_warehouse"]), dg.AssetKey(["reports", "monthly"])}


def _gaps(node) -> list[str]:
    gaps = []
    if not (node.description or "").strip():
        gaps.append("description")
    if not node.group_name or node.group_name == "default":
        gaps.append("group")
    if not node.kinds:
        gaps.append("kinds")
    if not node.owners:
        gaps.append("owners")
    schema = (node.metadata or {}).get("dagster/column_schema")
    if node.key not in NOT_A_TABLE and (not isinstance(schema, dg.TableSchema) or not schema.columns):
        gaps.append("dagster/column_schema")
    return gaps


def _asset_keys():
    from dtks_pipeline.definitions import defs

    return sorted(defs.resolve_asset_graph().get_all_asset_keys(), key=lambda k: k.to_user_string())


@pytest.mark.parametrize("key", _asset_keys(), ids=lambda k: k.to_user_string())
def test_every_asset_is_fully_described(asset_graph, key):
    """Description, group, kinds, owners and a column schema in the asset's *definition* metadata
    (a schema only in materialization metadata is invisible until the asset first runs)."""
    gaps = _gaps(asset_graph.get(key))
    assert not gaps, f"{key.to_user_string()} lacks {', '.join(gaps)} in its definition"
