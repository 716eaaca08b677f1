"""The person-linkage model: Fellegi-Sunter on Splink 5 (DuckDB backend).

Every parameter is learned from the month's own mentions (mentions.py):
u probabilities by random sampling, m probabilities by expectation
maximisation over three blocking rules (EM_BLOCKS) (and over every candidate pair for the
levels those rules barely reach: calibration.py), term frequencies of names from the data. Nothing is a hand-set weight and no name is listed; the prior values
below (`.configure(m_probabilities=..., u_probabilities=...)`) are only
where EM starts, and what a tiny input keeps when it is too small to learn
from (`MIN_TRAINING_MENTIONS`, so that small exports and tests are
deterministic).

Five comparisons, chosen so that no evidence is counted twice (Fellegi-Sunter
assumes the comparisons independent given the match status):

- `nik_tgl_lahir`: the NIK and the birth date in one comparison, because a NIK
  *is* region + birth date (+40 for women) + a serial, and two different people
  born the same day in the same kecamatan have NIKs one digit apart ("NIK
  neighbours"). Levels: NIK equal (birth dates agreeing or not); NIK one edit
  (a substitution or adjacent swap) where exactly one row's NIK contradicts its
  own birth date and sex (typo evidence), with the same birth date (neighbour
  or typo: the model learns how often each), or else; a row without a birth
  date (Samsat) whose NIK agrees in region and birth part (digits 1-12) and
  differs in its serial, or is two or three digits off; NIKs further apart with
  the same birth date, a close one (day and month swapped, one digit of the
  date mistyped); birth dates apart but the NIK's serial equal (a NIK typed
  from a damaged birth date keeps its serial; where serials are few, u makes
  it worth nothing); else.
- `nama`: exact (term-frequency adjusted: thousands of "I MADE SUDARMA" earn
  little); one name's tokens all inside the other (a title, a prefix or a
  birth-order name dropped, order changed; adjusted by the frequency of the
  rarest token); every token of one name equal to, an initial of or an
  abbreviation of a token of the other ("I MD SUDARMA", "I GST KT OKA",
  "I M. S."; an abbreviation is a prefix of the token or of its consonant
  skeleton); tokens one to one, each equal, abbreviated (its letters in
  order: KMG ~ KOMANG) or within Jaro-Winkler 0.88; every token of the
  shorter name within Jaro-Winkler 0.88 of one of the other's, in any order
  (a swapped and mistyped name: "VOY KATELIN" / "KATDLIN VOY"); the whole
  names within two edits; the letters of one whole name in order inside the
  other's (tokens fused, vowels dropped: "IWAYANARIMBAWA" / "I WAYAN ARMBW");
  the rarest token of
  either name among the other's tokens (the other's own rarest token may be
  the damaged one); the rarest token of either within Jaro-Winkler 0.88 of
  one of the other's tokens (typos, dropped vowels); any token shared (a
  given name replaced; common tokens make it common among strangers too, and
  u weighs it); else. Birth-order names and titles need no
  list: they are the common tokens, so they are never a name's rarest token
  and their agreement earns what their frequency says.
- `jenis_kelamin`: equal or not.
- `hub_kel`: the relation to the family head, equal or not, where both rows
  have one (DTKS and village rows; null otherwise): a duplicate row keeps it,
  a father and his namesake son on one card do not. Without it, EM's pass on
  the card took such pairs for duplicates and gave "NIK and birth date both
  differ" nearly no weight against (on an independent delivery of 12,000
  families, 8 father/son pairs merged: DTKS precision 0.993).
- `tempat`: the family card and the place in one comparison (same card, same
  banjar, same village are one household's evidence, strongly correlated).
  Where the NIKs are equal or one edit apart, the card and the village are
  weighed *given* the NIK (CONDITIONAL_LEVELS: same card; other card, same
  village; other card, other village; m and u the levels' shares of those
  pairs' matches and non-matches, all counted by calibration), because among
  such pairs the card is not independent of the NIK: a family member's NIK
  copied onto another's row, twins a serial apart. Elsewhere:
  NOKK equal; NOKK one edit; where one row has no card: same village (by
  code, or named in the other's address) and the same street with its house
  number, the same village and banjar, same village, same kecamatan, elsewhere; else (two different cards, wherever
  they are: the NIK already carries the kecamatan, a shared village would
  count its evidence twice).
"""
from __future__ import annotations

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import SettingsCreator, block_on
from splink.blocking_rule_library import CustomRule

MIN_TRAINING_MENTIONS = 1000   # below this the prior m/u values are used unchanged (deterministic)
MIN_EM_PAIRS = 200             # an EM pass on fewer blocked pairs is skipped (keeps the prior m values)
U_MAX_PAIRS = 1e6              # random pairs sampled for u (cost grows with it; 1e6 gives every common level hundreds)
PRIOR_MATCH_PROBABILITY = 1e-4  # prior probability that two random mentions match (tiny inputs only)
DETERMINISTIC_RECALL = 0.8     # assumed recall of the deterministic rules estimating that prior


# The NIK levels whose pairs the blocking rules "nik" and "nik_satu_edit" find, every one (see COUNTED_LEVELS).
NIK_EQUAL = "NIK equal"
NIK_EQUAL_DOB_DIFFERS = "NIK equal, birth dates differ"
NIK_EDIT_CONTRADICTS = "NIK one edit, one NIK contradicts its row"
NIK_EDIT_DOB_MISSING = "NIK one edit, a birth date missing"
NIK_EDIT_SAME_DOB = "NIK one edit, same birth date"
NIK_EDIT_DOB_DIFFERS = "NIK one edit, birth dates differ"
NIK_SERIAL_DOB_MISSING = "NIK region and birth part equal, serial differs, a birth date missing"
# The family card given the NIK (comparison `tempat`, see CONDITIONAL_LEVELS).
NIK_EQUAL_SAME_CARD = "NIK equal: NOKK equal"
NIK_EQUAL_OTHER_CARD = "NIK equal: NOKKs differ, same village"
NIK_EQUAL_OTHER_PLACE = "NIK equal: NOKKs differ, villages differ"
NIK_EDIT_SAME_CARD = "NIK one edit: NOKK equal"
NIK_EDIT_OTHER_CARD = "NIK one edit: NOKKs differ, same village"
NIK_EDIT_OTHER_PLACE = "NIK one edit: NOKKs differ, villages differ"
NOKK_EQUAL = "NOKK equal"
NOKK_ONE_EDIT = "NOKK one edit"
CARDS_DIFFER = "All other comparisons"   # the else level of `tempat`: two cards that differ, wherever they are


def one_edit(a: str, b: str) -> str:
    """Two equal-length codes one substitution or one adjacent swap apart. Hamming first: Damerau-Levenshtein
    costs ~100 times more and is only needed for the rare pairs two positions apart."""
    return (f"(length({a}) = length({b}) AND (hamming({a}, {b}) = 1 "
            f"OR (hamming({a}, {b}) = 2 AND damerau_levenshtein({a}, {b}) = 1)))")


def _level(sql: str, label: str, m: float, u: float):
    return cll.CustomLevel(sql, label).configure(m_probability=m, u_probability=u)


def _nik_dob() -> cl.CustomComparison:
    nik_one_edit = one_edit("nik_l", "nik_r")
    dob_same = "(tgl_lahir_l IS NULL OR tgl_lahir_r IS NULL OR tgl_lahir_l = tgl_lahir_r)"
    dob_close = ("((day(tgl_lahir_l) = month(tgl_lahir_r) AND month(tgl_lahir_l) = day(tgl_lahir_r) "
                 f"AND year(tgl_lahir_l) = year(tgl_lahir_r)) OR {one_edit('dob_s_l', 'dob_s_r')})")
    return cl.CustomComparison(
        output_column_name="nik_tgl_lahir",
        comparison_description="NIK and birth date (one comparison: the NIK carries the birth date)",
        comparison_levels=[
            cll.CustomLevel("(nik_l IS NULL OR nik_r IS NULL) AND (tgl_lahir_l IS NULL OR tgl_lahir_r IS NULL)",
                            "NIK and birth date missing").configure(is_null_level=True),
            _level(f"nik_l = nik_r AND ({dob_same} OR {dob_close})", NIK_EQUAL, 0.9, 1e-6),
            _level("nik_l = nik_r", NIK_EQUAL_DOB_DIFFERS, 0.01, 1e-7),
            # typo evidence needs both birth dates: a row without one (Samsat) cannot contradict its NIK
            _level(f"{nik_one_edit} AND tgl_lahir_l = tgl_lahir_r AND nik_konsisten_l <> nik_konsisten_r",
                   NIK_EDIT_CONTRADICTS, 0.02, 1e-7),
            # a row without a birth date (Samsat) cannot tell a mistyped NIK from a neighbour's
            _level(f"{nik_one_edit} AND (tgl_lahir_l IS NULL OR tgl_lahir_r IS NULL)",
                   NIK_EDIT_DOB_MISSING, 0.01, 2e-5),
            _level(f"{nik_one_edit} AND tgl_lahir_l = tgl_lahir_r", NIK_EDIT_SAME_DOB, 0.02, 5e-6),
            _level(nik_one_edit, NIK_EDIT_DOB_DIFFERS, 0.005, 2e-6),
            # a row without a birth date whose NIK agrees with the other's in region and birth part, its serial
            # mistyped: the NIK itself says both were born that day in that kecamatan (closer than "two or three
            # digits" anywhere, which on some exports is as common among strangers as among matches)
            _level("(tgl_lahir_l IS NULL OR tgl_lahir_r IS NULL) AND nik_lahir_l = nik_lahir_r",
                   NIK_SERIAL_DOB_MISSING, 0.01, 5e-6),
            # a row without a birth date whose NIK is two or three digits off (a car registered on a mistyped NIK):
            # a neighbour born the same day in the kecamatan is as close, the name and the place decide
            _level("(tgl_lahir_l IS NULL OR tgl_lahir_r IS NULL) AND length(nik_l) = length(nik_r) "
                   "AND hamming(nik_l, nik_r) <= 3", "NIK two or three digits off, a birth date missing", 0.01, 2e-5),
            _level("tgl_lahir_l = tgl_lahir_r", "NIK differs, same birth date", 0.05, 4e-5),
            _level(dob_close, "NIK differs, birth date one typo or day/month swapped", 0.01, 2e-4),
            # birth dates apart and the NIK's serial (its last four digits) equal: a NIK typed from a damaged birth
            # date keeps its serial; where serials are few (0001 for the first person registered on a date) u makes
            # it worth nothing. The serial alone: the region is the kecamatan, which the card and place already count
            # (with it, a father and his namesake son on one card would count their kecamatan twice)
            # (its prior is the else level's weight: no evidence until a month's data says otherwise)
            _level("right(nik_luar_lahir_l, 4) = right(nik_luar_lahir_r, 4)", "NIK serial equal, birth dates differ",
                   5e-5, 1e-2),
            cll.ElseLevel().configure(m_probability=0.005, u_probability=0.99975),
        ],
    )


def _abbreviates(short: str, long: str) -> str:
    """`short` is how an operator may shorten `long`: its letters in order, from the same first letter
    ("L" for LUH, "WYN" for WAYAN, "GST" for GUSTI; "ANAK" inside a doubled "AANAK"). No list of
    abbreviations: any shortening that keeps the letters' order counts, and EM learns what it is worth."""
    # CASE, not AND: DuckDB evaluates both sides of an AND in a projection, compiling a regex for every pair
    return (f"(CASE WHEN length({short}) < length({long}) AND left({short}, 1) = left({long}, 1) "
            f"THEN regexp_full_match({long}, array_to_string(string_split({short}, ''), '.*') || '.*') "
            f"ELSE false END)")


def _shorter_name_in_other(tokens: str, matches) -> str:
    """Every token of the shorter name's `tokens` list matches the other's list (`matches(token, other_list)`, SQL),
    in any order; two tokens at least (one shared given name alone says little)."""
    def each(a: str, b: str) -> str:
        return f"list_bool_and(list_transform({tokens}_{a}, lambda t: {matches('t', f'{tokens}_{b}')}))"
    return (f"(CASE WHEN least(len({tokens}_l), len({tokens}_r)) < 2 THEN false "
            f"WHEN len({tokens}_l) <= len({tokens}_r) THEN {each('l', 'r')} ELSE {each('r', 'l')} END)")


def _nama() -> cl.CustomComparison:
    # bit signatures first (integer operations); the list functions run only on the few pairs they let through
    # (CASE, not AND: DuckDB evaluates both sides of an AND in a projection, a CASE only where it must)
    def contained(tok: str, sig: str) -> str:
        return (f"(CASE WHEN ({sig}_l & ~{sig}_r) = 0 THEN list_has_all({tok}_r, {tok}_l) ELSE false END "
                f"OR CASE WHEN ({sig}_r & ~{sig}_l) = 0 THEN list_has_all({tok}_l, {tok}_r) ELSE false END)")

    subset = contained("nama_tok", "nama_sig")
    abbrev = contained("nama_canon", "nama_canon_sig")
    x, y = "list_extract(nama_canon_l, i)", "list_extract(nama_canon_r, i)"
    variant = (f"(CASE WHEN len(nama_canon_l) = len(nama_canon_r) AND nama_ini_l = nama_ini_r "
               f"THEN list_bool_and(list_transform(range(1, len(nama_canon_l) + 1), "
               f"lambda i: {x} = {y} OR {_abbreviates(x, y)} OR {_abbreviates(y, x)} "
               f"OR jaro_winkler_similarity({x}, {y}) >= 0.88)) ELSE false END)")
    # every token of the shorter name close to some token of the other, in any order ("VOY KATELIN" /
    # "KATDLIN VOY"): the one-to-one level without its order and count
    any_order = _shorter_name_in_other(
        "nama_canon", lambda t, other: f"list_max(list_transform({other}, lambda o: jaro_winkler_similarity({t}, o))) >= 0.88")
    # every token of the shorter name with a token of the other of the same consonant skeleton (mentions.py), in
    # any order: a name written in another spelling (SOETAMA / SUTAMA, WAHIOENI / WAHYUNI, BUDIYASA / BUDIASA), its
    # vowels, H, W, Y and doubled letters aside
    same_skeletons = _shorter_name_in_other("nama_kerangka_tok", lambda t, other: f"list_contains({other}, {t})")
    # the rarest token of either name, found in the other (the other's own rarest may be a damaged token:
    # "NW SULASTRI" / "NI WAYAN SULASTRI"), exactly or within Jaro-Winkler 0.88 of one of its tokens
    inti_in_other = "(list_contains(nama_tok_r, nama_inti_l) OR list_contains(nama_tok_l, nama_inti_r))"
    inti_close = ("(list_max(list_transform(nama_canon_r, lambda t: jaro_winkler_similarity(nama_inti_l, t))) >= 0.88 "
                  "OR list_max(list_transform(nama_canon_l, lambda t: jaro_winkler_similarity(nama_inti_r, t))) >= 0.88)")
    fused_l, fused_r = "replace(nama_norm_l, ' ', '')", "replace(nama_norm_r, ' ', '')"
    # (a letter of the shorter missing from the other's letters rules it out before any regex is compiled)
    letters_in_order = (f"(least(length({fused_l}), length({fused_r})) >= 5 AND ("
                        f"CASE WHEN (nama_huruf_l & ~nama_huruf_r) = 0 THEN {_abbreviates(fused_l, fused_r)} ELSE false END "
                        f"OR CASE WHEN (nama_huruf_r & ~nama_huruf_l) = 0 THEN {_abbreviates(fused_r, fused_l)} ELSE false END))")
    return cl.CustomComparison(
        output_column_name="nama",
        comparison_description="name tokens (frequencies learned from the month's data)",
        comparison_levels=[
            cll.CustomLevel("nama_norm_l IS NULL OR nama_norm_r IS NULL OR nama_canon_l IS NULL OR nama_canon_r IS NULL "
                            "OR nama_ini_l IS NULL OR nama_ini_r IS NULL OR nama_sig_l IS NULL OR nama_sig_r IS NULL "
                            "OR nama_canon_sig_l IS NULL OR nama_canon_sig_r IS NULL",
                            "name missing").configure(is_null_level=True),
            _level("nama_norm_l = nama_norm_r", "name exact", 0.75, 1e-3)
            .configure(tf_adjustment_column="nama_norm", tf_minimum_u_value=1e-6),
            _level(subset, "tokens of one name inside the other", 0.1, 1e-3)
            .configure(tf_adjustment_column="nama_inti", tf_minimum_u_value=1e-6),
            _level(abbrev, "tokens equal or inside after expanding abbreviations", 0.08, 1e-3),
            _level(variant, "tokens one to one after expansion: equal or a typo", 0.05, 2e-3),
            _level(any_order, "every token of the shorter name within Jaro-Winkler 0.88 of one of the other's",
                   0.03, 2e-3),
            _level(same_skeletons, "every token of the shorter name with a token of the other of the same consonant "
                   "skeleton", 0.02, 2e-3),
            # a token split, fused or mistyped anywhere ("ROLLI NS", "AELX"): the letters of the whole name
            _level(f"damerau_levenshtein({fused_l}, {fused_r}) <= 2 "
                   "AND length(nama_norm_l) >= 8", "whole names within two edits", 0.04, 2e-3),
            # tokens fused and letters dropped ("IWAYANARIMBAWA" / "I WAYAN ARMBW"): every letter of one whole
            # name, in order, inside the other's (the abbreviation test on the names without their spaces)
            _level(letters_in_order, "the letters of one whole name in order inside the other's", 0.02, 2e-3),
            # (also the exact level Splink's term-frequency adjustment on nama_inti refers to)
            _level("nama_inti_l = nama_inti_r", "rarest tokens equal", 0.03, 1e-2),
            _level(inti_in_other, "the rarest token of one name in the other", 0.02, 1e-2),
            _level(inti_close, "the rarest token of one name within Jaro-Winkler 0.88 of a token of the other",
                   0.02, 1e-2),
            # any token in common (a given name replaced, a surname kept): common tokens make it common among
            # strangers, and u says what it is worth in this month's names
            _level("list_has_any(nama_tok_l, nama_tok_r)", "the names share a token", 0.01, 0.1),
            cll.ElseLevel().configure(m_probability=0.01, u_probability=0.983),
        ],
    )


def _equal_or_not(output: str, column: str, description: str, missing: str, equal: str, m: float,
                  u: float) -> cl.CustomComparison:
    """A comparison of one code, equal or not, null where either row lacks it (priors: m, u of "equal")."""
    return cl.CustomComparison(
        output_column_name=output,
        comparison_description=description,
        comparison_levels=[
            cll.CustomLevel(f"{column}_l IS NULL OR {column}_r IS NULL", missing).configure(is_null_level=True),
            _level(f"{column}_l = {column}_r", equal, m, u),
            cll.ElseLevel().configure(m_probability=1.0 - m, u_probability=1.0 - u),
        ],
    )


def _jenis_kelamin() -> cl.CustomComparison:
    return _equal_or_not("jenis_kelamin", "jk", "sex", "sex missing", "sex equal", 0.97, 0.5)


def _hub_kel() -> cl.CustomComparison:
    # a duplicate row keeps its relation to the family head; a father and his namesake son on one card share name,
    # card and sex but not the relation. Null where a row has none (Samsat, Dukcapil, sector lists): a level for
    # "missing" would only say which sources the pair comes from.
    return _equal_or_not("hub_kel", "hub_kel", "relation to the family head (DTKS and village rows)", "relation missing",
                         "relation to the head equal", 0.9, 0.35)


def _village_shared(col) -> str:
    """Both rows in one village: by code, or the village of one named in the other's address.
    `col(name, side)` spells a column of one side (kode_desa_l). The blocking rules use `mentions.desa_blok`."""
    code_l, code_r = col("kode_desa", "l"), col("kode_desa", "r")
    key_l, key_r = col("desa_key", "l"), col("desa_key", "r")
    addr_l, addr_r = col("alamat_key", "l"), col("alamat_key", "r")
    return (f"(coalesce({code_l} = {code_r}, false) OR ({key_r} IS NOT NULL AND contains({addr_l}, {key_r})) "
            f"OR ({key_l} IS NOT NULL AND contains({addr_r}, {key_l})))")


def _suffixed(name: str, side: str) -> str:
    return f"{name}_{side}"


# The card's starting m and u (what a tiny input keeps): equal, one edit apart, different. A conditional level starts
# as the card alone would weigh its pairs (GIVEN_AS_IF_INDEPENDENT): "NOKKs differ" is one edit or different.
_CARD_EQUAL, _CARD_ONE_EDIT, _CARDS_DIFFER = (0.5, 2e-5), (0.02, 2e-5), (0.005, 0.496)
_CARDS_NOT_EQUAL = (_CARD_ONE_EDIT[0] + _CARDS_DIFFER[0], _CARD_ONE_EDIT[1] + _CARDS_DIFFER[1])


def _tempat() -> cl.CustomComparison:
    same_village = _village_shared(_suffixed)
    both_cards = "nokk_l IS NOT NULL AND nokk_r IS NOT NULL"
    nik_one_edit = one_edit("nik_l", "nik_r")
    same_street = "coalesce(street_key_l <> '' AND street_key_l = street_key_r, false)"
    same_banjar = "coalesce(banjar_key_l <> '' AND banjar_key_l = banjar_key_r, false)"
    return cl.CustomComparison(
        output_column_name="tempat",
        comparison_description="family card and place (one comparison: one household's evidence)",
        comparison_levels=[
            cll.CustomLevel(f"(nokk_l IS NULL OR nokk_r IS NULL) AND NOT {same_village} "
                            "AND NOT coalesce(kecamatan_l = kecamatan_r, false)",
                            "no NOKK to compare, no shared place").configure(is_null_level=True),
            # where the NIKs are equal or one edit apart, the card and the village are weighed given that: among
            # such pairs of two persons one card is common (a member's NIK copied onto another's row, twins' NIKs
            # a serial apart), so "NOKK equal" there is not the 1-in-50,000 of two random persons; and the NIK
            # already says one kecamatan, so only the village inside it is new (a person listed in a second
            # household of the same village, against a neighbour's NIK: CONDITIONAL_LEVELS)
            _level("nik_l = nik_r AND nokk_l = nokk_r", NIK_EQUAL_SAME_CARD, *_CARD_EQUAL),
            _level(f"nik_l = nik_r AND {both_cards} AND {same_village}", NIK_EQUAL_OTHER_CARD, *_CARDS_NOT_EQUAL),
            _level(f"nik_l = nik_r AND {both_cards}", NIK_EQUAL_OTHER_PLACE, *_CARDS_NOT_EQUAL),
            _level(f"{nik_one_edit} AND nokk_l = nokk_r", NIK_EDIT_SAME_CARD, *_CARD_EQUAL),
            _level(f"{nik_one_edit} AND {both_cards} AND {same_village}", NIK_EDIT_OTHER_CARD, *_CARDS_NOT_EQUAL),
            _level(f"{nik_one_edit} AND {both_cards}", NIK_EDIT_OTHER_PLACE, *_CARDS_NOT_EQUAL),
            _level("nokk_l = nokk_r", NOKK_EQUAL, *_CARD_EQUAL),
            _level(one_edit("nokk_l", "nokk_r"), NOKK_ONE_EDIT, *_CARD_ONE_EDIT),
            # a row without a family card (Samsat, Dukcapil deaths, sector lists): the place speaks
            # the street keeps its house number: one house is rarer than one banjar, and u learns by how much
            _level(f"(nokk_l IS NULL OR nokk_r IS NULL) AND {same_village} AND {same_street}",
                   "no NOKK to compare, same village and street", 0.06, 2e-4),
            _level(f"(nokk_l IS NULL OR nokk_r IS NULL) AND {same_village} AND {same_banjar}",
                   "no NOKK to compare, same village and banjar", 0.06, 2e-3),
            _level(f"(nokk_l IS NULL OR nokk_r IS NULL) AND {same_village}", "no NOKK to compare, same village",
                   0.08, 6e-3),
            _level("(nokk_l IS NULL OR nokk_r IS NULL) AND kecamatan_l = kecamatan_r",
                   "no NOKK to compare, same kecamatan", 0.275, 0.5),
            # two family cards that differ: two households, whatever the place (the NIK already carries the
            # kecamatan, so a shared village would count the NIK's evidence twice)
            cll.ElseLevel().configure(m_probability=_CARDS_DIFFER[0], u_probability=_CARDS_DIFFER[1]),
        ],
    )


def comparisons() -> list:
    return [_nik_dob(), _nama(), _jenis_kelamin(), _hub_kel(), _tempat()]


# Candidate pairs: several rules, none resting on the NIK alone.
def blocking_rules() -> dict[str, object]:
    """Named blocking rules for prediction, in the order Splink applies them (a pair is counted by the first)."""
    return {
        "nik": block_on("nik"),
        "nik_satu_edit": CustomRule(f"l.nik_keys = r.nik_keys AND {one_edit('l.nik', 'r.nik')}",
                                    arrays_to_explode=["nik_keys"]),
        "nokk_tgl_lahir": block_on("nokk", "tgl_lahir"),
        "desa_tgl_lahir": block_on("kode_desa", "tgl_lahir"),
        "nama_inti_tgl_lahir": block_on("nama_inti", "tgl_lahir"),
        # the name-and-place rules block on keys purged of groups too common to be evidence
        # (mentions.MAX_BLOCK_MENTIONS): their pairs grow with the mentions, not with a village's population squared
        "nama_desa": block_on("nama_desa_blok"),
        # rows without a village code or birth date (Samsat): the rarest name token, the street and the village
        # (street names repeat from village to village: JL. RAYA ...)
        "nama_inti_alamat": block_on("nama_alamat_blok"),
        # rows whose address names the banjar but no street (Samsat, village lists): the rarest token, the banjar
        # and the village (banjar names repeat from village to village; the village by code or named in the address)
        "nama_inti_banjar": block_on("nama_banjar_blok"),
        # a row without a family card whose name and NIK are both damaged (a Samsat owner written "I PUTU PSK" on
        # a NIK two digits off): the consonant skeleton of the name's last token, the banjar and the village
        # (rows with a card have the card and their birth date: this rule would only add their neighbours)
        "nama_kerangka_banjar": CustomRule("l.kerangka_banjar_blok = r.kerangka_banjar_blok "
                                           "AND (l.nokk IS NULL OR r.nokk IS NULL)"),
        # a row whose name and birth date are both damaged: its family card (placeholder cards left out)
        "nokk": block_on("nokk_blok"),
        # a row whose NIK and birth date were damaged together: the rest of its NIK (region and serial), where
        # few rows share it
        "nik_luar_lahir": block_on("nik_luar_lahir_blok"),
        # a row without a birth date (Samsat) whose NIK is mistyped in its serial: the region and birth part, with
        # the skeleton of the name's last token (hundreds share a kecamatan and birth date where the population is
        # dense; rows that both have a birth date already meet on it, by card, village or name)
        "nik_lahir_kerangka": CustomRule("l.nik_lahir = r.nik_lahir AND l.nama_kerangka = r.nama_kerangka "
                                         "AND (l.tgl_lahir IS NULL OR r.tgl_lahir IS NULL)"),
    }


# Levels all of whose pairs a blocking rule finds ("nik" and "nik_satu_edit" find every pair whose NIKs are equal
# or one edit apart): calibration counts them over all pairs (COUNTED_PAIRS_SQL over the scoring input `{t}`,
# mid_l < mid_r) instead of estimating u from a random sample. comparison -> the labels of those levels.
COUNTED_LEVELS = {
    "nik_tgl_lahir": [NIK_EQUAL, NIK_EQUAL_DOB_DIFFERS, NIK_EDIT_CONTRADICTS, NIK_EDIT_DOB_MISSING, NIK_EDIT_SAME_DOB,
                      NIK_EDIT_DOB_DIFFERS],
    "tempat": [NIK_EQUAL_SAME_CARD, NIK_EQUAL_OTHER_CARD, NIK_EQUAL_OTHER_PLACE, NIK_EDIT_SAME_CARD,
               NIK_EDIT_OTHER_CARD, NIK_EDIT_OTHER_PLACE],
}
COUNTED_PAIRS_SQL = f"""
    SELECT l.mid AS mid_l, r.mid AS mid_r FROM {{t}} l JOIN {{t}} r ON l.nik = r.nik AND l.mid < r.mid
    UNION
    SELECT l.mid, r.mid FROM (SELECT mid, nik, unnest(nik_keys) AS k FROM {{t}}) l
    JOIN (SELECT mid, nik, unnest(nik_keys) AS k FROM {{t}}) r ON l.k = r.k AND l.mid < r.mid
    WHERE {one_edit('l.nik', 'r.nik')}"""
# Levels that weigh one comparison given another's outcome, where the two are dependent among pairs of two persons
# (Fellegi-Sunter multiplies the comparisons as if independent): each group is one outcome of the NIK, and its
# levels' m and u are their shares of the group's matches and of its non-matches, all counted (calibration).
# Two persons with one NIK are mostly one family (a member's NIK copied onto another's row), twins have NIKs a
# serial apart on one card: weighed as independent, the card added 14 bits to the NIK's and merged them.
CONDITIONAL_LEVELS = {"tempat": [(NIK_EQUAL_SAME_CARD, NIK_EQUAL_OTHER_CARD, NIK_EQUAL_OTHER_PLACE),
                                  (NIK_EDIT_SAME_CARD, NIK_EDIT_OTHER_CARD, NIK_EDIT_OTHER_PLACE)]}
# What each conditional level weighs before calibration, and what its estimate shrinks towards where its group
# holds few pairs: the card weighed alone (the sum of these levels' m and u), as if independent of the NIK.
GIVEN_AS_IF_INDEPENDENT = {
    "tempat": {NIK_EQUAL_SAME_CARD: [NOKK_EQUAL], NIK_EQUAL_OTHER_CARD: [NOKK_ONE_EDIT, CARDS_DIFFER],
               NIK_EQUAL_OTHER_PLACE: [NOKK_ONE_EDIT, CARDS_DIFFER], NIK_EDIT_SAME_CARD: [NOKK_EQUAL],
               NIK_EDIT_OTHER_CARD: [NOKK_ONE_EDIT, CARDS_DIFFER], NIK_EDIT_OTHER_PLACE: [NOKK_ONE_EDIT, CARDS_DIFFER]},
}
# The level of the card alone each conditional level's pairs would sit at without it (the last of those levels:
# two cards that differ are mostly not one edit apart; calibration.fold_given_into_alone).
FOLDED_INTO = {c: {given: alone[-1] for given, alone in levels.items()} for c, levels in GIVEN_AS_IF_INDEPENDENT.items()}


# EM passes: pairs that are mostly one person, leaving every comparison free in one of them
# (same NIK trains name, sex and relation; the same family card and the same name trains NIK+birth date, sex and
# relation: a duplicate row against a father and his namesake son; the same name and birth date trains the place,
# sex and relation on pairs neither of the others holds: a person listed in two households with the NIK mistyped
# in one (SOURCES.md "data ganda"), whom the NIK and card passes never see, so that without it EM took "two
# different cards" for near-proof of two persons). The card pass was once the card and sex: its pairs are mostly
# siblings and a parent and child, and EM took part of them for duplicates, learning that a match's NIK and birth
# date differ one time in four and its names share only a common token one time in eight; a NIK typed on another
# person's row then merged two strangers (on an independent delivery of 60,000 families, precision 0.88).
EM_BLOCKS = [("nik",), ("nokk", "nama_norm"), ("nama_lahir",)]
# Comparisons a pass must not train although they weigh in its expectation step: the NIK pass holds only
# duplicates whose NIK was typed right, and a person's second household is where the NIK is mistyped
# (SOURCES.md), so among its matches a second card is rarer than among all: the place is learned from the
# name-and-birth-date pass, whose NIK and name (equal by construction there) are learned elsewhere.
EM_NOT_TRAINED = {("nik",): ("tempat",), ("nama_lahir",): ("nik_tgl_lahir", "nama")}


def em_pass_trains(comparison, block: tuple[str, ...]) -> bool:
    """Whether the EM pass blocked on `block` trains the Splink `comparison`: Splink trains those whose columns
    the block leaves free, less EM_NOT_TRAINED."""
    used = {col.input_name for col in comparison._input_columns_used_by_case_statement}
    return not used & set(block) and comparison.output_column_name not in EM_NOT_TRAINED.get(block, ())


def deterministic_rules() -> list:
    return [block_on("nik", "nama_norm"), block_on("nokk", "nama_norm", "tgl_lahir")]


SPLINK_COLUMNS = ["nik", "nik_keys", "tgl_lahir", "dob_s", "nik_konsisten", "nama_norm", "nama_tok", "nama_canon", "nama_ini", "nama_huruf", "nama_sig", "nama_canon_sig", "nama_inti",
                  "jk", "hub_kel", "nokk", "kode_desa", "kecamatan", "desa_key", "alamat_key", "street_key", "banjar_key", "nokk_blok",
                  "nik_luar_lahir", "nik_luar_lahir_blok", "nik_lahir", "nama_kerangka", "nama_kerangka_tok",
                  "nama_desa_blok", "nama_alamat_blok", "nama_banjar_blok", "kerangka_banjar_blok"]
RETAINED_COLUMNS = ["record_key", "role", "source", "nama_lahir"]


def settings(rules: dict[str, object] | None = None, *, term_frequencies: bool = True) -> SettingsCreator:
    """Splink settings. `term_frequencies=False` for inputs too small to learn from: frequencies counted on a
    dozen rows would make every name look common."""
    rules = blocking_rules() if rules is None else rules
    comps = comparisons()
    if not term_frequencies:
        for comparison in comps:
            for level in comparison._comparison_levels:
                if getattr(level, "_tf_adjustment_column", None) or getattr(level, "tf_adjustment_column", None):
                    level.configure(tf_adjustment_column=None)
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="mid",
        probability_two_random_records_match=PRIOR_MATCH_PROBABILITY,
        comparisons=comps,
        blocking_rules_to_generate_predictions=list(rules.values()),
        additional_columns_to_retain=RETAINED_COLUMNS,
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=True,
    )
