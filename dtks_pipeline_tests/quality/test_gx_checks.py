"""The GX suites on a real DuckDB file: a good month passes, a broken one fails by name, masked."""
from __future__ import annotations

import json
import re

import dagster as dg
import duckdb
import pandas as pd
import pytest

from dtks_pipeline.defs.quality import frames
from dtks_pipeline.defs.quality.checks import check_result, resolve_gx_dir, validate_table
from dtks_pipeline.defs.quality.suites import SUITES, SuiteContext, expectations_for
from dtks_pipeline_tests.quality.conftest import PERIODS, month_frames, nik, write_month


def _validate(path, table, period, programs, gx_dir, build_docs=False):
    """Data Docs rendering costs ~0.5 s a table: tests build them only where they look at them."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return validate_table(con, table, period, programs, gx_dir, build_docs=build_docs)
    finally:
        con.close()


def _metadata_text(result: dg.AssetCheckResult) -> str:
    return json.dumps({k: getattr(v, "value", v) for k, v in result.metadata.items()}, default=str)


def test_mask_id_shape_keeps_the_16_digit_test_exact():
    values = pd.Series([nik(1), nik(1)[:15], nik(1)[:10] + "X" + nik(1)[11:], "5108", None])
    masked = frames.mask_id_shape(values)
    assert masked[0] == nik(1)[:6] + "*" * 8 + nik(1)[-2:]
    assert masked.str.fullmatch(r"\d{6}\*{8}\d{2}").fillna(False).tolist() == [True, False, False, False, False]
    assert not masked.dropna().str.contains(r"\d{7,}").any()
    # The SQL form GX's frames are read with gives the very same strings.
    con = duckdb.connect()
    con.register("ids", pd.DataFrame({"nik": values.tolist() + ["abcdefghij", "12345678", "123456789"]}))
    in_sql = [r[0] for r in con.execute(f"SELECT {frames.mask_id_shape_sql('nik')} FROM ids").fetchall()]
    in_pandas = frames.mask_id_shape(pd.Series(values.tolist() + ["abcdefghij", "12345678", "123456789"]))
    assert in_sql == [None if pd.isna(v) else v for v in in_pandas]


def test_gx_dir_resolution(tmp_path, monkeypatch):
    monkeypatch.delenv("DTKS_GX_DIR", raising=False)
    assert resolve_gx_dir(None, tmp_path / "data" / "warehouse" / "dtks.duckdb") == tmp_path / "data" / "gx"
    assert resolve_gx_dir(None, tmp_path / "w.duckdb") == tmp_path / "gx"
    monkeypatch.setenv("DTKS_GX_DIR", str(tmp_path / "elsewhere"))
    assert resolve_gx_dir(None, tmp_path / "w.duckdb") == tmp_path / "elsewhere"
    assert resolve_gx_dir(str(tmp_path / "explicit"), tmp_path / "w.duckdb") == tmp_path / "explicit"


def test_row_count_band_and_empty_program_months():
    ctx = SuiteContext("2022-11", frozenset({"5108012001"}), ("BSU_KTM",), ("BSU_KTM",), 100, ("BSU_KTM",))
    band = [e for e in expectations_for("registry.persons", ctx) if e.type == "ExpectTableRowCountToBeBetween"]
    # The +-20 % band only warns; only a registry that moved by more than half blocks.
    assert [(b.kwargs, b.severity) for b in band] == [
        ({"min_value": 80, "max_value": 120}, "WARN"), ({"min_value": 50, "max_value": 150}, "ERROR")]
    no_program = SuiteContext("2023-01", frozenset(), (), ("BSU_KTM",), 100, ("BSU_KTM",))
    assert any(e.type == "ExpectTableRowCountToEqual" for e in expectations_for("payout.payments", no_program))
    assert not any("RowCount" in e.type for e in expectations_for("payout.changes", ctx))


def test_good_months_pass_every_suite(good_warehouse, programs, tmp_path):
    gx_dir = tmp_path / "gx"
    for table in SUITES:
        outcome = _validate(good_warehouse, table, PERIODS[1], programs, gx_dir, build_docs=table == "payout.summary")
        assert outcome.passed, (table, [(e.label, e.as_metadata()) for e in outcome.failed])
        result = check_result(outcome, table, PERIODS[1])
        assert result.passed and result.metadata["expectations_failed"].value == 0
    index = outcome.docs_index
    assert index == gx_dir / "uncommitted" / "data_docs" / "local_site" / "index.html" and index.exists()
    assert outcome.docs_page is not None and outcome.docs_page.exists()
    assert "payout.summary" in index.read_text(encoding="utf-8")
    by_month = index.with_name("by_month.html").read_text(encoding="utf-8")  # the offline list
    assert f"<td>payout.summary</td><td>{PERIODS[1]}</td><td class='passed'>passed</td>" in by_month
    assert 'href="validations/payout/summary/' in by_month


def test_broken_month_fails_with_named_masked_expectations(good_warehouse, programs, tmp_path):
    broken = month_frames(PERIODS[1])
    fam = broken["registry.families"]
    fam.loc[0, "desil"] = 12
    persons = broken["registry.persons"]
    persons.loc[1, "person_id"] = persons.loc[0, "person_id"]  # duplicate person_id
    persons.loc[2, "nik"] = nik(3)[:15]  # a NIK one digit short
    persons.loc[3, "status"] = "HILANG"
    pay = broken["payout.payments"]
    pay.loc[0, "amount_idr"] = 175_000
    write_month(good_warehouse, PERIODS[1], broken)
    gx_dir = tmp_path / "gx"

    fam_out = _validate(good_warehouse, "registry.families", PERIODS[1], programs, gx_dir, build_docs=True)
    result = check_result(fam_out, "registry.families", PERIODS[1])
    assert not result.passed and result.severity == dg.AssetCheckSeverity.ERROR
    assert result.metadata["failed_expectations"].value == ["expect_column_values_to_be_between(desil)"]
    detail = result.metadata["failed: expect_column_values_to_be_between(desil)"].value
    assert detail["unexpected_count"] == 1 and detail["sample (masked)"] == [12]
    assert str(result.metadata["data_docs_index"].value).endswith("data_docs/local_site/index.html")

    per_out = _validate(good_warehouse, "registry.persons", PERIODS[1], programs, gx_dir, build_docs=True)
    per = check_result(per_out, "registry.persons", PERIODS[1])
    failed = set(per.metadata["failed_expectations"].value)
    assert {
        "expect_column_values_to_be_unique(person_id)",
        "expect_column_values_to_match_regex(nik)",
        "expect_column_values_to_be_in_set(status)",
    } <= failed
    assert per.metadata["failed: expect_column_values_to_be_unique(person_id)"].value["unexpected_count"] == 2
    assert per.metadata["failed: expect_column_values_to_be_in_set(status)"].value["sample (masked)"] == ["HILANG"]
    nik_sample = per.metadata["failed: expect_column_values_to_match_regex(nik)"].value["sample (masked)"]
    assert nik_sample == [nik(3)[:6] + "*" * 7 + nik(3)[13:15]]
    # No NIK or NOKK in clear anywhere: not in metadata, not in the stored GX results / Data Docs.
    assert not re.search(r"\d{9,}", _metadata_text(per))
    for path in gx_dir.rglob("*"):
        if path.suffix in (".json", ".html"):
            text = path.read_text(encoding="utf-8", errors="ignore")
            assert nik(3) not in text and nik(3)[:15] not in text and nik(1) not in text, path

    pay_out = _validate(good_warehouse, "payout.payments", PERIODS[1], programs, gx_dir)
    pay_res = check_result(pay_out, "payout.payments", PERIODS[1])
    assert pay_res.metadata["failed_expectations"].value == [
        "expect_column_pair_values_to_be_equal(amount_idr, configured_amount_idr)"]


def test_row_count_band_warns_and_only_a_collapse_blocks(good_warehouse, programs, tmp_path):
    month = month_frames(PERIODS[1])
    persons = month["registry.persons"]
    month["registry.persons"] = persons.iloc[:5]  # half the registry vanished: outside +-20 %, inside +-50 %
    month["registry.exclusions"] = month["registry.exclusions"].iloc[:0]  # 2 -> 0 rows
    write_month(good_warehouse, PERIODS[1], {k: month[k] for k in ("registry.persons", "registry.exclusions")})
    per = check_result(_validate(good_warehouse, "registry.persons", PERIODS[1], programs, tmp_path / "gx"),
                       "registry.persons", PERIODS[1])
    assert per.metadata["failed_expectations"].value == ["expect_table_row_count_to_be_between"]
    assert per.metadata["failed: expect_table_row_count_to_be_between"].value["expected"] == {"min_value": 8, "max_value": 12}
    assert not per.passed and per.severity == dg.AssetCheckSeverity.WARN  # the month is still paid
    exc = check_result(_validate(good_warehouse, "registry.exclusions", PERIODS[1], programs, tmp_path / "gx"),
                       "registry.exclusions", PERIODS[1])
    assert not exc.passed and exc.severity == dg.AssetCheckSeverity.WARN

    month["registry.persons"] = persons.iloc[:4]  # 10 -> 4: no plausible month loses more than half
    write_month(good_warehouse, PERIODS[1], {"registry.persons": month["registry.persons"]})
    per = check_result(_validate(good_warehouse, "registry.persons", PERIODS[1], programs, tmp_path / "gx"),
                       "registry.persons", PERIODS[1])
    assert per.metadata["failed_expectations"].value == [
        "expect_table_row_count_to_be_between", "expect_table_row_count_to_be_between(+-50%)"]
    assert per.severity == dg.AssetCheckSeverity.ERROR


def test_missing_table_fails(tmp_path, programs):
    path = tmp_path / "empty.duckdb"
    duckdb.connect(str(path)).close()
    assert _validate(path, "payout.summary", "2022-10", programs, tmp_path / "gx") is None
    result = check_result(None, "payout.summary", "2022-10")
    assert not result.passed and "does not exist" in result.description


@pytest.mark.parametrize("table", sorted(SUITES))
def test_every_suite_names_its_key(table):
    ctx = SuiteContext("2022-10", frozenset({"5108012001"}), ("BSU_KTM",), ("BSU_KTM",))
    labels = [e.label for e in expectations_for(table, ctx)]
    assert len(labels) == len(set(labels))
    key = SUITES[table].key
    assert any(label.startswith(("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"))
               and all(k in label for k in key) for label in labels)
