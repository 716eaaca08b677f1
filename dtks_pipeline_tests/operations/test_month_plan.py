"""Month planning: later published months follow, a re-delivered earlier month comes first,
a failed previous month stops the run, publication waits for the chain."""
from pathlib import Path

from dtks_pipeline.defs.operations.month_plan import plan_months
from dtks_pipeline.defs.operations.month_state import FAILED, OK, RUNNING, MonthRecord, MonthState, changed_files, fingerprint

FOLDERS = ["2022-10", "2022-11", "2022-12"]
FILES = {p: {"dtks.csv": f"sha-{p}", "desa/5108012001.csv": f"v-{p}"} for p in FOLDERS}


def records(status=OK, **overrides):
    out = {p: MonthRecord(p, status, dict(FILES[p])) for p in FOLDERS}
    out.update(overrides)
    return out


def current(changes=None):
    files = {p: dict(f) for p, f in FILES.items()}
    for period, update in (changes or {}).items():
        files[period].update(update)
    return lambda p: files[p]


def test_a_first_run_plans_the_requested_months_and_publishes_each():
    plan = plan_months(FOLDERS, FOLDERS, {}, set(), current())
    assert plan.periods == FOLDERS and all(s.publish for s in plan.steps) and not plan.notes and plan.refusal is None


def test_rerunning_a_month_rebuilds_the_published_months_after_it_and_publishes_once():
    plan = plan_months(["2022-10"], FOLDERS, records(), set(FOLDERS), current())
    assert plan.periods == FOLDERS
    assert [s.publish for s in plan.steps] == [False, False, True]
    assert any("2022-11, 2022-12 are published and built on 2022-10" in n for n in plan.notes)


def test_unpublished_later_months_are_not_added():
    plan = plan_months(["2022-10"], FOLDERS, records(), {"2022-10"}, current())
    assert plan.periods == ["2022-10"] and plan.steps[0].publish


def test_a_redelivered_earlier_month_is_rebuilt_first():
    plan = plan_months(["2022-12"], FOLDERS, records(), set(FOLDERS), current({"2022-10": {"dtks.csv": "corrected"}}))
    assert plan.periods == FOLDERS
    assert any("2022-10 was re-delivered (dtks.csv changed" in n for n in plan.notes)
    # 2022-10 and 2022-11 are published together with 2022-12, never paired with a stale month.
    assert [s.publish for s in plan.steps] == [False, False, True]


def test_a_new_file_in_an_earlier_month_counts_as_a_redelivery():
    plan = plan_months(["2022-12"], FOLDERS, records(), set(FOLDERS), current({"2022-11": {"nelayan.csv": "x"}}))
    assert plan.periods == ["2022-11", "2022-12"]


def test_a_failed_previous_month_refuses_the_run_and_names_it():
    recs = records(**{"2022-10": MonthRecord("2022-10", FAILED, dict(FILES["2022-10"]), detail="staging/dtks: broken")})
    plan = plan_months(["2022-11", "2022-12"], FOLDERS, recs, {"2022-10"}, current())
    assert plan.refusal == ("2022-11 not run: 2022-10 failed: staging/dtks: broken; fix 2022-10 first "
                            "(dtks run --months 2022-10:2022-11)")
    assert plan.steps == []


def test_an_interrupted_previous_month_refuses_too_but_a_fixed_one_is_rebuilt():
    recs = records(**{"2022-10": MonthRecord("2022-10", RUNNING, dict(FILES["2022-10"]), started_at="t0")})
    assert "did not finish" in plan_months(["2022-11"], FOLDERS, recs, set(), current()).refusal
    recs = records(**{"2022-10": MonthRecord("2022-10", FAILED, dict(FILES["2022-10"]), detail="x")})
    fixed = plan_months(["2022-11"], FOLDERS, recs, set(), current({"2022-10": {"dtks.csv": "fixed"}}))
    assert fixed.refusal is None and fixed.periods == ["2022-10", "2022-11"]


def test_fingerprint_and_state_round_trip(tmp_path: Path):
    month = tmp_path / "2022-10"
    (month / "desa").mkdir(parents=True)
    (month / "dtks.csv").write_text("a")
    (month / "desa" / "5108012001.csv").write_text("b")
    (month / ".DS_Store").write_text("ignored")
    before = fingerprint(month)
    assert sorted(before) == ["desa/5108012001.csv", "dtks.csv"]
    (month / "dtks.csv").write_text("corrected")
    assert changed_files(before, fingerprint(month)) == ["dtks.csv"]
    state = MonthState(tmp_path / "w" / "dtks.duckdb")
    state.start("2022-10", before)
    state.finish("2022-10", ok=False, detail="why")
    again = MonthState(tmp_path / "w" / "dtks.duckdb")
    assert again.get("2022-10").status == FAILED and again.get("2022-10").files == before
