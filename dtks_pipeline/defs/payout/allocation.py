"""Who is paid what: the allocation rules of PROGRAMS.md as pure functions.

No Dagster here. `load_registry_month` reads one month of the registry from a
DuckDB connection into a `RegistryMonth` (plain DataFrames); `allocate` turns
that month, the programs and last month's payments into this month's
payments, waiting list and changes. Everything is vectorised pandas, so the
same code scores the ground truth in the benchmark.

Rules, in the order they apply for a month P:

1. A family is a candidate when `registry.families.status = 'AKTIF'`, it has an
   AKTIF member in `registry.persons`, `registry.exclusions` holds no
   family-level reason for it (MAMPU_MOBIL, MAMPU_DESA, TIDAK_DITEMUKAN, ...),
   and it is not held in `payout.held` (a registry conflict such as NIK_GANDA:
   held families are on neither list this month; registry/held.py).
2. Programs are filled in their configured `order`; a program pays only in its
   configured months. A family taken by an earlier program is not eligible for a
   later one that month.
3. Eligibility: `desil` programs take candidates with min <= desil <= max;
   `sector` programs take candidates one of whose AKTIF members is on P's sector
   list (`person_links` with period P, that source, person_id not null).
4. Rank order: desil ascending (no desil last), n_anggota_aktif descending,
   NOKK ascending. `rank` is the position among the program's eligible families.
5. Incumbents (paid by this program in P-1) that are still eligible keep their
   place (LANJUTAN); if the quota is below their number the best-ranked keep it.
   Vacancies are filled (BARU) in rank order; the rest is the waiting list.
6. Recipient: desil programs pay the AKTIF head (hub_kel 1), else the AKTIF
   spouse (hub_kel 2), else the oldest AKTIF member aged 17 or more at the end
   of P; ties by lowest NIK. A family with none of these cannot be paid and is
   not eligible (reason TANPA_PENERIMA when it leaves). Sector programs pay the
   listed AKTIF member with the lowest NIK.

Change reason codes (`payout.changes.reason_code`):

MASUK (entered the program against P-1):
- BARU                    filled a vacancy (every payment of a program's first month)

KELUAR (paid by the program in P-1, not in P), first matching reason wins:
- PROGRAM_SELESAI         the program does not pay in P (outside its months)
- TIDAK_ADA_DI_REGISTRI   the family is not in registry.families of P
- MAMPU_MOBIL             family excluded: an active member owns a private car
- MAMPU_DESA              family excluded by a village HAPUS MAMPU
- TIDAK_DITEMUKAN         family excluded: not found at its address (village HAPUS)
- MENINGGAL               every member gone and at least one died (or, for a
                          sector program, the listed person died)
- PINDAH                  every member gone and at least one moved out of Buleleng
                          (or, for a sector program, the listed person moved)
- TIDAK_AKTIF             no active member and no exclusion says why
- DIKECUALIKAN            family status DIKECUALIKAN with no exclusion row
- DITAHAN                 held this month (payout.held; `detail` names the reason)
- DESIL_TIDAK_MEMENUHI    desil program: the family's decile left the range
- TIDAK_TERDAFTAR_SEKTOR  sector program: no active member on P's sector list
- PROGRAM_LAIN            still eligible, but taken by an earlier program in P
                          (`detail` names it)
- TANPA_PENERIMA          no head, spouse or adult member to receive it
- TURUN_PERINGKAT         still eligible, but ranked beyond the quota (quota
                          lowered below the number of incumbents)
"""
from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import pandas as pd

from dtks_pipeline.defs.payout.programs import Program
from dtks_pipeline.lib.warehouse import table_exists
from dtks_pipeline.lib.periods import previous_period

FAMILY_REASONS = ("MAMPU_MOBIL", "MAMPU_DESA", "TIDAK_DITEMUKAN")
PERSON_REASONS = ("MENINGGAL", "PINDAH")
RECIPIENT_MIN_AGE = 17

PAYMENT_COLUMNS = [
    "period", "program", "family_id", "nokk", "recipient_person_id", "recipient_nik",
    "recipient_nama", "kode_desa", "amount_idr", "rank", "entry_reason",
]
WAITING_COLUMNS = ["period", "program", "family_id", "nokk", "rank", "position", "paid_program"]
CHANGE_COLUMNS = ["period", "program", "family_id", "nokk", "change", "reason_code", "detail"]


@dataclass
class RegistryMonth:
    """One month of the registry, as the allocation needs it."""

    period: str
    families: pd.DataFrame    # family_id, nokk, kode_desa, desil, n_anggota_aktif, status
    persons: pd.DataFrame     # person_id, nik, nama, tgl_lahir, family_id, hub_kel, status
    exclusions: pd.DataFrame  # family_id, person_id, reason_code
    sector: pd.DataFrame      # source, person_id (linked rows of P's sector lists)
    held: pd.DataFrame | None = None  # family_id, reason_code (payout.held of P)


@dataclass
class Allocation:
    payments: pd.DataFrame
    waiting_list: pd.DataFrame
    changes: pd.DataFrame
    eligible_counts: dict[str, int]  # program -> number of eligible families in P
    # program -> families meeting its conditions with a recipient, earlier programs ignored (the planning
    # simulation compares these between programs files)
    eligible_families: dict[str, set] = field(default_factory=dict)


def load_registry_month(con: duckdb.DuckDBPyConnection, period: str, sector_sources: tuple[str, ...] = ("angkutan", "nelayan", "umkm")) -> RegistryMonth:
    """Read period P of registry.families/persons/exclusions/person_links."""
    families = con.execute(
        """SELECT family_id, nokk, kode_desa, CAST(desil AS INTEGER) AS desil,
                  CAST(n_anggota_aktif AS INTEGER) AS n_anggota_aktif, status
           FROM registry.families WHERE period = ?""",
        [period],
    ).df()
    persons = con.execute(
        """SELECT person_id, nik, nama, CAST(tgl_lahir AS DATE) AS tgl_lahir, family_id,
                  CAST(hub_kel AS INTEGER) AS hub_kel, status
           FROM registry.persons WHERE period = ?""",
        [period],
    ).df()
    exclusions = con.execute(
        "SELECT family_id, person_id, reason_code FROM registry.exclusions WHERE period = ?",
        [period],
    ).df()
    placeholders = ", ".join("?" for _ in sector_sources)
    sector = con.execute(
        f"""SELECT DISTINCT source, person_id FROM registry.person_links
            WHERE period = ? AND source IN ({placeholders}) AND person_id IS NOT NULL""",
        [period, *sector_sources],
    ).df()
    held = con.execute("SELECT family_id, reason_code FROM payout.held WHERE period = ?", [period]).df() if table_exists(
        con, "payout.held") else None
    return RegistryMonth(period, families, persons, exclusions, sector, held)


def month_end(period: str) -> pd.Timestamp:
    return pd.Timestamp(f"{period}-01") + pd.offsets.MonthEnd(0)


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


def rank_families(families: pd.DataFrame) -> pd.DataFrame:
    """Families in rank order: desil asc (none last), n_anggota_aktif desc, NOKK asc."""
    return families.sort_values(
        ["desil", "n_anggota_aktif", "nokk"], ascending=[True, False, True], na_position="last", kind="mergesort"
    )


def candidate_families(month: RegistryMonth) -> pd.DataFrame:
    """Active, not-excluded families with at least one active member (rule 1)."""
    fam = month.families
    active_persons = month.persons[month.persons["status"] == "AKTIF"]
    counts = active_persons.groupby("family_id").size().rename("_n_aktif")
    excl = month.exclusions
    family_excluded = set(excl.loc[~excl["reason_code"].isin(PERSON_REASONS), "family_id"].dropna())
    held = set(month.held["family_id"]) if month.held is not None else set()
    out = fam[(fam["status"] == "AKTIF") & ~fam["family_id"].isin(family_excluded | held)].join(counts, on="family_id")
    out = out[out["_n_aktif"].fillna(0) > 0].copy()
    out["n_anggota_aktif"] = out["n_anggota_aktif"].fillna(out["_n_aktif"]).astype("int64")
    return out.drop(columns="_n_aktif")


def head_recipients(month: RegistryMonth, family_ids: pd.Series) -> pd.DataFrame:
    """Recipient for desil programs: head, else spouse, else oldest member aged >= 17; ties lowest NIK."""
    p = month.persons
    p = p[(p["status"] == "AKTIF") & p["family_id"].isin(family_ids)].copy()
    adult_born_by = month_end(month.period) - pd.DateOffset(years=RECIPIENT_MIN_AGE)
    born = pd.to_datetime(p["tgl_lahir"], errors="coerce")
    p["_step"] = pd.NA
    p.loc[(born <= adult_born_by), "_step"] = 3
    p.loc[p["hub_kel"] == 2, "_step"] = 2
    p.loc[p["hub_kel"] == 1, "_step"] = 1
    p = p[p["_step"].notna()]
    # age only orders step 3; heads and spouses tie-break on NIK alone
    p["_born"] = born.where(p["_step"] == 3, pd.Timestamp("1900-01-01"))
    p["_step"] = p["_step"].astype(int)
    p = p.sort_values(["family_id", "_step", "_born", "nik"], kind="mergesort")
    first = p.drop_duplicates("family_id")
    return first[["family_id", "person_id", "nik", "nama"]]


def sector_recipients(month: RegistryMonth, source: str) -> pd.DataFrame:
    """Recipient for a sector program: the listed active member with the lowest NIK."""
    listed = month.sector.loc[month.sector["source"] == source, ["person_id"]].drop_duplicates()
    p = month.persons[month.persons["status"] == "AKTIF"]
    p = p.merge(listed, on="person_id")
    p = p[p["family_id"].notna()].sort_values(["family_id", "nik"], kind="mergesort")
    return p.drop_duplicates("family_id")[["family_id", "person_id", "nik", "nama"]]


def eligible_for(program: Program, month: RegistryMonth, candidates: pd.DataFrame) -> pd.DataFrame:
    """Candidates eligible for `program` with a recipient, ignoring other programs (rules 3, 6)."""
    if program.kind == "desil":
        fam = candidates[candidates["desil"].between(program.desil_min, program.desil_max)]
        rec = head_recipients(month, fam["family_id"])
    else:
        rec = sector_recipients(month, program.source)
        fam = candidates[candidates["family_id"].isin(rec["family_id"])]
    rec = rec.rename(columns={"person_id": "recipient_person_id", "nik": "recipient_nik", "nama": "recipient_nama"})
    return fam.merge(rec, on="family_id", how="left")


def allocate(
    month: RegistryMonth,
    programs: list[Program],
    previous_payments: pd.DataFrame | None = None,
) -> Allocation:
    """This month's payments, waiting list and changes (rules 1-6, reasons above).

    `previous_payments` holds last month's payout.payments rows (at least
    program, family_id, recipient_person_id); None or empty when there is none.
    """
    period = month.period
    prev = previous_payments if previous_payments is not None else _empty(["program", "family_id", "recipient_person_id"])
    candidates = rank_families(candidate_families(month))
    taken: dict[str, str] = {}  # family_id -> program that pays it in P
    payments, waiting, eligible_counts, eligible_ignoring_taken = [], [], {}, {}
    no_recipient: dict[str, set] = {}

    for program in sorted(programs, key=lambda p: p.order):
        if not program.pays_in(period):
            continue
        elig_all = eligible_for(program, month, candidates)
        no_recipient[program.code] = set(elig_all.loc[elig_all["recipient_person_id"].isna(), "family_id"])
        elig_all = elig_all[elig_all["recipient_person_id"].notna()]
        eligible_ignoring_taken[program.code] = set(elig_all["family_id"])
        elig = elig_all[~elig_all["family_id"].isin(taken.keys())].reset_index(drop=True)
        elig["rank"] = range(1, len(elig) + 1)
        eligible_counts[program.code] = len(elig)

        quota = program.quota_for(period)
        incumbent = elig["family_id"].isin(prev.loc[prev["program"] == program.code, "family_id"])
        keep = elig[incumbent].head(quota)
        new = elig[~incumbent].head(max(quota - len(keep), 0))
        chosen = pd.concat([keep.assign(entry_reason="LANJUTAN"), new.assign(entry_reason="BARU")]).sort_values("rank")
        chosen["program"] = program.code
        chosen["amount_idr"] = program.amount_idr
        payments.append(chosen)
        taken.update(dict.fromkeys(chosen["family_id"], program.code))

        rest = elig[~elig["family_id"].isin(chosen["family_id"])].copy()
        rest["program"] = program.code
        rest["position"] = range(1, len(rest) + 1)
        waiting.append(rest)

    pay = pd.concat(payments, ignore_index=True) if payments else _empty(PAYMENT_COLUMNS)
    pay["period"] = period
    pay = pay[PAYMENT_COLUMNS].reset_index(drop=True)
    wait = pd.concat(waiting, ignore_index=True) if waiting else _empty(WAITING_COLUMNS)
    wait["period"] = period
    wait["paid_program"] = wait["family_id"].map(taken)
    wait = wait[WAITING_COLUMNS].reset_index(drop=True)

    changes = _changes(month, programs, prev, pay, taken, eligible_ignoring_taken, no_recipient)
    for frame in (pay, wait):
        for col in ("rank", "amount_idr", "position"):
            if col in frame:
                frame[col] = frame[col].astype("int64")
    return Allocation(pay, wait, changes, eligible_counts, eligible_ignoring_taken)


def _changes(month, programs, prev, pay, taken, eligible_ignoring_taken, no_recipient) -> pd.DataFrame:
    period = month.period
    fam = month.families.set_index("family_id")
    excl = month.exclusions
    family_reason = (
        excl[excl["reason_code"].isin(FAMILY_REASONS)]
        .assign(_o=lambda d: d["reason_code"].map({r: i for i, r in enumerate(FAMILY_REASONS)}))
        .sort_values("_o").drop_duplicates("family_id").set_index("family_id")["reason_code"]
    )
    other_family_reason = excl[excl["person_id"].isna() & ~excl["reason_code"].isin(FAMILY_REASONS + PERSON_REASONS)]
    other_family_reason = other_family_reason.drop_duplicates("family_id").set_index("family_id")["reason_code"]
    member_reason = (
        excl[excl["reason_code"].isin(PERSON_REASONS)]
        .assign(_o=lambda d: d["reason_code"].map({r: i for i, r in enumerate(PERSON_REASONS)}))
        .sort_values("_o").drop_duplicates("family_id").set_index("family_id")["reason_code"]
    )
    person_reason = (
        excl[excl["reason_code"].isin(PERSON_REASONS) & excl["person_id"].notna()]
        .drop_duplicates("person_id").set_index("person_id")["reason_code"]
    )
    active_counts = month.persons[month.persons["status"] == "AKTIF"].groupby("family_id").size()
    held = (month.held.groupby("family_id")["reason_code"].agg(lambda r: ",".join(sorted(set(r))))
            if month.held is not None and len(month.held) else pd.Series(dtype=object))
    nokk_of = dict(zip(month.families["family_id"], month.families["nokk"]))
    order_of = {p.code: p.order for p in programs}
    rows = []
    for program in sorted(programs, key=lambda p: p.order):
        before = prev[prev["program"] == program.code]
        now = pay[pay["program"] == program.code]
        if before.empty and now.empty:
            continue
        prev_nokk = dict(zip(before["family_id"], before["nokk"])) if "nokk" in before else {}
        entered = now[~now["family_id"].isin(before["family_id"])]
        for fid, nokk in zip(entered["family_id"], entered["nokk"]):
            rows.append((period, program.code, fid, nokk, "MASUK", "BARU", None))
        left = before[~before["family_id"].isin(now["family_id"])]
        for fid, rec in zip(left["family_id"], left["recipient_person_id"]):
            detail = None
            if not program.pays_in(period):
                reason = "PROGRAM_SELESAI"
            elif fid not in fam.index:
                reason = "TIDAK_ADA_DI_REGISTRI"
            elif fid in family_reason.index:
                reason = family_reason[fid]
            elif active_counts.get(fid, 0) == 0:
                reason = member_reason.get(fid, "TIDAK_AKTIF")
            elif fid in other_family_reason.index:
                reason = other_family_reason[fid]
            elif fam.at[fid, "status"] != "AKTIF":
                reason = "DIKECUALIKAN" if fam.at[fid, "status"] == "DIKECUALIKAN" else "TIDAK_AKTIF"
            elif fid in held.index:
                reason, detail = "DITAHAN", held[fid]
            elif fid in no_recipient.get(program.code, set()):
                reason = "TANPA_PENERIMA"
            elif fid not in eligible_ignoring_taken.get(program.code, set()):
                if program.kind == "desil":
                    reason = "DESIL_TIDAK_MEMENUHI"
                else:
                    reason = person_reason.get(rec, "TIDAK_TERDAFTAR_SEKTOR")
            elif fid in taken and order_of[taken[fid]] < program.order:
                reason, detail = "PROGRAM_LAIN", taken[fid]
            else:
                reason = "TURUN_PERINGKAT"
            rows.append((period, program.code, fid, nokk_of.get(fid, prev_nokk.get(fid)), "KELUAR", reason, detail))
    out = pd.DataFrame(rows, columns=CHANGE_COLUMNS)
    return out.astype({c: "object" for c in CHANGE_COLUMNS})
