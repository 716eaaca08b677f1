"""One `dtks run` at a time per warehouse: an OS advisory lock beside the warehouse file.

The lock is `fcntl.flock` on `<dir>/.<name>.lock`. The kernel releases it when
the holder's process ends, however it ends (kill -9 included), so a crashed run
never leaves a stale lock behind; the file itself may stay and means nothing
on its own. The holder writes who it is (pid, host, start time, command) into
the file so that a second run can name it in one line.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import os
import socket
import sys
import time
from pathlib import Path


class WarehouseBusy(RuntimeError):
    """Another process holds the warehouse lock (the message names it)."""


def lock_path_for(warehouse: str | Path) -> Path:
    warehouse = Path(warehouse)
    return warehouse.with_name(f".{warehouse.name}.lock")


def _holder_line() -> str:
    command = " ".join([Path(sys.argv[0]).name] + sys.argv[1:]) if sys.argv and sys.argv[0] else "python"
    started = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    return f"pid {os.getpid()} on {socket.gethostname()}, started {started}, command: {command}"


class WarehouseLock:
    """Exclusive lock on a warehouse; use as a context manager or acquire()/release()."""

    def __init__(self, warehouse: str | Path):
        self.warehouse = Path(warehouse)
        self.path = lock_path_for(self.warehouse)
        self._fd: int | None = None

    def holder(self) -> str:
        """What the current holder wrote into the lock file ('' when unknown)."""
        try:
            return self.path.read_text(encoding="utf-8").strip()
        except OSError:
            return ""

    def _try(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Open without truncating: the holder's line must survive a failed attempt.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, (_holder_line() + "\n").encode("utf-8"))
        os.fsync(fd)
        self._fd = fd
        return True

    def acquire(self, wait: bool = False, timeout: float | None = None, poll: float = 1.0,
                on_wait=None) -> None:
        """Take the lock, or raise WarehouseBusy. With `wait`, retry until `timeout` seconds
        (None: no limit); `on_wait(message)` is called once when waiting starts."""
        if self._try():
            return
        message = f"warehouse {self.warehouse} is in use by another run ({self.holder() or 'holder unknown'})"
        if not wait:
            raise WarehouseBusy(message)
        if on_wait:
            on_wait(message)
        deadline = None if timeout is None else time.monotonic() + timeout
        while deadline is None or time.monotonic() < deadline:
            time.sleep(poll)
            if self._try():
                return
        raise WarehouseBusy(f"{message}; gave up after waiting {timeout:g} s")

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "WarehouseLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
