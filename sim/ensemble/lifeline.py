"""Worker processes die with the process that started them, whatever kills it.

Local workers are forked by multiprocessing's forkserver, so their parent is the forkserver, not
the run; and the forkserver and the resource tracker only stop once every worker has. A run killed
by SIGKILL (or by the kernel when memory runs out) runs no clean-up code, so without help its
workers would go on computing chunks nobody reads, blocked for ever on a full pipe, each holding
its memory. Each worker therefore starts with `keep_alive_only_with(run_pid)`:

- a watchdog thread that waits on a pidfd of the run (Linux 5.3+; elsewhere it polls the pid
  every half second) and ends the worker at once when the run is gone;
- PR_SET_PDEATHSIG (Linux), so that a worker also dies with the forkserver;
- SIGINT ignored: Ctrl-C in a terminal reaches every process of the foreground group, and the
  run itself decides what to keep and stops its workers (`stop_workers`).

Once the workers are gone, the forkserver and the resource tracker see their pipes close and exit.
Cheap to import (the standard library only).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
POLL_SECONDS = 0.5  # where pidfds are missing


STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


def keep_alive_only_with(run_pid: int) -> None:
    """Worker initializer: end this process when `run_pid` ends (see the module docstring)."""
    if hasattr(signal, "pthread_sigmask"):  # in case a deferral (below) reached this process
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    watch = _wait_on_pidfd if hasattr(os, "pidfd_open") else _poll_pid
    try:
        handle = os.pidfd_open(run_pid) if watch is _wait_on_pidfd else run_pid
    except ProcessLookupError:
        os._exit(1)  # the run ended before this worker started
    except OSError:  # pidfds unsupported by this kernel
        watch, handle = _poll_pid, run_pid
    threading.Thread(target=watch, args=(handle,), daemon=True, name="lifeline").start()


def _die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _wait_on_pidfd(pidfd: int) -> None:
    """A pidfd becomes readable when its process exits (zombie included)."""
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    while not poller.poll():
        pass
    _end_now()


def _poll_pid(pid: int) -> None:
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            _end_now()
        except PermissionError:
            pass  # the pid exists (reused by another user's process would be a rare miss)
        time.sleep(POLL_SECONDS)


def _end_now() -> None:
    # os._exit, not sys.exit: a worker blocked writing a result must not run clean-up first.
    os._exit(1)


def start_quiet_resource_tracker() -> None:
    """Start multiprocessing's resource tracker, silent. It cleans up after a run killed by
    SIGKILL and would warn about it on the user's terminal, in two lines; it takes its warning
    filters from this process when it starts, so this must come before any process is started."""
    from multiprocessing import resource_tracker

    quiet = "ignore::UserWarning:multiprocessing.resource_tracker"
    if quiet not in sys.warnoptions:
        sys.warnoptions.append(quiet)
    resource_tracker.ensure_running()


class signals_deferred:
    """Hold Ctrl-C and termination signals while worker processes are being started.

    A signal that arrived while `ProcessPoolExecutor.submit` starts a worker would interrupt it
    before the pool records the process, so `stop_workers` would miss it (it then fails noisily
    once the pool's semaphores are gone). The signal is delivered when the block ends. The
    forkserver and the resource tracker are started first: they must not inherit the mask.
    """

    def __enter__(self) -> None:
        from multiprocessing import forkserver

        start_quiet_resource_tracker()
        forkserver.ensure_running()
        self.blocked = hasattr(signal, "pthread_sigmask")
        if self.blocked:
            self.previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)

    def __exit__(self, *exc) -> None:
        if self.blocked:
            signal.pthread_sigmask(signal.SIG_SETMASK, self.previous)


def stop_workers(processes) -> None:
    """Terminate worker processes at once (a chunk in progress is dropped, not waited for)."""
    for process in list(processes):
        with contextlib.suppress(Exception):
            process.terminate()
    deadline = time.monotonic() + 5.0
    for process in list(processes):
        with contextlib.suppress(Exception):
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
