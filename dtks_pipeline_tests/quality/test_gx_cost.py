"""What makes the GX suites cheaper must not change what they write (gx_run: shared Jinja
bytecode, config variables parsed once per text)."""
from __future__ import annotations

import duckdb

from dtks_pipeline.defs.quality import gx_run
from dtks_pipeline.defs.quality.checks import validate_table
from dtks_pipeline_tests.quality.conftest import PERIODS


def _page_styles(page) -> str:
    text = page.read_text(encoding="utf-8")
    return text[text.index("<style>"):text.rindex("</style>")]


def test_second_data_docs_page_of_a_process_keeps_the_custom_styles(good_warehouse, programs, tmp_path):
    gx_dir = tmp_path / "gx"
    con = duckdb.connect(str(good_warehouse), read_only=True)
    try:
        first = validate_table(con, "payout.summary", PERIODS[1], programs, gx_dir)
        second = validate_table(con, "payout.changes", PERIODS[1], programs, gx_dir)
    finally:
        con.close()
    custom = (gx_dir / "plugins" / "custom_data_docs" / "styles" / "data_docs_custom_styles.css").read_text()
    selector = next(line for line in custom.splitlines() if line.startswith(".ge-"))
    # The second page is rendered from templates compiled for the first: the custom style sheet
    # (included from the project's own folder, which GX passes to each view) is still in it.
    for outcome in (first, second):
        assert selector in _page_styles(outcome.docs_page), outcome.docs_page
    assert selector in _page_styles(second.docs_index)


def test_config_variables_are_parsed_again_when_their_text_changes():
    from great_expectations.core.yaml_handler import YAMLHandler

    memo = gx_run._MemoisedYaml(YAMLHandler())
    first = memo.load("a: 1\n")
    first["a"] = 99  # a caller changing its copy changes nobody else's
    assert memo.load("a: 1\n")["a"] == 1
    assert memo.load("a: 2\n")["a"] == 2
