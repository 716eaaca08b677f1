"""A small published warehouse for the planning and report tests (built once per session).

3,000 generated families, months 2022-10 and 2022-11 through the project's monthly job
(sources -> registry -> payout -> quality -> publication -> reports/monthly), with a
programs file whose quotas fit the sample (the packaged quotas are sized for 60,000
families: with them every eligible family would be paid and no quota would bind).
The working files as they were after 2022-10 are kept too (`after_october`), for a test
that runs 2022-11 differently on a copy of them.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from dtks_pipeline.defs.payout.programs import DEFAULT_PROGRAMS_PATH, PROGRAMS_ENV_VAR
from dtks_pipeline_tests.pipeline_sample import run_months

SAMPLE_QUOTAS = {"BSU_ANGKUTAN": 5, "BSU_NELAYAN": 15, "BPUM": 30, "BSU_KTM": 300}
MONTHS = ("2022-10", "2022-11")


@dataclass
class PublishedSample:
    root: Path
    sources: Path
    warehouse: Path
    programs_file: Path
    reports_dir: Path
    results: dict  # period -> Dagster ExecuteInProcessResult of the monthly job
    after_october: Path  # a folder holding the working files (work/) as they were right after 2022-10

    def programs_document(self) -> dict:
        return yaml.safe_load(self.programs_file.read_text(encoding="utf-8"))


def write_programs(path: Path, document: dict) -> Path:
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def published_sample(tmp_path_factory) -> PublishedSample:
    from dtks_pipeline.sample.generator import generate

    root = tmp_path_factory.mktemp("published")
    sources = root / "sources"
    generate(sources, families=3000, seed=5)
    for month in os.listdir(sources):  # only the months the tests use
        if month[:1].isdigit() and month not in MONTHS:
            shutil.rmtree(sources / month)
    document = yaml.safe_load(DEFAULT_PROGRAMS_PATH.read_text(encoding="utf-8"))
    for program in document["programs"]:
        program["quota"] = SAMPLE_QUOTAS[program["code"]]
    programs_file = write_programs(root / "programs_sample.yaml", document)

    warehouse = root / "wh" / "dtks.duckdb"
    saved = {k: os.environ.get(k) for k in (PROGRAMS_ENV_VAR, "DTKS_GX_DIR", "DTKS_REPORTS")}
    os.environ[PROGRAMS_ENV_VAR] = str(programs_file)
    os.environ["DTKS_GX_DIR"] = str(root / "gx")
    os.environ.pop("DTKS_REPORTS", None)
    try:
        results, after_october = run_months(sources, warehouse, MONTHS, root / "after_october")
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return PublishedSample(root, sources, warehouse, programs_file, root / "reports", results, after_october)
