"""One process at a time per job folder: an exclusive lock on a file in the folder.

Two identical runs into the same `--out` share a job folder (its name is a hash of everything the
result depends on), so without a lock one could load a chunk the other is discarding. The second
is refused at once (`JobBusy`, a one-line message) rather than made to wait: a user who started the
same command twice wants to hear so, not to see it hang.

The lock is `fcntl.flock` on `<folder>/.lock`: the kernel releases it when its holder dies, however
it dies, so a killed run never leaves a lock that blocks the next one. Cheap to import (the
standard library only).
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Linux or macOS
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = ".lock"


class JobBusy(Exception):
    """Another process holds the job's lock; one line naming the folder and the process."""


class JobLock:
    """The exclusive lock of a job folder, held from `acquire` until `release` (or death)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_FILE
        self.fd: int | None = None

    @property
    def held(self) -> bool:
        return self.fd is not None

    def acquire(self) -> None:
        """Take the lock, or raise `JobBusy` at once if another process has it. Idempotent."""
        if self.fd is not None or fcntl is None:
            return
        for _ in range(10):
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as error:
                os.close(fd)
                if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise JobBusy(self._busy_message()) from None
                raise
            # The holder may have removed the folder (job finished) between our open and our
            # lock: then we hold a lock on a deleted file, which protects nothing. Start again.
            if self._same_file(fd):
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode("ascii"))
                self.fd = fd
                return
            os.close(fd)
        raise JobBusy(f"{self.folder} keeps changing under another run; try again")

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor releases the flock
            self.fd = None

    def __del__(self) -> None:  # a lock forgotten by a long-lived process is let go with it
        self.release()

    def _same_file(self, fd: int) -> bool:
        try:
            on_disk = os.stat(self.path)
        except FileNotFoundError:
            return False
        opened = os.fstat(fd)
        return (on_disk.st_dev, on_disk.st_ino) == (opened.st_dev, opened.st_ino)

    def _busy_message(self) -> str:
        holder = ""
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int(self.path.read_text(encoding="ascii").split()[0])
            holder = f" (process {pid})"
        return (
            f"another run of the same job{holder} is using {self.folder}: wait for it to "
            "finish, or give this one another --out"
        )
