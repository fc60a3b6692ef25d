"""A real Dask cluster for tests: a scheduler and workers, each its own process on 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def local_cluster(
    folder: Path, workers: int, nanny: bool = True
) -> Iterator[tuple[str, list[subprocess.Popen]]]:
    """Start a scheduler and `workers` single-threaded workers; yields (address, worker
    processes) once all have joined, and stops them all afterwards. Without a nanny a killed
    worker stays dead.
    """
    scheduler_file = folder / "scheduler.json"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
         "--port", "0", "--scheduler-file", str(scheduler_file), "--no-dashboard"],
        **quiet,
    )  # fmt: skip
    started: list[subprocess.Popen] = []
    try:
        deadline = time.time() + 60
        while not scheduler_file.exists():
            assert time.time() < deadline, "the Dask scheduler did not start"
            time.sleep(0.1)
        options = ["--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"]
        if not nanny:
            options.append("--no-nanny")
        for _ in range(workers):
            started.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "distributed.cli.dask_worker",
                        "--scheduler-file",
                        str(scheduler_file),
                        *options,
                    ],
                    **quiet,
                )
            )
        from distributed import Client

        with Client(scheduler_file=str(scheduler_file), timeout="60s") as client:
            client.wait_for_workers(workers, timeout=60)
            address = client.scheduler.address
        yield address, started
    finally:
        for process in [*started, scheduler]:
            if process.poll() is None:
                process.terminate()
        for process in [*started, scheduler]:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
