"""A source's files are validated in one pass; when that pass fails, file by file, so that
the one file that breaks validation is quarantined and the others are staged."""
import duckdb

from dtks_pipeline.defs.sources import file_status as fs
from dtks_pipeline.defs.sources import staging
from dtks_pipeline.defs.sources.specs import SOURCES

from .conftest import VILLAGE, desa_row, write_csv

OTHER = "5108012013"


def test_a_file_that_breaks_validation_holds_back_only_itself(tmp_path, monkeypatch):
    month = tmp_path / "2022-10"
    columns = SOURCES["desa"].columns
    write_csv(month / "desa" / f"{VILLAGE}.csv", columns, [desa_row(), desa_row(NIK="123")])
    write_csv(month / "desa" / f"{OTHER}.csv", columns, [desa_row(KODE_DESA=OTHER)])

    real_one = staging.validate_file

    def one(source, raw, period):  # a fault of the validator on this one file only
        if raw.source_file.endswith(f"{OTHER}.csv"):
            raise RuntimeError("validator fault")
        return real_one(source, raw, period)

    def batch(source, raws, period):
        return [one(source, raw, period) for raw in raws]

    monkeypatch.setattr(staging, "validate_file", one)
    monkeypatch.setattr(staging, "validate_files", batch)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    for schema in ("staging", "audit"):
        con.execute(f"CREATE SCHEMA {schema}")
    outcome = staging.stage_source(con, "desa", month, "2022-10")

    files = {r.source_file: r for r in outcome.files.itertuples()}
    assert files[f"desa/{VILLAGE}.csv"].status == fs.OK
    assert (files[f"desa/{VILLAGE}.csv"].rows_staged, files[f"desa/{VILLAGE}.csv"].rows_rejected) == (1, 1)
    broken = files[f"desa/{OTHER}.csv"]
    assert broken.status == fs.KARANTINA and broken.rows_quarantined == 1
    assert broken.status_reason.startswith("could not be validated (RuntimeError)")
    assert con.execute("SELECT source_file FROM staging.desa").fetchall() == [(f"desa/{VILLAGE}.csv",)]
    assert staging.conservation_violations(con, "desa", "2022-10").empty
