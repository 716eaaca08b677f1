"""Stage 4 of the registry build: clusters (who is who) and links (which person a row names).

Inputs, all explicit: the mentions table (mentions.py), the scored pairs
table (scoring.py) and the staff decisions, a frame `(key_a, key_b, decision)`
of record keys with decision SAMA or BEDA (decisions.py; empty when there are
none). Output: table `MENTION_LINKS` (`LINK_COLUMNS`), one row per mention.

- REG mentions: connected components of the pairs whose match probability is
  at least `MATCH_PROBABILITY`, plus the SAMA decisions. A BEDA decision cuts
  the pair's edge; when the two are still connected through others, the
  component is rebuilt strongest edge first (a maximum spanning forest) and an
  edge that would join two records decided BEDA is left out, so the weakest
  edges between them are the ones cut. A previous-month person carried by a
  mention (mentions.py) joins that mention's cluster, and its own pairs, where
  it was scored, count as its carrier's.
- LINK mentions: the cluster of their best pair, when its probability is at
  least `MATCH_PROBABILITY` and no other cluster is about as likely (a
  runner-up within `AMBIGUITY_BITS` of match weight); otherwise the row is
  TIDAK_DITEMUKAN. SAMA/BEDA decisions on a LINK row and a REG row force or
  forbid that link.

`MATCH_PROBABILITY` is fixed in advance, not tuned on any truth: a false merge
can pay the wrong person or drop a family, a missed duplicate costs less, so
a pair must be 99 % likely (about 6.6 bits of evidence beyond even odds).

match_rule / match_score: DTKS or TAMBAH_BARU for the row that founds a person
(score NULL); GANDA_NIK_<kind> (a duplicate DTKS row) or
TAMBAH_TERDAFTAR_NIK_<kind> (a village TAMBAH of someone already registered)
with the Splink match probability of its best pair inside the person;
NIK_<kind> for a linked LINK row with the match probability of its best pair;
KEPUTUSAN_SAMA when a staff decision made the link (score 1);
TIDAK_DITEMUKAN (score: the best probability seen, if any). <kind> says how
the NIKs of that best pair relate: SAMA, SATU_DIGIT, TUKAR_DIGIT, or BEDA
(matched on the other evidence, the NIK mistyped in several digits).
"""
from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from dtks_pipeline.lib import nik_typos

MENTION_LINKS = "registry_mention_links"
LINK_COLUMNS = ["mid", "cid", "match_rule", "match_score"]
DECISION_COLUMNS = ["key_a", "key_b", "decision"]
MATCH_PROBABILITY = 0.99
AMBIGUITY_BITS = 3.0
SAMA, BEDA = "SAMA", "BEDA"


def empty_decisions() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype="object") for c in DECISION_COLUMNS})


def _decision_mids(con: duckdb.DuckDBPyConnection, mentions: str, decisions: pd.DataFrame) -> pd.DataFrame:
    """Decisions as mention ids (a carried previous-month person stands for the mention carrying it)."""
    if decisions is None or len(decisions) == 0:
        return pd.DataFrame({"a": pd.Series([], dtype="int64"), "b": pd.Series([], dtype="int64"),
                             "decision": pd.Series([], dtype="object"), "role_a": [], "role_b": []})
    con.register("_decisions", decisions[DECISION_COLUMNS].astype(str))
    try:
        out = con.execute(f"""
        SELECT coalesce(ma.carried_mid, ma.mid) AS a, coalesce(mb.carried_mid, mb.mid) AS b, d.decision,
               ma.role AS role_a, mb.role AS role_b
        FROM _decisions d JOIN {mentions} ma ON ma.record_key = d.key_a JOIN {mentions} mb ON mb.record_key = d.key_b
        WHERE d.decision IN ('{SAMA}', '{BEDA}') AND coalesce(ma.carried_mid, ma.mid) <> coalesce(mb.carried_mid, mb.mid)
        """).df()
    finally:
        con.unregister("_decisions")
    return out


def _components(nodes: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Component label of every node (connected components of the undirected edges a-b)."""
    index = pd.Index(nodes)
    ia, ib = index.get_indexer(a), index.get_indexer(b)
    graph = coo_matrix((np.ones(len(ia)), (ia, ib)), shape=(len(nodes), len(nodes)))
    return connected_components(graph, directed=False)[1]


def _split_cannot_links(nodes, edges: pd.DataFrame, apart: set[tuple[int, int]]) -> pd.DataFrame:
    """Rebuild the components that join a BEDA pair: union-find over their edges, strongest first,
    skipping any edge that would put two BEDA records together. Returns the kept edges."""
    parent: dict[int, int] = {}
    members: dict[int, set[int]] = {}

    def find(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    forbidden: dict[int, set[int]] = {}
    for x, y in apart:
        forbidden.setdefault(x, set()).add(y)
        forbidden.setdefault(y, set()).add(x)
    kept = []
    for row in edges.sort_values("w", ascending=False).itertuples(index=False):
        rx, ry = find(row.a), find(row.b)
        if rx == ry:
            kept.append(row)
            continue
        mx, my = members.get(rx, {rx}), members.get(ry, {ry})
        small, large = (mx, my) if len(mx) < len(my) else (my, mx)
        if any(forbidden.get(n, set()) & large for n in small):
            continue
        parent[rx] = ry
        members[ry] = mx | my
        members.pop(rx, None)
        kept.append(row)
    return pd.DataFrame(kept, columns=edges.columns)


def cluster_mentions(con: duckdb.DuckDBPyConnection, mentions: str, scored_pairs: str,
                     decisions: pd.DataFrame | None = None) -> str:
    """Create table MENTION_LINKS (LINK_COLUMNS) from the mentions, the scored pairs and the decisions."""
    decided = _decision_mids(con, mentions, decisions)
    reg_decided = decided[(decided["role_a"] == "REG") & (decided["role_b"] == "REG")]
    reg = con.execute(f"SELECT mid FROM {mentions} WHERE role = 'REG' AND carried_mid IS NULL ORDER BY mid"
                      ).fetchnumpy()["mid"].astype(np.int64)
    # a previous-month person that was scored although carried (candidates.scoring_input) stands for its carrier,
    # and only finds rows whose record key is new: a row under a known key has its own person (or carries it)
    edges = con.execute(f"""
        SELECT * FROM (
          SELECT coalesce(ml.carried_mid, p.mid_l) AS a, coalesce(mr.carried_mid, p.mid_r) AS b, p.match_weight AS w
          FROM {scored_pairs} p JOIN {mentions} ml ON ml.mid = p.mid_l JOIN {mentions} mr ON mr.mid = p.mid_r
          WHERE p.role_l = 'REG' AND p.role_r = 'REG' AND p.match_probability >= {MATCH_PROBABILITY}
            AND NOT (ml.carried_mid IS NOT NULL AND (mr.key_known OR mr.carried_mid IS NOT NULL))
            AND NOT (mr.carried_mid IS NOT NULL AND (ml.key_known OR ml.carried_mid IS NOT NULL)))
        WHERE a <> b""").df()
    edges = edges.astype({"a": "int64", "b": "int64", "w": "float64"})
    sama = reg_decided[reg_decided["decision"] == SAMA]
    if len(sama):
        edges = pd.concat([edges, pd.DataFrame({"a": sama["a"].astype("int64"), "b": sama["b"].astype("int64"),
                                                "w": np.inf})], ignore_index=True)
    apart = {(int(min(r.a, r.b)), int(max(r.a, r.b))) for r in reg_decided[reg_decided["decision"] == BEDA].itertuples()}
    if apart:
        key = np.minimum(edges["a"], edges["b"]).astype(str) + "-" + np.maximum(edges["a"], edges["b"]).astype(str)
        cut = {f"{x}-{y}" for x, y in apart}
        edges = edges[~key.isin(cut) | np.isinf(edges["w"])]
    if len(reg):
        labels = _components(reg, edges["a"].to_numpy(), edges["b"].to_numpy())
        if apart:
            label_of = pd.Series(labels, index=reg)
            bad = {label_of.get(x) for x, y in apart if label_of.get(x) is not None and label_of.get(x) == label_of.get(y)}
            if bad:
                inside = edges["a"].map(label_of).isin(bad)
                kept = _split_cannot_links(reg, edges[inside], apart)
                edges = pd.concat([edges[~inside], kept], ignore_index=True)
                labels = _components(reg, edges["a"].to_numpy(), edges["b"].to_numpy())
        frame = pd.DataFrame({"mid": reg, "label": labels})
        frame["cid"] = frame.groupby("label")["mid"].transform("min")
    else:
        frame = pd.DataFrame({"mid": pd.Series([], dtype="int64"), "cid": pd.Series([], dtype="int64")})
    con.register("_clusters", frame[["mid", "cid"]])
    con.register("_decided", decided)
    try:
        con.execute(f"""
        CREATE OR REPLACE TEMP TABLE registry_reg_clusters AS
        SELECT c.mid::BIGINT AS mid, c.cid::BIGINT AS cid FROM _clusters c
        UNION ALL
        SELECT m.mid, c.cid FROM {mentions} m JOIN _clusters c ON c.mid = m.carried_mid
        """)
        _links(con, mentions, scored_pairs)
    finally:
        con.unregister("_clusters")
        con.unregister("_decided")
    return MENTION_LINKS


def _nik_kind(a: str, b: str) -> str:
    """How the NIKs of a matched pair relate: SAMA, SATU_DIGIT, TUKAR_DIGIT or BEDA (found by other evidence)."""
    return f"coalesce({nik_typos.edit_kind_sql(a, b)}, 'BEDA')"


def _links(con: duckdb.DuckDBPyConnection, mentions: str, scored_pairs: str) -> None:
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE {MENTION_LINKS} AS
    WITH both_ways AS (
      SELECT mid_l AS mid, mid_r AS other, match_probability AS p, match_weight AS w FROM {scored_pairs}
      UNION ALL
      SELECT mid_r, mid_l, match_probability, match_weight FROM {scored_pairs}
    ),
    reg_best AS (
      -- each REG mention's best pair inside its own cluster
      SELECT x.mid, max(e.p) AS p, arg_max(e.other, e.p) AS other
      FROM both_ways e JOIN registry_reg_clusters x ON x.mid = e.mid
      JOIN registry_reg_clusters y ON y.mid = e.other AND y.cid = x.cid
      GROUP BY x.mid
    ),
    reg_kind AS (
      SELECT rb.mid, rb.p, {_nik_kind('a.nik', 'b.nik')} AS kind
      FROM reg_best rb JOIN {mentions} a ON a.mid = rb.mid JOIN {mentions} b ON b.mid = rb.other
    ),
    reg AS (
      SELECT c.mid, c.cid,
             CASE WHEN c.mid = c.cid THEN CASE WHEN m.source = 'dtks' THEN 'DTKS' ELSE 'TAMBAH_BARU' END
                  WHEN rb.p IS NULL THEN 'KEPUTUSAN_SAMA'
                  WHEN m.source = 'desa' THEN 'TAMBAH_TERDAFTAR_NIK_' || rb.kind
                  ELSE 'GANDA_NIK_' || rb.kind END AS match_rule,
             CASE WHEN c.mid = c.cid THEN NULL WHEN rb.p IS NULL THEN 1.0 ELSE rb.p END AS match_score
      FROM registry_reg_clusters c JOIN {mentions} m USING (mid) LEFT JOIN reg_kind rb USING (mid)
    ),
    link_mentions AS (SELECT mid FROM {mentions} WHERE role = 'LINK'),
    forbidden AS (
      SELECT d.a AS mid, c.cid FROM _decided d JOIN registry_reg_clusters c ON c.mid = d.b
      WHERE d.decision = 'BEDA' AND d.role_a = 'LINK'
      UNION ALL
      SELECT d.b, c.cid FROM _decided d JOIN registry_reg_clusters c ON c.mid = d.a
      WHERE d.decision = 'BEDA' AND d.role_b = 'LINK'
    ),
    forced AS (
      SELECT mid, min(cid) AS cid FROM (
        SELECT d.a AS mid, c.cid FROM _decided d JOIN registry_reg_clusters c ON c.mid = d.b
        WHERE d.decision = 'SAMA' AND d.role_a = 'LINK' AND d.role_b = 'REG'
        UNION ALL
        SELECT d.b, c.cid FROM _decided d JOIN registry_reg_clusters c ON c.mid = d.a
        WHERE d.decision = 'SAMA' AND d.role_b = 'LINK' AND d.role_a = 'REG')
      GROUP BY mid
    ),
    per_cluster AS (
      SELECT e.mid, c.cid, max(e.p) AS p, max(e.w) AS w, arg_max(e.other, e.w) AS other
      FROM both_ways e JOIN link_mentions l ON l.mid = e.mid JOIN registry_reg_clusters c ON c.mid = e.other
      WHERE NOT EXISTS (SELECT 1 FROM forbidden f WHERE f.mid = e.mid AND f.cid = c.cid)
      GROUP BY e.mid, c.cid
    ),
    ranked AS (
      SELECT *, row_number() OVER (PARTITION BY mid ORDER BY w DESC, cid) AS rk,
             lead(w) OVER (PARTITION BY mid ORDER BY w DESC, cid) AS runner_up
      FROM per_cluster
    ),
    lnk AS (
      SELECT l.mid, r.p, r.w, r.runner_up, f.cid AS forced_cid, {_nik_kind('a.nik', 'b.nik')} AS kind,
             CASE WHEN r.p >= {MATCH_PROBABILITY} AND (r.runner_up IS NULL OR r.runner_up < r.w - {AMBIGUITY_BITS})
                  THEN r.cid END AS cid
      FROM link_mentions l LEFT JOIN ranked r ON r.mid = l.mid AND r.rk = 1 LEFT JOIN forced f ON f.mid = l.mid
      LEFT JOIN {mentions} a ON a.mid = l.mid LEFT JOIN {mentions} b ON b.mid = r.other
    )
    SELECT mid, cid, match_rule, match_score FROM reg
    UNION ALL
    SELECT mid, coalesce(forced_cid, cid) AS cid,
           CASE WHEN forced_cid IS NOT NULL THEN 'KEPUTUSAN_SAMA' WHEN cid IS NULL THEN 'TIDAK_DITEMUKAN'
                ELSE 'NIK_' || kind END,
           CASE WHEN forced_cid IS NOT NULL THEN 1.0 ELSE p END
    FROM lnk
    """)
