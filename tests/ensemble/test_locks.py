"""One run at a time per job (`sim.ensemble.locks`, DESIGN §10).

Two identical runs into the same --out share the job's chunk folder; they used to race (one
failed with FileNotFoundError on a chunk the other had discarded, and a stale chunk could block
the next plain run). The second is now refused at once with exit 2; a lock left by a killed
process blocks nothing.
"""

from __future__ import annotations

import io
import signal
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from cli_output import printed_folder

from sim.cli.main import main
from sim.ensemble.execution import ChunkStore
from sim.ensemble.locks import LOCK_FILE, JobBusy, JobLock

SCENARIO = """\
name: locked
period: {start: 2025-01, end: 2025-12}
runs: {replicates: 120, seed: 9}
"""
RESULT_FILES = ("annual.csv", "monthly.parquet", "summary.json", "scenario.yaml")


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def hold_lock_in_child(folder: Path) -> subprocess.Popen:
    """A process that takes the job's lock and then waits (until killed)."""
    code = (
        "import sys, time\n"
        "from sim.ensemble.locks import JobLock\n"
        "lock = JobLock(sys.argv[1])\n"
        "lock.acquire()\n"
        "print('locked', flush=True)\n"
        "time.sleep(120)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(folder)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout.readline() == "locked\n"
    return child


def test_a_second_holder_is_refused_naming_the_first(tmp_path):
    child = hold_lock_in_child(tmp_path / "job")
    try:
        with pytest.raises(JobBusy, match=rf"another run of the same job \(process {child.pid}\)"):
            JobLock(tmp_path / "job").acquire()
    finally:
        child.kill()
        child.wait()


def test_a_lock_left_by_a_killed_process_blocks_nothing(tmp_path):
    child = hold_lock_in_child(tmp_path / "job")
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert (tmp_path / "job" / LOCK_FILE).exists()  # the file stays; the lock does not
    lock = JobLock(tmp_path / "job")
    lock.acquire()
    assert lock.held
    lock.release()


def test_two_stores_of_one_job_in_one_process_also_exclude_each_other(tmp_path):
    first, second = ChunkStore(tmp_path / "job"), ChunkStore(tmp_path / "job")
    first.claim()
    with pytest.raises(JobBusy):
        second.claim()
    first.discard()  # deletes the folder, then lets go
    assert not (tmp_path / "job").exists()
    second.claim()  # a new folder and a new lock
    assert second.lock.held and (tmp_path / "job" / LOCK_FILE).exists()
    second.discard()


def test_a_lock_on_a_folder_deleted_by_its_holder_is_taken_again(tmp_path, monkeypatch):
    """The holder may finish (delete the folder, let go) between our open and our flock: the
    lock we then get is on a deleted file and protects nothing, so it is taken on a new one."""
    import sim.ensemble.locks as locks

    holder = ChunkStore(tmp_path / "job")
    holder.claim()
    real_flock = locks.fcntl.flock
    calls = []

    def flock_after_the_holder_finished(fd, operation):
        if not calls:
            holder.discard()
        calls.append(fd)
        return real_flock(fd, operation)

    monkeypatch.setattr(locks.fcntl, "flock", flock_after_the_holder_finished)
    lock = JobLock(tmp_path / "job")
    lock.acquire()
    assert len(calls) == 2  # the first lock was on the deleted file: taken again
    assert lock._same_file(lock.fd) and (tmp_path / "job" / LOCK_FILE).exists()
    lock.release()


def test_two_identical_runs_into_one_out_do_not_corrupt_each_other(tmp_path):
    scenario = tmp_path / "locked.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    out = tmp_path / "out"
    argv = ["run", str(scenario), "--out", str(out), "--workers", "1", "--no-figures"]
    first = subprocess.Popen(
        [sys.executable, "-m", "sim", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.time() + 120
        while not list(out.glob("locked/.jobs/*/" + LOCK_FILE)):
            assert first.poll() is None, first.communicate()
            assert time.time() < deadline, "the first run did not start in time"
            time.sleep(0.02)
        code, printed, err = cli(*argv)  # the same job while the first runs
        assert first.poll() is None, "the first run ended before the second was tried"
        assert code == 2 and printed == ""
        assert err.startswith("error: another run of the same job (process ") and "--out" in err
        assert len(err.splitlines()) == 1
        printed, err = first.communicate(timeout=300)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert first.returncode == 0, err
    folder = printed_folder(printed)
    assert all((folder / name).is_file() for name in RESULT_FILES)
    assert not (out / "locked" / ".jobs").exists()  # no stale chunk to block the next run
