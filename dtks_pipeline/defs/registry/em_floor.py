"""A floor under the m probabilities Splink's EM estimates.

A level that an EM pass finds in no match (twins on one card for "NIK differs, same birth date" in the
pass blocked on the card) has its m multiplied down at every iteration; after a few dozen it falls below
1e-300, and Splink 5 refuses such a value (ValueError in the m setter), which would fail the month's
registry and stop its payments. Under the floor the level still says "never seen among matches": with
m = 1e-12 its weight is about -30 bits or less against any u the sampler can see, where the unfloored
estimate would have been -400 or -1000 bits. Only EM's own updates are floored; nothing else changes.

Splink 5.0.0 (pinned) has no option for this; the floor wraps the one function its maximisation step
uses to read the new m values, and only while `em_m_floor()` is active.
"""
from __future__ import annotations

from contextlib import contextmanager

M_FLOOR = 1e-12


def floored(records: list[dict], floor: float = M_FLOOR) -> list[dict]:
    """The EM parameter records with every numeric m probability at least `floor`."""
    out = []
    for record in records:
        m = record.get("m_probability")
        if isinstance(m, (int, float)) and m < floor:
            record = {**record, "m_probability": floor}
        out.append(record)
    return out


@contextmanager
def em_m_floor(floor: float = M_FLOOR):
    """While active, Splink's EM maximisation step reads its new m values through `floored`."""
    from splink.internals import expectation_maximisation as em

    original = em.m_u_records_to_lookup_dict
    em.m_u_records_to_lookup_dict = lambda records: original(floored(records, floor))
    try:
        yield
    finally:
        em.m_u_records_to_lookup_dict = original
