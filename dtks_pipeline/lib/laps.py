"""Named stage timings: each `lap(name)` records the seconds since the previous lap (or the start)."""
from __future__ import annotations

import time


class Laps:
    def __init__(self, seconds: dict[str, float] | None = None):
        self.seconds: dict[str, float] = {} if seconds is None else seconds
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = round(now - self._last, 2)
        self._last = now
