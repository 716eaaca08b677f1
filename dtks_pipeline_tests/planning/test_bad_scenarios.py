"""Bad scenarios are refused with the file, the program and the field named, and nothing is written."""
from __future__ import annotations

import copy
import io
from argparse import Namespace

import pytest

from dtks_pipeline.defs.planning.run import main
from dtks_pipeline_tests.published_sample import write_programs


def _unknown_field(progs, doc):
    progs["BSU_KTM"]["qouta"] = 7000


def _negative_quota(progs, doc):
    progs["BPUM"]["quota"] = -5


def _duplicate_code(progs, doc):
    doc["programs"].append(dict(copy.deepcopy(progs["BSU_KTM"]), order=9))


def _month_outside_data(progs, doc):
    progs["BSU_NELAYAN"]["months"] = {"from": "2023-01", "to": "2023-12"}


def _unknown_eligibility_field(progs, doc):
    progs["BSU_KTM"]["eligibility"]["maks"] = 5


@pytest.mark.parametrize("edit, program, field", [
    (_unknown_field, "BSU_KTM", "qouta"),
    (_negative_quota, "BPUM", "quota"),
    (_duplicate_code, "BSU_KTM", "code"),
    (_month_outside_data, "BSU_NELAYAN", "months"),
    (_unknown_eligibility_field, "BSU_KTM", "eligibility.maks"),
])
def test_bad_scenario_names_file_program_field_and_writes_nothing(published_sample, tmp_path, edit, program, field):
    document = copy.deepcopy(published_sample.programs_document())
    edit({p["code"]: p for p in document["programs"]}, document)
    path = write_programs(tmp_path / "bad_scenario.yaml", document)
    out, err = io.StringIO(), io.StringIO()
    code = main(Namespace(warehouse=str(published_sample.warehouse), programs=str(path), month="2022-11", months=1,
                          out=str(tmp_path / "out")), out, err)
    message = err.getvalue()
    assert code == 2
    assert str(path) in message and f"program {program}" in message and f"field {field}" in message, message
    assert "Nothing was written" in message
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("month, months, expected", [
    ("2023-01", 1, "--month 2023-01 is outside the data"),
    ("2022-11", 3, "outside the data"),
])
def test_months_outside_the_data_are_refused(published_sample, tmp_path, month, months, expected):
    path = write_programs(tmp_path / "ok.yaml", published_sample.programs_document())
    err = io.StringIO()
    code = main(Namespace(warehouse=str(published_sample.warehouse), programs=str(path), month=month, months=months,
                          out=str(tmp_path / "out")), io.StringIO(), err)
    assert code == 2 and expected in err.getvalue(), err.getvalue()
    assert not (tmp_path / "out").exists()


def test_missing_scenario_file_is_named(published_sample, tmp_path):
    err = io.StringIO()
    missing = tmp_path / "nope.yaml"
    code = main(Namespace(warehouse=str(published_sample.warehouse), programs=str(missing), month="2022-11", months=1,
                          out=str(tmp_path / "out")), io.StringIO(), err)
    assert code == 2 and str(missing) in err.getvalue() and not (tmp_path / "out").exists()
