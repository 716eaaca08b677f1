"""Pure helpers of the resolution: Balinese name forms and NIK typo kinds (Python and SQL agree)."""
import duckdb
import pytest

from dtks_pipeline.lib import names, nik_typos


@pytest.mark.parametrize("raw, canonical, core", [
    ("i md. Sudarma", "I MADE SUDARMA", "SUDARMA"),
    ("NI KT  SARI", "NI KETUT SARI", "SARI"),
    ("IDA BGS PT OKA", "IDA BAGUS PUTU OKA", "OKA"),
    ("I WAYAN", "I WAYAN", "I WAYAN"),
])
def test_name_forms_python_and_sql_agree(raw, canonical, core):
    assert names.canonical(raw) == canonical
    assert names.core(raw) == core
    con = duckdb.connect()
    got = con.execute(f"SELECT {names.canonical_sql('x')}, {names.core_sql('x')} FROM (SELECT ? AS x)", [raw]).fetchone()
    assert got == (canonical, core)


@pytest.mark.parametrize("a, b", [
    ("I PUTU SUDARMA", "I WAYAN SUDARMA"), ("MADE SUDARMA", "I MADE SUDARMA"), ("I Md. Sudarma", "I KADEK SUDARMA"),
    ("NI NYM SARI", "NI KOMANG SARI"),
])
def test_comparable_forms_agree(a, b):
    assert names.comparable(a) == names.comparable(b)
    con = duckdb.connect()
    sql = names.comparable_sql("x")
    got = [con.execute(f"SELECT {sql} FROM (SELECT ? AS x)", [v]).fetchone()[0] for v in (a, b)]
    assert got == [names.comparable(a)] * 2


def test_nik_edit_kinds_and_blocking_keys():
    a = "5108011205700001"
    sub = a[:-1] + "7"
    swap = a[:6] + a[7] + a[6] + a[8:]
    far = "5108069999990003"
    assert nik_typos.edit_kind(a, a) == "SAMA"
    assert nik_typos.edit_kind(a, sub) == "SATU_DIGIT"
    assert nik_typos.edit_kind(a, swap) == "TUKAR_DIGIT"
    assert nik_typos.edit_kind(a, far) is None
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES (1, ?), (2, ?), (3, ?), (4, ?)) v(mid, nik)", [a, sub, swap, far])
    pairs = con.execute(f"""
        WITH k AS ({nik_typos.blocking_keys_sql('t')})
        SELECT DISTINCT x.id, y.id, {nik_typos.edit_kind_sql('tx.nik', 'ty.nik')}
        FROM k x JOIN k y ON x.k = y.k AND x.id < y.id JOIN t tx ON tx.mid = x.id JOIN t ty ON ty.mid = y.id
        ORDER BY 1, 2""").fetchall()
    assert pairs == [(1, 2, "SATU_DIGIT"), (1, 3, "TUKAR_DIGIT")]


def test_registry_definitions_load():
    import dagster as dg

    from dtks_pipeline.defs.registry.definitions import defs
    from dtks_pipeline.defs.shared import resources_for
    full = dg.Definitions.merge(defs, dg.Definitions(resources=resources_for("/tmp/none", "/tmp/none.duckdb")))
    keys = {k.to_user_string() for k in full.resolve_all_asset_keys()}
    assert {"registry/persons", "registry/person_links", "registry/families", "registry/exclusions"} <= keys
