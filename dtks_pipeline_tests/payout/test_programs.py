"""programs.yaml parsing: months ranges, order, and clear errors for bad files."""
import pytest

from dtks_pipeline.defs.payout.programs import ProgramConfigError, parse_programs


def prog(**over):
    base = {"code": "BST", "name": "x", "amount_idr": 1, "months": {"from": "2022-11", "to": "2023-02"}, "quota": 1,
            "eligibility": {"kind": "desil", "min": 1, "max": 4}}
    return {**base, **over}


def test_month_range_crosses_the_year_and_quota_by_month():
    (p,) = parse_programs({"programs": [prog(quota_by_month={"2023-01": 5})]})
    assert p.months == ("2022-11", "2022-12", "2023-01", "2023-02")
    assert (p.quota_for("2022-12"), p.quota_for("2023-01"), p.pays_in("2023-03")) == (1, 5, False)
    assert p.view_name == "payout.bst"


@pytest.mark.parametrize("bad, message", [
    (prog(eligibility={"kind": "sector", "source": "ojek"}), "sector source"),
    (prog(eligibility={"kind": "desil", "min": 5, "max": 2}), "desil range"),
    (prog(months={"from": "2023-02", "to": "2022-11"}), "from <= to"),
    (prog(code="bst lower"), "code must be"),
    ({k: v for k, v in prog().items() if k != "quota"}, "missing field 'quota'"),
])
def test_bad_config_is_rejected_with_the_program_named(bad, message):
    with pytest.raises(ProgramConfigError, match=message):
        parse_programs({"programs": [bad]})


def test_duplicate_codes_rejected():
    with pytest.raises(ProgramConfigError, match="duplicate"):
        parse_programs({"programs": [prog(order=1), prog(order=2)]})


@pytest.mark.parametrize("bad, field", [
    (prog(qouta=5), "field qouta: unknown field"),
    (prog(eligibility={"kind": "desil", "min": 1, "maks": 4}), "field eligibility.maks: unknown field"),
    (prog(quota=-1), "field quota: must be >= 0"),
    (prog(quota_by_month={"2022-12": -3}), "field quota_by_month.2022-12: must be >= 0"),
    (prog(amount_idr="banyak"), "field amount_idr: must be a whole number"),
])
def test_errors_name_the_program_and_the_field(bad, field):
    with pytest.raises(ProgramConfigError, match=f"program BST, {field}"):
        parse_programs({"programs": [bad]})


def test_load_programs_names_the_file(tmp_path):
    from dtks_pipeline.defs.payout.programs import load_programs

    path = tmp_path / "scenario.yaml"
    path.write_text("programs:\n  - {code: A, name: a, amount_idr: 1, months: [2022-10], quota: 1, order: 1, eligibility: {kind: desil}}\n"
                    "  - {code: A, name: b, amount_idr: 1, months: [2022-10], quota: 1, order: 2, eligibility: {kind: desil}}\n")
    with pytest.raises(ProgramConfigError) as info:
        load_programs(path)
    assert str(info.value).startswith(f"{path}: program A, field code: duplicate")
    assert (info.value.file, info.value.program, info.value.field) == (path, "A", "code")
