"""Laps records each named stage's seconds since the previous lap, into the dict it is given."""
from __future__ import annotations

import time

from dtks_pipeline.lib.laps import Laps


def test_each_lap_counts_from_the_previous_one_into_the_given_dict():
    seconds: dict[str, float] = {"earlier": 1.0}
    laps = Laps(seconds)
    time.sleep(0.05)
    laps.lap("first")
    laps.lap("second")
    assert laps.seconds is seconds
    assert list(seconds) == ["earlier", "first", "second"]
    assert seconds["first"] >= 0.05 and seconds["second"] < seconds["first"]
