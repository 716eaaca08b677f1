"""The whole project loads, and publication depends on every other asset."""

from dtks_pipeline.defs.operations.assets import PUBLISHED_KEY
from dtks_pipeline.defs.operations.definitions import defs as operations_defs
from dtks_pipeline.defs.operations.jobs import MONTHLY_JOB_NAME
from dtks_pipeline.defs.shared import resources_for


def test_operations_defs_expose_asset_job_schedule_sensor():
    assert [a.key for a in operations_defs.assets] == [PUBLISHED_KEY]
    assert [j.name for j in operations_defs.jobs] == [MONTHLY_JOB_NAME]
    assert [s.name for s in operations_defs.schedules] == ["dtks_monthly_schedule"]
    assert [s.name for s in operations_defs.sensors] == ["dtks_delivery_sensor"]


def test_publication_depends_on_every_other_asset(tmp_path):
    from dtks_pipeline.definitions import build_definitions

    defs = build_definitions(resources_for(tmp_path / "sources", tmp_path / "wh" / "dtks.duckdb"))
    repo = defs.get_repository_def()
    graph = repo.asset_graph
    # Every asset but those that read the published month (reports/monthly) feeds publication.
    readers = graph.get(PUBLISHED_KEY).child_keys
    others = {k for k in graph.get_all_asset_keys()
              if k != PUBLISHED_KEY and k not in readers and graph.get(k).is_materializable}
    assert set(graph.get(PUBLISHED_KEY).parent_keys) >= others
    node = graph.get(PUBLISHED_KEY)
    assert node.pools == {"duckdb"} and node.group_name == "operations"
    job = repo.get_job(MONTHLY_JOB_NAME)
    assert PUBLISHED_KEY in job.asset_layer.executable_asset_keys
    assert others <= set(job.asset_layer.executable_asset_keys)
    assert readers and readers <= set(job.asset_layer.executable_asset_keys)
    assert repo.get_schedule_def("dtks_monthly_schedule").job_name == MONTHLY_JOB_NAME
    assert repo.get_sensor_def("dtks_delivery_sensor").job_name == MONTHLY_JOB_NAME
