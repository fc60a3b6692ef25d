"""Faults: a full disk, an output folder that cannot be written, a Dask worker lost
mid-run, a NaN in the model's state, and where results may and may not be written.

Each ends in a complete, correct result (the same bytes as an undisturbed run) or in a clear
one-line error with finished work kept and resumable. SIGINT and SIGKILL of a whole run are in
tests/ensemble/test_execution.py.
"""

from __future__ import annotations

import errno
import io
import os
import re
import signal
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest
from cli_output import printed_folder
from local_cluster import local_cluster

import sim.ensemble.execution
import sim.ensemble.results
from sim.ensemble.execution import CHUNK_REPLICATES
from sim.inputs.parameters import PARAMETER_NAMES
from sim.model import month_kernels
from sim.model.drivers import DRIVERS, EQUATIONS
from sim.model.indicators import INDICATOR_NAMES

SCENARIO = """\
name: faults
period: {start: 2025-01, end: 2025-12}
runs: {replicates: 30, seed: 11}
tariffs:
  - {name: reciprocal, partner: US, sectors: all, rate: 0.15, start: 2025-04}
"""
MONTHS = 12
REPLICATES = 30  # two chunks: 25 + 5
RESULT_FILES = ("annual.csv", "monthly.parquet", "summary.json", "scenario.yaml")


def cli(*argv: str) -> tuple[int, str, str]:
    from sim.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def run_argv(scenario: Path, out: Path | str, *extra: str) -> list[str]:
    return ["run", str(scenario), "--out", str(out), "--workers", "1", "--no-figures", *extra]


def tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def results_in(out: Path, name: str = "faults") -> list[Path]:
    folder = out / name
    return [p for p in folder.iterdir() if not p.name.startswith(".")] if folder.is_dir() else []


def leftovers(out: Path) -> list[Path]:
    """Temporary files or folders of an unfinished write, anywhere under out."""
    return [p for p in out.rglob(".tmp-*")]


def chunk_files(out: Path, name: str = "faults") -> list[Path]:
    return sorted((out / name / ".jobs").glob("*/chunk-*.npy"))


def result_bytes(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in RESULT_FILES}


def one_error_line(err: str) -> str:
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and err.endswith("\n"), err
    return lines[0]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scenario") / "faults.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def reference(scenario, tmp_path_factory) -> dict[str, bytes]:
    """The undisturbed run's result files."""
    out = tmp_path_factory.mktemp("reference")
    code, _, err = cli(*run_argv(scenario, out))
    assert code == 0, err
    (folder,) = results_in(out)
    return result_bytes(folder)


# --- a full disk ---------------------------------------------------------------------------------


class FullDisk:
    """`open` for a module whose files land on a disk with `capacity` bytes left.

    Writes beyond the capacity fail with ENOSPC after writing what still fits, as a real file
    system does; reads pass through. The file object is not an `io.BufferedWriter`, so numpy
    writes through `write` rather than straight to the file descriptor.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.written = 0
        self.failures = 0

    def __call__(self, file, mode="r", *args, **kwargs):
        if "r" in mode and "+" not in mode:
            return open(file, mode, *args, **kwargs)
        return LimitedWriter(self, open(file, mode, *args, **kwargs))


class LimitedWriter(io.RawIOBase):
    def __init__(self, disk: FullDisk, handle) -> None:
        self.disk, self.handle = disk, handle

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self.handle.seekable()

    def seek(self, *args) -> int:
        return self.handle.seek(*args)

    def tell(self) -> int:
        return self.handle.tell()

    def fileno(self) -> int:
        return self.handle.fileno()

    def flush(self) -> None:
        if not self.handle.closed:
            self.handle.flush()

    def close(self) -> None:
        if not self.closed:
            self.handle.close()
            super().close()

    def write(self, data) -> int:
        data = memoryview(data).cast("B")
        room = self.disk.capacity - self.disk.written
        if len(data) > room:
            if room > 0:
                self.disk.written += self.handle.write(data[:room])
            self.disk.failures += 1
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.disk.written += self.handle.write(data)
        return len(data)


def npy_bytes(array: np.ndarray) -> int:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return len(buffer.getvalue())


#: The inputs drawn per replicate (the scenario has no `uncertain` inputs): the model parameters,
#: the driver model's parameters (mean, persistence and sd of its four equations, and the
#: partners' spread) and the seven drivers' growth in the forecast year.
INPUT_NAMES = sorted(
    [
        *PARAMETER_NAMES,
        *(f"driver.{e}.{k}" for e in EQUATIONS for k in ("mean", "persistence", "sd")),
        "driver.partner_deviation_sd",
        *(f"growth.{d}.2025" for d in DRIVERS),
    ]
)
#: A saved chunk: its indicators, then the names and values of the inputs drawn per replicate.
CHUNK_FILE_BYTES = (
    npy_bytes(np.zeros((CHUNK_REPLICATES, MONTHS, len(INDICATOR_NAMES))))
    + npy_bytes(np.array(INPUT_NAMES, dtype=str))
    + npy_bytes(np.zeros((CHUNK_REPLICATES, len(INPUT_NAMES))))
)
#: Free space beyond the first chunk: less than the second chunk (5 replicates) needs, with
#: room for a few more drawn inputs per replicate.
SPARE_BYTES = 4000


def test_a_disk_that_fills_up_while_saving_chunks_stops_cleanly_and_resumes(
    scenario, reference, tmp_path, monkeypatch
):
    disk = FullDisk(capacity=CHUNK_FILE_BYTES + SPARE_BYTES)  # room for the first chunk only
    monkeypatch.setattr(sim.ensemble.execution, "open", disk, raising=False)
    code, out, err = cli(*run_argv(scenario, tmp_path))
    assert disk.failures == 1
    assert code == 1 and out == ""
    assert os.strerror(errno.ENOSPC) in one_error_line(err)
    assert results_in(tmp_path) == []
    assert [p.name for p in chunk_files(tmp_path)] == ["chunk-000000.npy"]  # finished work kept

    monkeypatch.undo()  # space is back
    code, out, err = cli(*run_argv(scenario, tmp_path, "--resume"))
    assert code == 0, err
    (folder,) = results_in(tmp_path)
    assert result_bytes(folder) == reference
    assert chunk_files(tmp_path) == [] and leftovers(tmp_path) == []


def test_a_full_disk_while_saving_chunks_names_the_folder_and_leaves_no_partial_chunk(
    scenario, tmp_path, monkeypatch
):
    monkeypatch.setattr(
        sim.ensemble.execution, "open", FullDisk(CHUNK_FILE_BYTES + SPARE_BYTES), raising=False
    )
    code, _, err = cli(*run_argv(scenario, tmp_path))
    line = one_error_line(err)
    assert code == 1
    (job,) = (tmp_path / "faults" / ".jobs").iterdir()
    assert line.startswith(f"error: cannot write to {job}: No space left on device")
    assert "--resume" in line
    assert leftovers(tmp_path) == []  # the half-written second chunk is gone


def test_a_disk_that_fills_up_while_writing_the_result_keeps_the_chunks(
    scenario, reference, tmp_path, monkeypatch
):
    disk = FullDisk(capacity=4096)  # scenario.yaml fits, monthly.parquet does not
    monkeypatch.setattr(sim.ensemble.results, "open", disk, raising=False)
    code, _, err = cli(*run_argv(scenario, tmp_path))
    assert disk.failures >= 1  # pyarrow tries again when it closes the file
    assert code == 1
    assert os.strerror(errno.ENOSPC) in one_error_line(err)
    assert results_in(tmp_path) == [] and leftovers(tmp_path) == []  # neither final nor .tmp-*
    assert len(chunk_files(tmp_path)) == 2

    monkeypatch.undo()
    code, _, err = cli(*run_argv(scenario, tmp_path, "--resume"))
    assert code == 0, err
    (folder,) = results_in(tmp_path)
    assert result_bytes(folder) == reference
    assert chunk_files(tmp_path) == []


def test_a_full_disk_while_writing_the_result_names_the_folder_and_says_resume(
    scenario, tmp_path, monkeypatch
):
    monkeypatch.setattr(sim.ensemble.results, "open", FullDisk(4096), raising=False)
    code, _, err = cli(*run_argv(scenario, tmp_path))
    line = one_error_line(err)
    assert code == 1
    assert line.startswith(f"error: cannot write to {tmp_path / 'faults'}: No space left")
    assert "--resume" in line


# --- an output folder that cannot be written -----------------------------------------------------


def writes_are_refused(folder: Path) -> bool:
    """Whether the file system refuses writes into a folder with mode 0o555 (not for root)."""
    probe = folder / ".probe"
    try:
        probe.write_bytes(b"")
    except PermissionError:
        return True
    probe.unlink()
    return False


@pytest.fixture
def read_only(monkeypatch):
    """Make folders read-only: chmod 0o555, and where that does not stop this user (root),
    also report them as not writable through `os.access`, which is how the command checks."""
    made: list[Path] = []  # folders this user can write despite their mode
    locked: list[Path] = []
    real_access = os.access

    def access(path, mode, *args, **kwargs):
        target = Path(path).absolute()
        if mode & os.W_OK and any(target == p or p in target.parents for p in made):
            return False
        return real_access(path, mode, *args, **kwargs)

    def make(folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o555)
        locked.append(folder)
        if not writes_are_refused(folder):
            made.append(folder.absolute())
            monkeypatch.setattr(os, "access", access)
        return folder

    yield make
    for folder in locked:
        folder.chmod(0o755)


def test_a_read_only_out_folder_is_refused_before_any_work(scenario, tmp_path, read_only):
    out = read_only(tmp_path / "locked")
    started = time.perf_counter()
    code, _, err = cli(*run_argv(scenario, out))
    assert code == 2
    assert one_error_line(err) == f"error: --out {out}: cannot write to {out}"
    assert tree(out) == set()
    assert time.perf_counter() - started < 5  # refused before simulating


def test_out_below_a_read_only_folder_is_refused(scenario, tmp_path, read_only):
    locked = read_only(tmp_path / "locked")
    code, _, err = cli(*run_argv(scenario, locked / "new" / "results"))
    assert code == 2 and "cannot write to" in one_error_line(err)
    assert tree(locked) == set()


def test_a_read_only_scenario_folder_inside_out_is_refused(scenario, tmp_path, read_only):
    read_only(tmp_path / "faults")
    code, _, err = cli(*run_argv(scenario, tmp_path))
    assert code == 2 and "cannot write to" in one_error_line(err)
    assert tree(tmp_path / "faults") == set()


def test_out_below_a_file_is_refused_before_any_work(scenario, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder\n", encoding="utf-8")
    started = time.perf_counter()
    code, _, err = cli(*run_argv(scenario, blocker / "results"))
    assert time.perf_counter() - started < 5  # not after simulating a chunk
    assert code == 2 and "not a folder" in one_error_line(err)
    assert tree(tmp_path) == {"file"}


# --- a Dask worker killed mid-run ----------------------------------------------------------------

DASK_SCENARIO = """\
name: faults
period: {start: 2025-01, end: 2026-12}
runs: {replicates: 150, seed: 5}
tariffs:
  - {name: reciprocal, partner: US, sectors: all, rate: 0.25, start: 2025-04}
"""


@pytest.fixture
def dask_cluster(tmp_path):
    """A scheduler and three workers without nannies (so a killed worker stays dead)."""
    with local_cluster(tmp_path, workers=3, nanny=False) as (address, workers):
        yield address, workers


@pytest.mark.slow  # about 40 s: three workers, one killed, then a reference run
def test_a_worker_killed_mid_run_costs_time_not_results(dask_cluster, tmp_path):
    address, workers = dask_cluster
    scenario = tmp_path / "faults.yaml"
    scenario.write_text(DASK_SCENARIO, encoding="utf-8")
    total = -(-150 // CHUNK_REPLICATES)

    run = subprocess.Popen(
        [sys.executable, "-m", "sim", "run", str(scenario), "--out", str(tmp_path / "dask"),
         "--scheduler", address, "--no-figures"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.time() + 120
        while not chunk_files(tmp_path / "dask"):
            assert run.poll() is None, run.communicate()
            assert time.time() < deadline, "no chunk was saved in time"
            time.sleep(0.02)
        saved = len(chunk_files(tmp_path / "dask"))
        victim = workers[0]
        victim.send_signal(signal.SIGKILL)
        assert run.poll() is None and saved < total  # killed while work was left
        out, err = run.communicate(timeout=300)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert victim.wait(timeout=10) == -signal.SIGKILL
    assert run.returncode == 0, err
    (folder,) = results_in(tmp_path / "dask")
    assert f"Results: {folder}" in out.splitlines()

    reference = tmp_path / "reference"
    code, _, err = cli(*run_argv(scenario, reference))
    assert code == 0, err
    (expected,) = results_in(reference)
    assert result_bytes(folder) == result_bytes(expected)


# --- a NaN in the model's state ------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("poison", [float("nan"), float("inf")], ids=["nan", "inf"])
def test_a_nan_in_model_state_stops_the_run_naming_where(scenario, tmp_path, monkeypatch, poison):
    """Poison the firms' demand shocks in replicate 1, month 5 (2025-05): the run stops there."""
    real = month_kernels.demand_and_production
    target = 1 * MONTHS + 4  # the kernel runs once a month, replicates one after another
    calls = []

    def poisoned(*args):
        calls.append(1)
        if len(calls) - 1 == target:
            firm_shock = args[8]
            assert firm_shock.shape == args[1].shape  # the firms' demand shocks, by slot
            firm_shock[:] = poison
        return real(*args)

    monkeypatch.setattr(month_kernels, "demand_and_production", poisoned)
    code, out, err = cli(*run_argv(scenario, tmp_path))
    line = one_error_line(err)
    assert code == 1 and out == ""
    match = re.search(r"replicate 1, month 2025-05: (\w+) is not finite \((nan|inf|-inf)\)", line)
    assert match, line
    assert match[1] in INDICATOR_NAMES
    assert len(calls) == target + 1  # nothing ran after the NaN
    assert not (tmp_path / "faults").exists()  # no result, no chunk, no temporary folder


# --- where results go ----------------------------------------------------------------------------


def test_a_relative_out_is_under_the_current_folder_and_nothing_is_written_elsewhere(
    scenario, tmp_path, monkeypatch
):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    local = tmp_path / "scenario" / "faults.yaml"
    local.parent.mkdir()
    local.write_text(scenario.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.chdir(cwd)
    before = tree(tmp_path)
    code, out, err = cli(*run_argv(local, "rel/results"))
    assert code == 0, err
    printed = printed_folder(out)
    assert not printed.is_absolute() and printed.parts[:3] == ("rel", "results", "faults")
    assert (cwd / printed / "annual.csv").is_file()
    added = tree(tmp_path) - before
    assert added and all(p == "cwd/rel" or p.startswith("cwd/rel/") for p in added), added
    assert before <= tree(tmp_path)


@pytest.mark.parametrize("name", ["../escape", "a/b", ".", "..", "/abs", "x\\y"])
def test_a_name_that_is_a_path_is_refused(tmp_path, name):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(f"name: '{name}'\nruns: {{replicates: 1}}\n", encoding="utf-8")
    before = tree(tmp_path)
    code, _, err = cli(*run_argv(scenario, tmp_path / "out" / "deep"))
    assert code == 2 and one_error_line(err).startswith(f"{scenario}:1: name: ")
    assert tree(tmp_path) == before


def system_file_references(folder: Path) -> list[str]:
    refs = [os.path.relpath("/etc/passwd", folder), "/etc/passwd", "/etc/shadow"]
    refs += ["/dev/zero", "/proc/self/environ", "/", "/etc"]
    return [ref for ref in refs if os.path.lexists(os.path.join(folder, ref))]


@pytest.mark.parametrize("which", range(7))
def test_extends_pointing_at_system_files_is_a_clean_error(tmp_path, which):
    folder = tmp_path / "a" / "b"
    folder.mkdir(parents=True)
    refs = system_file_references(folder)
    if which >= len(refs):
        pytest.skip("this system lacks the file")
    scenario = folder / "s.yaml"
    scenario.write_text(f"name: s\nextends: {refs[which]}\n", encoding="utf-8")
    code, out, err = cli(*run_argv(scenario, tmp_path / "out"))
    assert code == 2 and out == "" and "Traceback" not in err
    for line in err.splitlines():
        assert re.match(r"\S+:\d+: ", line), line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("target", ["/etc/passwd", "/etc/shadow"])
def test_extends_never_quotes_a_file_that_is_not_a_scenario(tmp_path, target):
    if not os.access(target, os.R_OK):
        pytest.skip(f"{target} cannot be read here")
    with open(target, encoding="utf-8", errors="replace") as handle:
        first = handle.readline().strip()
    scenario = tmp_path / "s.yaml"
    scenario.write_text(f"name: s\nextends: {os.path.relpath(target, tmp_path)}\n")
    code, _, err = cli("check", str(scenario))
    assert code == 2
    assert first[:12] not in err, "the error quotes the contents of a system file"
    assert one_error_line(err).startswith(f"{scenario}:2: extends: ")


# --- a Dask cluster that loses every worker, or its scheduler ---------------------------------


def scheduler_process(address: str):
    """The scheduler process of `local_cluster` (a child of this process listening there)."""
    import psutil

    port = int(address.rsplit(":", 1)[1])
    for child in psutil.Process().children():
        if "dask_scheduler" in " ".join(child.cmdline()):
            ports = {c.laddr.port for c in child.net_connections() if c.status == "LISTEN"}
            if port in ports:
                return child
    raise AssertionError(f"no scheduler process listening at {address}")


def test_a_cluster_with_no_worker_left_ends_the_run_with_one_line(scenario, tmp_path, monkeypatch):
    """It used to wait for ever. With the wait shortened to 3 s the run ends well within 60 s,
    exit 1, one line saying what to do."""
    from sim.ensemble.execution import DaskCluster

    monkeypatch.setattr(DaskCluster, "NO_WORKER_SECONDS", 3.0)
    with local_cluster(tmp_path, workers=1, nanny=False) as (address, workers):
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(timeout=10)
        started = time.time()
        code, out, err = cli(
            "run", str(scenario), "--out", str(tmp_path / "out"), "--scheduler", address,
            "--no-figures",
        )  # fmt: skip
        elapsed = time.time() - started
    line = one_error_line(err)
    assert code == 1 and out == "" and elapsed < 60
    assert line.startswith(f"error: ClusterError: the Dask cluster at {address} has had no worker")
    assert "--resume" in line
    assert results_in(tmp_path / "out") == []


@pytest.mark.parametrize("address", ["not a url", "http://host:8786", "tcp://host:99999", ""])
def test_a_scheduler_address_that_is_not_one_is_refused(scenario, tmp_path, address):
    code, out, err = cli(*run_argv(scenario, tmp_path / "out")[:-3], "--scheduler", address)
    assert code == 2 and out == "" and "not a Dask scheduler address" in err
    assert "Traceback" not in err and not (tmp_path / "out").exists()


@pytest.mark.slow  # about 20 s: a cluster, a run and a first chunk
def test_a_killed_scheduler_ends_the_run_with_one_line_and_no_traceback(tmp_path):
    scenario = tmp_path / "faults.yaml"
    scenario.write_text(DASK_SCENARIO.replace("150", "2000"), encoding="utf-8")
    with local_cluster(tmp_path, workers=2, nanny=False) as (address, _):
        run = subprocess.Popen(
            [sys.executable, "-m", "sim", "run", str(scenario), "--out", str(tmp_path / "dask"),
             "--scheduler", address, "--no-figures", "--yes"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            deadline = time.time() + 120
            while not chunk_files(tmp_path / "dask"):
                assert run.poll() is None, run.communicate()
                assert time.time() < deadline, "no chunk was saved in time"
                time.sleep(0.05)
            scheduler_process(address).kill()
            out, err = run.communicate(timeout=120)
        finally:
            if run.poll() is None:
                run.kill()
                run.wait()
    assert run.returncode == 1 and out == ""
    line = one_error_line(err)
    assert line.startswith(
        f"error: ClusterError: lost the connection to the Dask scheduler at {address}"
    )
    assert "--resume" in line
    assert chunk_files(tmp_path / "dask")  # the finished chunks are kept


# --- a disk that really fills up ---------------------------------------------------------------


@pytest.fixture
def tiny_disk(tmp_path):
    """A 160 kB tmpfs (needs root; skipped elsewhere): room for one chunk of 25 replicates x 12
    months (94 kB of indicators and about 20 kB of drawn inputs), not two. Yields its folder and
    a function that makes it 50 MB."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr!r}")

    def grow() -> None:
        subprocess.run(["mount", "-o", "remount,size=50m", str(folder)], check=True)

    try:
        yield folder, grow
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_real_full_disk_mid_chunks_gives_the_documented_message(scenario, tiny_disk):
    """numpy writes arrays to a real file with fwrite, which on a full disk raised
    `OSError: 18000 requested and 10736 written` (no errno), shown as exit 1 without the resume
    hint. The file system here really is full (no monkeypatching)."""
    folder, grow = tiny_disk
    big = scenario.parent / "big.yaml"
    big.write_text(SCENARIO.replace("replicates: 30", "replicates: 75"), encoding="utf-8")
    code, out, err = cli(*run_argv(big, folder), "--yes")  # --yes: past the disk estimate
    line = one_error_line(err)
    assert code == 1 and out == ""
    (job,) = (folder / "faults" / ".jobs").iterdir()
    assert line.startswith(f"error: cannot write to {job}: No space left on device")
    assert line.endswith("free space, then run the same command with --resume")
    assert chunk_files(folder) and leftovers(folder) == []

    grow()
    code, out, err = cli(*run_argv(big, folder), "--resume")
    assert code == 0, err
    assert chunk_files(folder) == [] and leftovers(folder) == []


def test_a_damaged_saved_chunk_is_run_again_on_resume(scenario, reference, tmp_path, monkeypatch):
    """A truncated chunk file (a crash of the disk, an edit) made --resume fail with exit 1
    (`ValueError: EOF: reading array header`); it is now treated as not finished."""
    real_save = sim.ensemble.execution.ChunkStore.save
    saved = []

    def save_then_stop(store, index, values, inputs=None):
        real_save(store, index, values, inputs)
        saved.append(index)
        raise KeyboardInterrupt

    monkeypatch.setattr(sim.ensemble.execution.ChunkStore, "save", save_then_stop)
    code, _, err = cli(*run_argv(scenario, tmp_path))
    assert code == 130, err
    monkeypatch.undo()
    (chunk,) = chunk_files(tmp_path)
    chunk.write_bytes(chunk.read_bytes()[:100])
    code, _, err = cli(*run_argv(scenario, tmp_path, "--resume"))
    assert code == 0, err
    (folder,) = results_in(tmp_path)
    assert result_bytes(folder) == reference


def test_an_address_where_no_dask_scheduler_answers_ends_within_a_bounded_time(
    scenario, tmp_path, monkeypatch
):
    """A server that accepts connections and never answers made the run wait for ever (dask's
    own connect timeout does not cover it); one that answers something else made it fail with
    a MemoryError. Both now end with one line, exit 1."""
    import socket
    import threading

    from sim.ensemble.execution import DaskCluster

    monkeypatch.setattr(DaskCluster, "CONNECT_SECONDS", 2.0)
    silent, talkative = socket.socket(), socket.socket()
    for server in (silent, talkative):
        server.bind(("127.0.0.1", 0))
        server.listen(8)

    def answer_nonsense() -> None:
        while True:
            try:
                connection, _ = talkative.accept()
            except OSError:
                return
            connection.sendall(b"HTTP/1.0 200 OK\r\n\r\nnot a scheduler")
            connection.close()

    threading.Thread(target=answer_nonsense, daemon=True).start()
    try:
        for server in (silent, talkative):
            address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
            started = time.time()
            code, out, err = cli(
                *run_argv(scenario, tmp_path / "out")[:-3], "--scheduler", address, "--no-figures"
            )
            assert code == 1 and out == "" and time.time() - started < 60
            line = one_error_line(err)
            assert line.startswith("error: ClusterError: ") and address in line
            assert "--workers" in line
    finally:
        silent.close()
        talkative.close()
