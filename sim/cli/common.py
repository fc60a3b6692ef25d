"""Shared by the commands: exit codes, the errors a command raises for `sim.cli.main.main` to
report, argument types, the check of an output folder, disk errors, and progress bars.

Cheap to import (the standard library only): every command module imports it at its top.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FAILURE, EXIT_INVALID, EXIT_INTERRUPTED = 0, 1, 2, 130
#: `--preset` of `calibrate` and `validate` (the keys of their PRESETS, kept here so that building
#: the parser imports no numerical library).
PRESET_CHOICES = ("full", "quick")


class InputError(Exception):
    """Invalid input found outside the scenario file (a folder, a flag value)."""


class Interrupted(Exception):
    """Work stopped by the user; what was finished is kept."""


class WriteError(Exception):
    """The disk refused a write (full, read-only, quota); what was finished is kept."""


#: Characters that `str.splitlines` breaks a line at: never printed raw inside one message.
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


def one_line(text: str) -> str:
    """A message on one line: a line break inside it (from a key or a file name) is escaped."""
    return "".join(repr(char)[1:-1] if char in _LINE_BREAKS else char for char in text)


def positive_int(text: str) -> int:
    value = non_negative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {text})")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number (got {text})") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number above 0 (got {text})")
    return value


#: The largest seed (`runs.seed` of a scenario file): seeds are stored in int64 columns.
MAX_SEED = 2**63 - 1
#: Worker processes one machine may be asked for: more only exhaust its memory and processes.
MAX_WORKERS = 256


def seed_number(text: str) -> int:
    """argparse type of `--seed`: 0 .. 2**63 - 1, as in a scenario file."""
    value = non_negative_int(text)
    if value > MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_SEED} (got {text})")
    return value


def worker_count(text: str) -> int:
    """argparse type of `--workers`: 1 .. MAX_WORKERS."""
    value = positive_int(text)
    if value > MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_WORKERS} (got {text})")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number (got {text})") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative (got {text})")
    return value


#: `tcp://host:port` and the other schemes of dask.distributed, or `host:port`; host names,
#: IPv4 and bracketed IPv6 addresses.
_SCHEDULER = re.compile(
    r"(?:(?:tcp|tls|ws|wss|inproc|ucx)://)?"
    r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?)"
    r"(?::(?P<port>[0-9]{1,5}))?/?"
)


def scheduler_address(text: str) -> str:
    """argparse type of `--scheduler`: a Dask scheduler address such as tcp://10.0.0.5:8786."""
    match = _SCHEDULER.fullmatch(text.strip())
    if not match or (match["port"] and not 0 < int(match["port"]) < 65536):
        raise argparse.ArgumentTypeError(
            f"not a Dask scheduler address such as tcp://10.0.0.5:8786 (got {text!r})"
        )
    return text.strip()


def check_out_folder(out: Path, name: str = "") -> None:
    """The results root and the scenario's folder in it must be folders (or not exist yet) that
    can be written, as must the nearest existing folder above them (where they will be made)."""
    import os

    folder = out / name if name else out
    for part in folder.absolute().parts:
        # A name the file system cannot hold fails only when the folder is made, after the run.
        if len(os.fsencode(part)) > 255:
            raise InputError(f"--out {out}: a folder name is longer than 255 bytes")
    if len(os.fsencode(folder.absolute())) > 3800:
        raise InputError(f"--out {out}: the path is too long")
    probe = next((p for p in (folder, *folder.parents) if p.exists()), Path("."))
    if not probe.is_dir():
        raise InputError(f"--out {out}: {probe} is not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise InputError(f"--out {out}: cannot write to {probe}")


class disk_errors:
    """Turn an OSError while writing (disk full, read-only, quota) into a one-line WriteError
    naming the folder and saying what was kept."""

    def __init__(self, folder: Path, store: Any) -> None:
        self.folder, self.store = folder, store

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, traceback) -> bool:
        import errno
        import os

        disk = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG}
        if not isinstance(error, OSError) or error.errno not in disk:
            return False  # e.g. a Dask scheduler that cannot be reached is not a disk problem
        reason = error.strerror or os.strerror(error.errno or 0) or str(error)
        kept = ""
        if self.store is not None and self.store.finished():
            kept = (
                f"; the finished chunks are kept in {self.store.folder}: free space, then run "
                "the same command with --resume"
            )
        raise WriteError(f"cannot write to {self.folder}: {reason}{kept}") from None


class stop_signals_interrupt:
    """While a command runs, SIGTERM and SIGHUP (a `kill`, a closed terminal) interrupt it as
    Ctrl-C does: finished chunks are kept, worker processes are stopped, the exit code is 130.
    Python's default for SIGTERM ends the process at once, skipping all of that. A second signal
    (Ctrl-C pressed twice) during the clean-up is ignored, so the clean-up finishes; SIGKILL
    still ends everything (workers watch for it). With `process_ends` (the command is the
    process's own), signals stay ignored after an interrupt until the process has ended: a second
    Ctrl-C while Python shuts down would otherwise kill it by SIGINT instead of exit 130.

    Only the main thread may set signal handlers; elsewhere (a caller's thread) this does nothing.
    """

    SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")

    def __init__(self, process_ends: bool = False) -> None:
        self.previous: dict[int, Any] = {}
        self.process_ends = process_ends
        self.interrupted = False

    def __enter__(self) -> None:
        import signal
        import threading

        if threading.current_thread() is not threading.main_thread():
            return
        for name in self.SIGNALS:
            number = getattr(signal, name, None)
            if number is not None:
                self.previous[number] = signal.signal(number, self._interrupt)

    def _interrupt(self, number: int, frame: Any) -> None:
        import signal

        self.interrupted = True
        for other in self.previous:
            signal.signal(other, signal.SIG_IGN)
        raise KeyboardInterrupt

    def __exit__(self, *exc) -> None:
        import signal

        if not (self.interrupted and self.process_ends):
            for number, handler in self.previous.items():
                signal.signal(number, handler)
        self.previous.clear()


class progress_bar:
    """A tqdm bar on a terminal; silent in logs and pipes."""

    def __init__(self, total: int, label: str) -> None:
        self.total, self.label, self.bar = total, label, None

    def __enter__(self):
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, desc=self.label, unit="replicate", leave=False)
            return self.bar.update
        return None

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()


class Progress:
    """One tqdm bar per stage on a terminal; silent in logs and pipes (stage notes go to
    stderr only on a terminal too)."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.bar = None
        self.stage = None

    def update(self, stage: str, done: int, total: int) -> None:
        if not self.tty:
            return
        from tqdm import tqdm

        if stage != self.stage:
            self.close()
            self.stage = stage
            self.bar = tqdm(total=total, desc=stage, unit="step", leave=False)
        self.bar.total = total
        self.bar.n = done
        self.bar.refresh()

    def log(self, message: str) -> None:
        if self.tty:
            self.close()
            print(message, file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
            self.stage = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
