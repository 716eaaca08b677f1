"""The floor under EM's m estimates: Splink 5 refuses an m below 1e-300 (the month would fail); inside
`em_m_floor` its maximisation step reads every m at least M_FLOOR, and outside nothing is changed."""
from __future__ import annotations

import pytest
from splink.internals import expectation_maximisation as em
from splink.internals.comparison_level import LEVEL_NOT_OBSERVED_TEXT, _validate_m_u_probability

from dtks_pipeline.defs.registry.em_floor import M_FLOOR, em_m_floor, floored

RECORDS = [
    {"output_column_name": "nik_tgl_lahir", "comparison_vector_value": 3, "m_probability": 3.5e-304,
     "u_probability": 1.4e-5},
    {"output_column_name": "nik_tgl_lahir", "comparison_vector_value": 9, "m_probability": 0.49,
     "u_probability": 4e-10},
]


def test_splink_refuses_an_underflowing_m_and_accepts_the_floor():
    # the check Splink's m setter runs on every value EM assigns
    with pytest.raises(ValueError, match="below the minimum"):
        _validate_m_u_probability(RECORDS[0]["m_probability"], "m_probability", LEVEL_NOT_OBSERVED_TEXT)
    _validate_m_u_probability(M_FLOOR, "m_probability", LEVEL_NOT_OBSERVED_TEXT)


def test_floored_raises_only_what_is_below_the_floor():
    out = floored(RECORDS)
    assert [r["m_probability"] for r in out] == [M_FLOOR, 0.49]
    assert RECORDS[0]["m_probability"] == 3.5e-304          # the input is not changed


def test_the_maximisation_step_reads_floored_m_only_inside_the_context():
    original = em.m_u_records_to_lookup_dict
    with em_m_floor():
        lookup = em.m_u_records_to_lookup_dict(RECORDS)
        assert lookup["nik_tgl_lahir"][3]["m_probability"] == M_FLOOR
        assert lookup["nik_tgl_lahir"][9]["m_probability"] == 0.49
    assert em.m_u_records_to_lookup_dict is original
    assert em.m_u_records_to_lookup_dict(RECORDS)["nik_tgl_lahir"][3]["m_probability"] == 3.5e-304
