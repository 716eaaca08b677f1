"""Domain: quality. Great Expectations 1.x suites of the main tables, as blocking Dagster asset checks.

- `suites`: what each table's suite asserts (plain data, no GX import);
- `frames`: a month read from DuckDB into pandas, NIK/NOKK masked, derived columns;
- `gx_run`: the GX file context, checkpoint and Data Docs (GX imported only here, at run time);
- `checks`: the `gx_suite` asset check per table and the `gx` resource.

The GX project folder is `$DTKS_GX_DIR`, else `data/gx` next to the project's
`data/warehouse/` (see checks.py); its Data Docs index is
`<gx dir>/uncommitted/data_docs/local_site/index.html`, also given in every
check result's metadata (`data_docs_index`).
"""
import dagster as dg

from dtks_pipeline.defs.quality.checks import GX_CHECKS, GxResource

defs = dg.Definitions(asset_checks=GX_CHECKS, resources={"gx": GxResource()})
