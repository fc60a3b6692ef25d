"""Running many replicates: work cut into chunks, each saved to disk as it finishes.

One path serves every executor. A job is a list of chunks (consecutive replicates); a chunk's result
depends only on the scenario, the seed and its replicate numbers (see `sim.ensemble.replicate`), so
the assembled results are the same bytes whether the chunks ran here, in worker processes or on a
Dask cluster, and in whatever order they finished. Finished chunks are kept in the job's folder
(`<out>/<name>/.jobs/<job id>/`), so an interrupted job resumes where it stopped, and memory holds
one chunk at a time, not the whole run.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import multiprocessing
import multiprocessing.forkserver
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from sim.ensemble.lifeline import (
    keep_alive_only_with,
    signals_deferred,
    start_quiet_resource_tracker,
    stop_workers,
)
from sim.ensemble.locks import JobLock
from sim.inputs.calendar import format_month
from sim.model.indicators import INDICATOR_NAMES

if TYPE_CHECKING:
    import pandas as pd

CHUNK_REPLICATES = 25
#: Environment of the forkserver of local workers, which they inherit: BLAS and OpenMP libraries
#: start one thread, so a replicate's small matrix products are not split over cores that other
#: workers are using (Dask's nanny sets the same for its workers).
ONE_BLAS_THREAD = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "BLIS_NUM_THREADS": "1",
}


# --- the work ----------------------------------------------------------------------------------


def run_chunk(
    scenario, seed: int, replicates: range, fixed_parameters: bool
) -> tuple[np.ndarray, list[dict[str, float]]]:
    """Indicators of a run of consecutive replicates, (replicates, months, indicators), and the
    inputs drawn for each (`ReplicateResult.inputs`)."""
    # Imported here, where the replicates run: the process that hands chunks to worker
    # processes never needs the model (Mesa and the compiled kernels take seconds to load).
    from sim.ensemble.replicate import run_replicate

    results = [run_replicate(scenario, seed, r, fixed_parameters) for r in replicates]
    return np.stack([r.indicators for r in results]), [r.inputs for r in results]


def chunks(replicates: int, size: int = CHUNK_REPLICATES) -> list[range]:
    return [range(start, min(start + size, replicates)) for start in range(0, replicates, size)]


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# --- executors: run tasks, report each result as it arrives -------------------------------------


class Executor(Protocol):
    description: dict[str, Any]

    def run(
        self,
        function: Callable[..., Any],
        tasks: Sequence[tuple],
        on_result: Callable[[int, Any], None],
    ) -> None:
        """Call `function(*tasks[i])` for every i; `on_result(i, result)` as each one finishes."""

    def close(self) -> None:
        """Let go of worker processes or the cluster connection (also on leaving a `with`)."""


class Closing:
    """Executors keep their workers between calls, until closed: a calibration calls `run`
    once per optimiser step, and starting processes each time would cost more than the step."""

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class InProcess(Closing):
    def __init__(self) -> None:
        self.description = {"kind": "in process", "workers": 1}

    def run(self, function, tasks, on_result) -> None:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"):  # as in worker processes
            for index, task in enumerate(tasks):
                try:
                    result = function(*task)
                except SystemError as error:
                    interrupt = interrupt_inside(error)
                    if interrupt is None:
                        raise
                    raise interrupt from None
                on_result(index, result)


def interrupt_inside(error: SystemError) -> KeyboardInterrupt | None:
    """The KeyboardInterrupt that a compiled (numba) function turned into `error`, if any.

    An interrupt that arrives while a compiled kernel runs is raised by the signal handler when
    the kernel returns, and the kernel's dispatcher reports it as "returned a result with an
    exception set": a SystemError whose context is the KeyboardInterrupt, or another such
    SystemError when the interrupt came while the kernel's dispatcher was unpickling a constant.
    Unwrapped, the run ends as interrupted (exit 130, chunks kept) instead of failing.
    """
    context = error.__cause__ or error.__context__
    while isinstance(context, SystemError):
        context = context.__cause__ or context.__context__
    return context if isinstance(context, KeyboardInterrupt) else None


class LocalProcesses(Closing):
    """Worker processes on this machine; they die with this process (`sim.ensemble.lifeline`)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.description = {"kind": "local processes", "workers": workers}
        self.pool: ProcessPoolExecutor | None = None
        # Started now, the forkserver imports while this process prepares the job.
        self.context = forkserver()

    def run(self, function, tasks, on_result) -> None:
        with signals_deferred():  # workers start here: none may be missed by an interrupt
            if self.pool is None:
                self.pool = ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=self.context,
                    initializer=keep_alive_only_with,
                    initargs=(os.getpid(),),
                )
            futures = {self.pool.submit(function, *task): index for index, task in enumerate(tasks)}
        try:
            for future in as_completed(futures):
                # Forget each future once its result is handed on: memory holds one chunk.
                on_result(futures.pop(future), future.result())
        except BaseException:
            # On an interrupt or an error, stop the workers now (a chunk in progress is not
            # waited for); finished chunks are already saved.
            self.close(stop=True)
            raise

    def close(self, stop: bool = False) -> None:
        if self.pool is not None:
            pool, self.pool = self.pool, None
            close_pool(pool, stop)


def close_pool(pool: ProcessPoolExecutor, stop: bool) -> None:
    """Let a pool's processes end; with `stop`, end them at once (work in progress is dropped,
    not waited for)."""
    if stop:
        stop_workers((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=True, cancel_futures=True)


class ClusterError(RuntimeError):
    """The Dask cluster cannot finish the work (no worker left, scheduler gone); one line."""


def forkserver() -> multiprocessing.context.BaseContext:
    """The forkserver context, its server running: started once per process, with one BLAS
    thread, after importing `sim.ensemble.workers` (the simulation and its compiled kernels).

    A forkserver, not a fork of this process: forking a process that already runs threads (BLAS,
    pyarrow, a progress bar) is unsafe.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["__main__", "sim.ensemble.workers"])
    start_quiet_resource_tracker()  # first: the forkserver would start a talkative one
    saved = {name: os.environ.get(name) for name in ONE_BLAS_THREAD}
    os.environ.update(ONE_BLAS_THREAD)  # the server inherits the environment it starts with
    try:
        multiprocessing.forkserver.ensure_running()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return context


class DaskCluster(Closing):
    """An existing dask.distributed cluster; a task lost with a worker is run again elsewhere.

    A cluster with no worker left for `no_worker_seconds`, or whose scheduler is gone, ends the
    run with `ClusterError` instead of waiting for ever.
    """

    #: How often the wait for results looks at the cluster, seconds.
    POLL_SECONDS = 2.0
    #: How long a cluster may have no worker before the run gives up, seconds.
    NO_WORKER_SECONDS = 60.0

    def __init__(self, address: str, no_worker_seconds: float | None = None) -> None:
        self.address = address
        self.no_worker_seconds = no_worker_seconds or self.NO_WORKER_SECONDS
        self.description = {"kind": "dask", "scheduler": address}
        self.client = None

    #: How long connecting to the scheduler may take, seconds.
    CONNECT_SECONDS = 30.0

    def run(self, function, tasks, on_result) -> None:
        from distributed import wait

        _quiet_dask_logs()
        if self.client is None:
            self.client = self._connect()
        futures = {
            self.client.submit(function, *task, pure=False, retries=2): index
            for index, task in enumerate(tasks)
        }
        idle_since = None
        while futures:
            try:
                done, _ = wait(
                    list(futures), timeout=self.POLL_SECONDS, return_when="FIRST_COMPLETED"
                )
            except TimeoutError:
                done = ()
            except Exception as error:  # the connection to the scheduler is gone
                raise ClusterError(self._lost(error)) from None
            for future in done:
                index = futures.pop(future)
                try:
                    result = future.result()
                except Exception as error:
                    if _is_task_error(error):
                        raise
                    raise ClusterError(self._lost(error)) from None
                on_result(index, result)
                future.release()  # the cluster may drop the chunk: it is saved
            if done:
                idle_since = None
                continue
            if self._workers() > 0:
                idle_since = None
            elif idle_since is None:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > self.no_worker_seconds:
                raise ClusterError(
                    f"the Dask cluster at {self.address} has had no worker for "
                    f"{self.no_worker_seconds:.0f} s, with {len(futures)} tasks left; start "
                    "workers, then run the same command with --resume"
                )

    def _connect(self):
        """A client of the scheduler, or `ClusterError` within a bounded time: dask's own
        timeout does not cover a server that accepts the connection and never answers, and a
        server that is not a scheduler can make it fail in odd ways (a MemoryError)."""
        import threading

        from distributed import Client

        box: dict[str, Any] = {}

        def connect() -> None:
            try:
                box["client"] = Client(self.address, timeout=f"{self.CONNECT_SECONDS:.0f}s")
            except BaseException as error:  # reported below, in the calling thread
                box["error"] = error

        thread = threading.Thread(target=connect, name="dask-connect", daemon=True)
        thread.start()
        patience = 1.5 * self.CONNECT_SECONDS
        thread.join(patience)
        where = f"a Dask scheduler at {self.address}"
        if thread.is_alive():
            raise ClusterError(
                f"no answer from {where} after {patience:.0f} s: check the "
                "address and that a Dask scheduler runs there, or run locally with --workers"
            )
        if "error" in box:
            error = box["error"]
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise ClusterError(
                f"cannot connect to {where} ({reason}): check the address and that a Dask "
                "scheduler runs there, or run locally with --workers"
            )
        return box["client"]

    def _workers(self) -> int:
        try:
            return len(self.client.nthreads())
        except Exception as error:
            raise ClusterError(self._lost(error)) from None

    def _lost(self, error: BaseException) -> str:
        text = str(error).strip().splitlines()
        cancelled = "cancel" in type(error).__name__.lower() or "cancelled" in str(error)
        reason = "" if cancelled or not text else f" ({text[0]})"
        return (
            f"lost the connection to the Dask scheduler at {self.address}{reason}; finished "
            "chunks are kept: run the same command with --resume once it is back"
        )

    def close(self) -> None:
        if self.client is not None:
            client, self.client = self.client, None
            with contextlib.suppress(Exception):
                client.close(timeout=10)


def _is_task_error(error: BaseException) -> bool:
    """Whether an error was raised by the task itself (e.g. a NaN in the model's state), rather
    than by the cluster losing it (cancelled, scheduler gone)."""
    import asyncio

    name = type(error).__name__
    lost = ("CancelledError", "FutureCancelledError", "CommClosedError", "KilledWorker")
    return not isinstance(error, (asyncio.CancelledError, OSError)) and name not in lost


def _quiet_dask_logs() -> None:
    """Dask logs a traceback for each lost connection; the run reports one line instead."""
    import logging

    prefixes = ("distributed", "tornado", "asyncio")
    names = [n for n in logging.Logger.manager.loggerDict if n.startswith(prefixes)]
    for name in {*prefixes, *names}:  # dask sets levels on its child loggers: set each one
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


def start_local_workers_early(workers: int | None, scheduler: str | None) -> None:
    """Start the forkserver of local worker processes now, if `make_executor` will use it: it
    imports the model and loads its kernels (seconds) while this process reads and checks the
    job. It stops with this process, whatever happens next."""
    if local_processes(workers, scheduler):
        forkserver()


def local_processes(workers: int | None, scheduler: str | None) -> int:
    """How many local worker processes a job uses: none on a cluster or with one worker (the
    job then runs in this process)."""
    count = 0 if scheduler else workers or default_workers()
    return count if count > 1 else 0


def make_executor(workers: int | None, scheduler: str | None) -> Executor:
    if scheduler:
        return DaskCluster(scheduler)
    count = local_processes(workers, scheduler)
    return LocalProcesses(count) if count else InProcess()


# --- finished chunks on disk ---------------------------------------------------------------------


class ChunkStore:
    """A job's finished chunks, one `.npy` file each, written atomically.

    A run `claim`s the store before it looks at the chunks and holds it until `discard` (or its
    end): a second process running the same job is refused with `JobBusy`.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.lock = JobLock(self.folder)

    def claim(self) -> None:
        """Lock the job for this process, or raise `JobBusy`; see `sim.ensemble.locks`."""
        self.lock.acquire()

    def path(self, index: int) -> Path:
        return self.folder / f"chunk-{index:06d}.npy"

    def finished(self) -> set[int]:
        """Indices of the saved chunks that are whole (a damaged file is run again)."""
        if not self.folder.is_dir():
            return set()
        return {int(p.stem.split("-")[1]) for p in self.folder.glob("chunk-*.npy") if _whole_npy(p)}

    def save(
        self, index: int, values: np.ndarray, inputs: list[dict[str, float]] | None = None
    ) -> None:
        """Write a chunk atomically: its values and, if given, the inputs drawn for each of its
        replicates (after the values, in the same file, so a saved chunk always has them)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".tmp-{index:06d}-{os.getpid()}.npy"
        # Serialised in memory first: numpy writes arrays straight to a real file with fwrite,
        # and a full disk then raises an OSError without errno ("N requested and M written").
        buffer = io.BytesIO()
        np.save(buffer, values, allow_pickle=False)
        if inputs is not None:
            names = sorted({name for row in inputs for name in row})
            table = np.array(
                [[row.get(name, np.nan) for name in names] for row in inputs], dtype=np.float64
            ).reshape(len(inputs), len(names))
            np.save(buffer, np.array(names, dtype=str), allow_pickle=False)
            np.save(buffer, table, allow_pickle=False)
        try:
            with open(tmp, "wb") as handle:
                handle.write(buffer.getbuffer())
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path(index))
        except BaseException:
            tmp.unlink(missing_ok=True)  # a disk that is full keeps no half-written chunk
            raise

    def load(self, index: int) -> np.ndarray:
        return np.load(self.path(index), allow_pickle=False)

    def load_inputs(self, index: int) -> list[dict[str, float]]:
        """The inputs drawn for each replicate of a chunk (empty dicts if none were saved)."""
        with open(self.path(index), "rb") as handle:
            values = np.load(handle, allow_pickle=False)
            try:
                names = np.load(handle, allow_pickle=False)
                table = np.load(handle, allow_pickle=False)
            except (EOFError, ValueError):
                return [{} for _ in range(len(values))]
        return [
            {str(n): float(v) for n, v in zip(names, row, strict=True) if not np.isnan(v)}
            for row in table
        ]

    def remove_chunks(self) -> None:
        """Delete the finished chunks (`--restart`), keeping the folder and its lock."""
        for path in self.folder.glob("chunk-*.npy"):
            path.unlink(missing_ok=True)

    def discard(self) -> None:
        """Delete the folder, then let go of its lock (deleting first, so that no other run
        can take the lock and read chunks being deleted)."""
        shutil.rmtree(self.folder, ignore_errors=True)
        self.lock.release()
        # `.jobs` and the scenario's folder, if the job made them and nothing else is in them
        for parent in self.folder.parents[:2]:
            try:
                parent.rmdir()
            except OSError:  # not empty (a result, another job) or already gone
                break


class MemoryStore:
    """A job's finished chunks held in memory: the `ChunkStore` interface without files, for runs
    whose results are used in this process (`sim.simulate`, the exploration page) and so need no
    resuming. The numbers are those a `ChunkStore` gives back: it stores the same float64 arrays.
    """

    def __init__(self) -> None:
        self.chunks: dict[int, tuple[np.ndarray, list[dict[str, float]]]] = {}

    def finished(self) -> set[int]:
        return set(self.chunks)

    def save(
        self, index: int, values: np.ndarray, inputs: list[dict[str, float]] | None = None
    ) -> None:
        rows = [dict(row) for row in inputs] if inputs is not None else [{} for _ in values]
        self.chunks[index] = (np.asarray(values, dtype=np.float64), rows)

    def load(self, index: int) -> np.ndarray:
        return self.chunks[index][0]

    def load_inputs(self, index: int) -> list[dict[str, float]]:
        return [dict(row) for row in self.chunks[index][1]]


def _whole_npy(path: Path) -> bool:
    """Whether a chunk file holds whole arrays: the values, then (if saved) the inputs' names and
    table, each with a readable header and all the bytes it announces (a chunk truncated by a
    crash of the disk, or by hand, is not finished work)."""
    form = np.lib.format
    read_headers = {(1, 0): form.read_array_header_1_0, (2, 0): form.read_array_header_2_0}
    try:
        size = path.stat().st_size
        arrays = 0
        with open(path, "rb") as handle:
            while handle.tell() < size:
                read_header = read_headers.get(form.read_magic(handle))
                if read_header is None:
                    return False
                shape, _, dtype = read_header(handle)
                handle.seek(handle.tell() + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize)
                arrays += 1
            end = handle.tell()
        return end == size and arrays in (1, 3)
    except (OSError, ValueError, TypeError):
        return False


def job_id(*parts: object) -> str:
    """A short id naming a job by everything its results depend on."""
    return hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8")).hexdigest()[:16]


# --- a run of replicates ------------------------------------------------------------------------


def run_replicates(
    scenario,
    replicates: int,
    seed: int,
    fixed_parameters: bool,
    executor: Executor,
    store: ChunkStore,
    on_chunk_done: Callable[[int], None] | None = None,
) -> list[range]:
    """Run every chunk not yet in `store`, saving each as it finishes; returns all the chunks."""
    parts = chunks(replicates)
    done = store.finished()
    if on_chunk_done and done:
        on_chunk_done(sum(len(parts[i]) for i in done))
    todo = [i for i in range(len(parts)) if i not in done]
    tasks = [(scenario, seed, parts[i], fixed_parameters) for i in todo]

    def save(position: int, result: tuple[np.ndarray, list[dict[str, float]]]) -> None:
        index = todo[position]
        values, inputs = result
        store.save(index, values, inputs)
        if on_chunk_done:
            on_chunk_done(len(parts[index]))

    executor.run(run_chunk, tasks, save)
    return parts


def monthly_chunks(
    store: ChunkStore, parts: list[range], months: list[str]
) -> Iterator[pd.DataFrame]:
    """The run's monthly table, chunk by chunk, in replicate order."""
    for index, part in enumerate(parts):
        yield monthly_table(store.load(index), months, first_replicate=part.start)


def inputs_table(store: ChunkStore, parts: list[range], seed: int) -> pd.DataFrame:
    """inputs.csv: one row per replicate — `replicate`, the master `seed` (replicate r draws from
    `numpy.random.SeedSequence(seed, spawn_key=(r, stream))`), then every drawn input, the
    columns being the union of the chunks' input names in sorted order.
    """
    import pandas as pd  # not on the workers' path

    rows = [row for index in range(len(parts)) for row in store.load_inputs(index)]
    names = sorted({name for row in rows for name in row})
    table = pd.DataFrame(rows, columns=names, dtype=np.float64)
    replicates = np.concatenate([np.arange(p.start, p.stop) for p in parts]).astype(np.int64)
    table.insert(0, "seed", np.full(len(table), seed, dtype=np.int64))
    table.insert(0, "replicate", replicates)
    return table


def period_months(scenario) -> list[str]:
    return [
        format_month(m) for m in range(scenario.period.start_month, scenario.period.end_month + 1)
    ]


def monthly_table(cube: np.ndarray, months: list[str], first_replicate: int = 0) -> pd.DataFrame:
    """(replicates, months, indicators) -> the long table of `monthly.parquet`."""
    import pandas as pd  # not on the workers' path

    n_rep, n_month, _ = cube.shape
    table = pd.DataFrame(cube.reshape(n_rep * n_month, -1), columns=list(INDICATOR_NAMES))
    table.insert(0, "month", np.tile(np.array(months, dtype=object), n_rep))
    replicate = np.repeat(
        np.arange(first_replicate, first_replicate + n_rep, dtype=np.int64), n_month
    )
    table.insert(0, "replicate", replicate)
    return table
