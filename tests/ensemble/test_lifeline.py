"""Worker processes die with the run that started them (`sim.ensemble.lifeline`, DESIGN §10).

`changwon-sim run --workers 2` is started in its own session, killed mid-run (SIGKILL, which no
clean-up code survives, or SIGTERM), and every process of its session — the forkserver, the
resource tracker and both workers — must be gone within a bounded time. They used to stay for
ever, blocked writing results nobody read, each holding its memory.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

SCENARIO = """\
name: lifeline
period: {start: 2025-01, end: 2025-12}
runs: {replicates: 5000, seed: 4}
"""
GONE_WITHIN_SECONDS = 30


def session_processes(session: int) -> list[psutil.Process]:
    """Living processes of a session (zombies, already dead, do not count)."""
    found = []
    for process in psutil.process_iter(["status"]):
        try:
            if os.getsid(process.pid) == session and process.info["status"] != "zombie":
                found.append(process)
        except (ProcessLookupError, PermissionError, psutil.Error):
            continue
    return found


def start_run(tmp_path: Path) -> subprocess.Popen:
    scenario = tmp_path / "lifeline.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    return subprocess.Popen(
        [sys.executable, "-m", "sim", "run", str(scenario), "--out", str(tmp_path / "out"),
         "--workers", "2", "--no-figures", "--yes"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip


def wait_until_working(run: subprocess.Popen, tmp_path: Path) -> list[psutil.Process]:
    """Wait for the first saved chunk (workers busy), then return the run's other processes."""
    deadline = time.time() + 180
    while not list((tmp_path / "out").glob("lifeline/.jobs/*/chunk-*.npy")):
        assert run.poll() is None, run.communicate()
        assert time.time() < deadline, "no chunk was saved in time"
        time.sleep(0.05)
    helpers = [p for p in session_processes(run.pid) if p.pid != run.pid]
    assert len(helpers) >= 3, helpers  # forkserver, resource tracker, workers
    return helpers


def assert_all_gone(session: int, helpers: list[psutil.Process]) -> None:
    deadline = time.time() + GONE_WITHIN_SECONDS
    while session_processes(session) and time.time() < deadline:
        time.sleep(0.2)
    left = session_processes(session)
    for process in left:  # leave nothing behind, even when failing
        process.kill()
    assert not left, f"still alive {GONE_WITHIN_SECONDS} s after the run: {left}"
    assert not [p for p in helpers if p.is_running() and p.status() != "zombie"]


@pytest.mark.parametrize(
    "stop",
    [signal.SIGKILL, pytest.param(signal.SIGTERM, marks=pytest.mark.slow)],  # suite time
    ids=["SIGKILL", "SIGTERM"],
)
def test_a_killed_run_leaves_no_process_behind(tmp_path, stop):
    run = start_run(tmp_path)
    try:
        helpers = wait_until_working(run, tmp_path)
        run.send_signal(stop)
        _, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert_all_gone(run.pid, helpers)
    if stop == signal.SIGTERM:  # stopped as by Ctrl-C: finished chunks kept, resumable
        assert run.returncode == 130, err
        assert err.startswith("interrupted: ") and "--resume" in err
        assert len(err.splitlines()) == 1, err
    else:
        assert run.returncode == -signal.SIGKILL
        # Nothing on the terminal: the resource tracker used to warn, in two lines, about the
        # semaphores it cleaned up after the killed run.
        assert err == ""


@pytest.mark.slow  # about 20 s on a loaded machine
def test_ctrl_c_pressed_twice_still_stops_cleanly(tmp_path):
    """The second Ctrl-C used to interrupt the clean-up of the first (exit by SIGINT)."""
    run = start_run(tmp_path)
    try:
        helpers = wait_until_working(run, tmp_path)
        run.send_signal(signal.SIGINT)
        time.sleep(0.05)
        run.send_signal(signal.SIGINT)
        _, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert_all_gone(run.pid, helpers)
    assert run.returncode == 130 and err.startswith("interrupted: ") and len(err.splitlines()) == 1


def test_a_worker_ends_when_the_run_it_serves_ends(tmp_path):
    """The watchdog alone, without multiprocessing: a child that installed it for a parent
    process exits as soon as that process does."""
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    code = (
        "import sys, time\n"
        "from sim.ensemble.lifeline import keep_alive_only_with\n"
        f"keep_alive_only_with({parent.pid})\n"
        "print('watching', flush=True)\n"
        "time.sleep(60)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "watching\n"
        assert child.poll() is None
        parent.kill()
        parent.wait()
        assert child.wait(timeout=10) == 1
    finally:
        for process in (parent, child):
            if process.poll() is None:
                process.kill()
                process.wait()


def test_a_worker_started_after_its_run_ended_exits_at_once():
    code = (
        "import sys\n"
        "from sim.ensemble.lifeline import keep_alive_only_with\n"
        "keep_alive_only_with(int(sys.argv[1]))\n"
        "print('still here')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(unused_pid())], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 1 and done.stdout == "", done


def unused_pid() -> int:
    """A pid that no process has now."""
    pid = 4_000_000
    while psutil.pid_exists(pid):
        pid -= 1
    return pid
