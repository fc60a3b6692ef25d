"""The execution layer: same bytes whatever the executor; interrupted runs resume to the same bytes.

A real Dask scheduler and two workers are started as separate processes on 127.0.0.1; runs are
interrupted with SIGINT and SIGKILL in a subprocess and resumed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from local_cluster import local_cluster

from sim.cli.main import main
from sim.ensemble.execution import CHUNK_REPLICATES

SCENARIO = """\
name: exec
period: {start: 2025-01, end: 2026-12}
runs: {replicates: 60, seed: 3}
tariffs:
  - {name: reciprocal, partner: US, sectors: all, rate: 0.15, start: 2025-08}
uncertain:
  tariffs.reciprocal.rate: {dist: uniform, low: 0.1, high: 0.25}
"""
RESULT_FILES = ("annual.csv", "monthly.parquet", "summary.json", "scenario.yaml")


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scenario") / "exec.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


def result_folder(out: Path, name: str = "exec") -> Path:
    (folder,) = [p for p in (out / name).iterdir() if not p.name.startswith(".")]
    return folder


def result_bytes(out: Path) -> dict[str, bytes]:
    folder = result_folder(out)
    return {name: (folder / name).read_bytes() for name in RESULT_FILES}


@pytest.fixture(scope="module")
def one_worker(scenario_file, tmp_path_factory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("one")
    argv = ["run", str(scenario_file), "--out", str(out), "--workers", "1", "--no-figures"]
    assert main(argv) == 0
    assert not (out / "exec" / ".jobs").exists()  # chunks are discarded once the result is whole
    return result_bytes(out)


def test_two_workers_give_the_same_bytes(scenario_file, one_worker, tmp_path):
    argv = ["run", str(scenario_file), "--out", str(tmp_path), "--workers", "2", "--no-figures"]
    assert main(argv) == 0
    assert result_bytes(tmp_path) == one_worker


# --- a real Dask cluster -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    with local_cluster(tmp_path_factory.mktemp("dask"), workers=2) as (address, _):
        assert address.startswith("tcp://127.0.0.1:")
        yield address


def test_a_dask_cluster_gives_the_same_bytes(scenario_file, one_worker, dask_cluster, tmp_path):
    argv = [
        "run",
        str(scenario_file),
        "--out",
        str(tmp_path),
        "--scheduler",
        dask_cluster,
        "--no-figures",
    ]
    assert main(argv) == 0
    assert result_bytes(tmp_path) == one_worker


# --- interrupt and resume ---------------------------------------------------------------------


def start_run(scenario_file: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sim",
            "run",
            str(scenario_file),
            "--out",
            str(out),
            "--workers",
            "1",
            "--no-figures",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def chunk_files(out: Path) -> list[Path]:
    return sorted((out / "exec" / ".jobs").glob("*/chunk-*.npy"))


def wait_for_chunks(process: subprocess.Popen, out: Path, count: int) -> None:
    deadline = time.time() + 120
    while len(chunk_files(out)) < count:
        assert process.poll() is None, "the run ended before it could be interrupted"
        assert time.time() < deadline, "no chunk was saved in time"
        time.sleep(0.05)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_an_interrupted_run_resumes_to_the_same_bytes(scenario_file, one_worker, tmp_path, stop):
    assert 60 // CHUNK_REPLICATES >= 2  # several chunks, so the run can be cut between them
    process = start_run(scenario_file, tmp_path)
    wait_for_chunks(process, tmp_path, 1)
    os.kill(process.pid, stop)
    _, err = process.communicate(timeout=120)
    if stop == signal.SIGINT:
        assert process.returncode == 130, err
        assert "--resume" in err
    else:
        assert process.returncode == -signal.SIGKILL
    kept = chunk_files(tmp_path)
    assert 1 <= len(kept) < 3
    assert not [p for p in (tmp_path / "exec").iterdir() if not p.name.startswith(".")]

    # Without --resume the kept work is neither lost nor silently reused.
    refused = start_run(scenario_file, tmp_path)
    _, err = refused.communicate(timeout=120)
    assert refused.returncode == 2 and "--resume" in err
    assert chunk_files(tmp_path) == kept

    resumed = start_run(scenario_file, tmp_path, "--resume")
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert result_bytes(tmp_path) == one_worker


@pytest.mark.slow  # about 25 s; runs on the cluster are checked byte for byte above
def test_a_calibration_on_the_dask_cluster_gives_the_same_fit(dask_cluster, tmp_path):
    """`calibrate` simulates through the same executors: the posterior does not depend on them."""
    here, there = tmp_path / "here", tmp_path / "there"
    quick = ["calibrate", "--preset", "quick", "--no-figures", "--out"]
    assert main([*quick, str(here), "--workers", "1"]) == 0
    assert main([*quick, str(there), "--scheduler", dask_cluster]) == 0
    draws = "posterior_draws.csv"
    assert (here / draws).read_bytes() == (there / draws).read_bytes()


# --- an interrupt inside a compiled kernel -------------------------------------------------------


def test_an_interrupt_inside_a_compiled_kernel_is_an_interrupt():
    """Seen in CI: Ctrl-C during a kernel of an in-process run ended it as a failure (exit 1,
    'SystemError: CPUDispatcher ... returned a result with an exception set'), not exit 130."""
    from sim.ensemble import execution

    def interrupted_kernel(*task):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as interrupt:
            raise SystemError("returned a result with an exception set") from interrupt

    with pytest.raises(KeyboardInterrupt):
        execution.InProcess().run(interrupted_kernel, [()], lambda i, r: None)

    def interrupted_while_unpickling(*task):
        """Seen in CI too: the interrupt came while the dispatcher unpickled a constant, so the
        KeyboardInterrupt sits under two SystemErrors."""
        try:
            interrupted_kernel()
        except SystemError as inner:
            raise SystemError("CPUDispatcher returned a result with an exception set") from inner

    with pytest.raises(KeyboardInterrupt):
        execution.InProcess().run(interrupted_while_unpickling, [()], lambda i, r: None)

    def failing_kernel(*task):
        raise SystemError("a real failure")

    with pytest.raises(SystemError, match="a real failure"):  # other errors stay what they are
        execution.InProcess().run(failing_kernel, [()], lambda i, r: None)
