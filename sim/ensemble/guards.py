"""Guards before a large job: an estimate of its time, memory and disk, and a refusal above limits.

`estimate_run` predicts a run from its size (replicates, months, firms) and where it runs (worker
processes on this machine, or a Dask cluster of unknown size). `check_limits` raises `LimitError`,
a one-line message that says what the run would need, which limit it passes and what to do,
unless the user confirmed (`--yes`).

The costs are calibrated on the 2-core development machine (Python 3.12, numpy 2), the full
2024 population (3,216 firms), `scenarios/us_tariff_15.yaml`:

- simulation: about 250 ns per firm-month of the array model (measured 235-260 ns over 12 and 72
  months) plus about 10 ms per replicate to draw its parameters and build its population and
  network; replicates run in chunks of `CHUNK_REPLICATES`, one chunk per worker at a time, so a
  run takes the time of its busiest worker;
- fixed costs: about 3 s to import, write the results and draw the figures, and 1.5 s more to
  start local worker processes;
- memory: about 250 MB for the main process (Python, numpy, pandas, pyarrow, Mesa, matplotlib),
  200 MB for each worker process, about 1 KB per firm of model state (1.5 KB counted), and the
  chunk a worker returns; the main process also keeps every replicate's annual values (small).
  Measured peak of the process tree: 571 MiB for 100 replicates and 633 MiB for 1,000, 72 months,
  2 workers (`benchmarks/run_and_check.py`);
- disk: a chunk on disk is its raw float64 indicators (replicates x months x indicators x 8
  bytes); at the end `monthly.parquet` (compressed, at most about the same size) is written
  while the chunks still exist, so the peak is counted as twice the raw size; a resumed run
  needs no room for the chunks it has already saved.
- population growth: entrants add rows to a replicate's firm arrays (firms that leave keep
  theirs), so a long period at a high entry rate steps many more firms than the 2024 complex:
  the work is counted month by month at the yearly growth `firm_growth`.

Estimates are rough (a loaded machine can be twice as slow); they exist to stop a mistyped
`--replicates 1000000` from running for days or exhausting memory, not to predict to the second.

This module is cheap to import (no numpy): the command line calls it before any heavy work.
"""

from __future__ import annotations

import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

#: Simulation cost of one firm for one month in a worker, seconds (the compiled month, this 2-core
#: machine: `benchmarks/one_replicate.py` measured 360-500 ns a step with synthesis; a whole run
#: of `benchmarks/run_and_check.py`, 1,000 replicates of 36 months, 79 ms of CPU a replicate,
#: drivers, synthesis and chunks included: 0.55 us a firm-month beside the setup below).
SECONDS_PER_FIRM_MONTH = 0.55e-6
#: Parameter draw, population synthesis and network of one replicate, seconds (about 13 ms).
SETUP_SECONDS_PER_REPLICATE = 0.015
#: Imports, result files and figures, seconds; plus starting local worker processes.
FIXED_SECONDS = 10.0
WORKER_START_SECONDS = 1.5
#: Resident memory of the main process and of one worker process, bytes.
MAIN_PROCESS_BYTES = 250_000_000
WORKER_PROCESS_BYTES = 200_000_000
#: Model state of one firm while a replicate runs, bytes (measured about 1,000).
BYTES_PER_FIRM = 1_500
#: Float columns of the monthly table: the indicators (`sim.model.indicators`, 39 today). Kept here
#: as a number so this module stays cheap; tests check it against the indicator list.
INDICATORS = 39
#: Replicates per chunk (`sim.ensemble.execution.CHUNK_REPLICATES`; checked by the tests).
CHUNK_REPLICATES = 25
#: The 2024 population of the complex (KICOX), the model's default number of firms.
DEFAULT_FIRMS = 3216


class LimitError(ValueError):
    """A run estimated to need more time, memory or disk than allowed; one line."""


@dataclass(frozen=True)
class Estimate:
    """What a run is expected to need.

    `seconds` is None where it cannot be told (a Dask cluster of unknown size); `peak_bytes` is
    the memory of this machine's processes; `disk_bytes` the peak disk use under `--out`.
    """

    seconds: float | None
    peak_bytes: int
    disk_bytes: int
    replicates: int
    months: int
    workers: int | None

    def __add__(self, other: Estimate) -> Estimate:
        """Two runs one after the other (as `compare` runs its scenarios)."""
        seconds = (
            None if self.seconds is None or other.seconds is None else self.seconds + other.seconds
        )
        return Estimate(
            seconds=seconds,
            peak_bytes=max(self.peak_bytes, other.peak_bytes),
            disk_bytes=self.disk_bytes + other.disk_bytes,
            replicates=self.replicates + other.replicates,
            months=max(self.months, other.months),
            workers=self.workers if self.workers == other.workers else None,
        )

    def describe(self) -> str:
        """`about 12 min, 650 MB of memory, 1.2 GB of disk`."""
        parts = [] if self.seconds is None else [f"about {format_duration(self.seconds)}"]
        parts.append(f"{format_bytes(self.peak_bytes)} of memory")
        parts.append(f"{format_bytes(self.disk_bytes)} of disk")
        return ", ".join(parts)


def estimate_run(
    replicates: int,
    months: int,
    firms: int = DEFAULT_FIRMS,
    workers: int | None = 1,
    cores: int | None = None,
    firm_growth: float = 0.0,
    saved: int = 0,
) -> Estimate:
    """Time, memory and disk of running `replicates` replicates of `months` months.

    `workers` is the number of local worker processes (1: everything in this process), or None
    for a Dask cluster, whose size and memory are not known here: then `seconds` is None and
    `peak_bytes` counts this process only. `cores` caps the useful parallelism (default: the
    cores this process may use). `firm_growth` is the yearly growth of the firms a replicate
    steps (entrants add rows; firms that leave keep theirs): over long periods it multiplies
    the work. `saved` replicates are already on disk (a resumed run): they cost neither time
    nor new disk.
    """
    if replicates < 0 or months < 0 or firms < 0 or saved < 0:
        raise ValueError("replicates, months, firms and saved must not be negative")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1 (got {workers})")
    if not firm_growth > -1.0:
        raise ValueError(f"firm_growth must be above -1 (got {firm_growth})")
    saved = min(saved, replicates)
    chunk = min(CHUNK_REPLICATES, replicates)
    chunk_bytes = chunk * months * INDICATORS * 8
    # Chunks still to write, then monthly.parquet (at most about the raw size) beside them.
    disk_bytes = (2 * replicates - saved) * months * INDICATORS * 8
    years = math.ceil(months / 12) + 1 if months else 0  # a period can cut two calendar years
    # The main process keeps each replicate's annual values (replicate, year, months + indicators)
    # and builds the summary from them: a few copies.
    annual_bytes = 3 * replicates * years * (INDICATORS + 3) * 8
    main_bytes = MAIN_PROCESS_BYTES + annual_bytes + 3 * chunk_bytes
    if workers is None:
        return Estimate(None, main_bytes, disk_bytes, replicates, months, None)

    to_run = replicates - saved
    chunks = math.ceil(to_run / CHUNK_REPLICATES)
    usable = min(workers, cores or available_cores())
    busy = max(1, min(usable, chunks))
    firm_months = firms * growth_months(months, firm_growth)
    per_replicate = firm_months * SECONDS_PER_FIRM_MONTH + SETUP_SECONDS_PER_REPLICATE
    seconds = busiest_worker_replicates(to_run, busy) * per_replicate + FIXED_SECONDS
    if workers > 1:
        seconds += WORKER_START_SECONDS
    peak_firms = firms * math.exp(firm_growth * months / 12.0)
    worker_bytes = int(peak_firms * BYTES_PER_FIRM) + 2 * chunk_bytes
    if workers == 1:  # replicates run in the main process
        peak = main_bytes + worker_bytes
    else:
        peak = main_bytes + workers * (WORKER_PROCESS_BYTES + worker_bytes)
    return Estimate(seconds, peak, disk_bytes, replicates, months, workers)


def growth_months(months: int, growth: float) -> float:
    """Sum over the months of the firms stepped, relative to the start, when entrants arrive
    each month at `growth` / 12 of the firms then (and none leave): exp(growth x m / 12) for
    m = 0 .. months - 1 (`months` when nothing grows)."""
    if months <= 0:
        return 0.0
    if abs(growth) < 1e-12:
        return float(months)
    ratio = math.exp(growth / 12.0)
    return (ratio**months - 1.0) / (ratio - 1.0)


def busiest_worker_replicates(replicates: int, workers: int) -> int:
    """Replicates run by the busiest of `workers` when chunks are handed out in order.

    Chunks are full (`CHUNK_REPLICATES`) but for the last; with equal chunk times worker w runs
    chunks w, w + workers, ..., so worker 0 runs the most chunks, and the short last chunk lands
    on worker 0 exactly when (chunks - 1) is a multiple of `workers`.
    """
    if replicates <= 0:
        return 0
    chunks = math.ceil(replicates / CHUNK_REPLICATES)
    rounds = math.ceil(chunks / workers)
    last = replicates - (chunks - 1) * CHUNK_REPLICATES
    if (chunks - 1) % workers == 0:
        return (rounds - 1) * CHUNK_REPLICATES + last
    return rounds * CHUNK_REPLICATES


def check_limits(
    estimate: Estimate,
    max_seconds: float | None,
    max_memory_bytes: float | None,
    confirmed: bool,
    free_disk_bytes: float | None = None,
) -> None:
    """Raise `LimitError` if the estimate passes a limit (None: no limit), unless `confirmed`.

    The message is one line: what the run would need, the limit, and what to do.
    """
    if confirmed:
        return
    problems = []
    if max_seconds is not None and estimate.seconds is not None and estimate.seconds > max_seconds:
        problems.append(
            f"would take about {format_duration(estimate.seconds)}, above the limit of "
            f"{format_duration(max_seconds)} (--max-minutes)"
        )
    if max_memory_bytes is not None and estimate.peak_bytes > max_memory_bytes:
        problems.append(
            f"would need about {format_bytes(estimate.peak_bytes)} of memory, above the limit "
            f"of {format_bytes(max_memory_bytes)} (--max-memory-gb)"
        )
    if free_disk_bytes is not None and estimate.disk_bytes > free_disk_bytes:
        problems.append(
            f"would write about {format_bytes(estimate.disk_bytes)}, more than the "
            f"{format_bytes(free_disk_bytes)} free under --out"
        )
    if not problems:
        return
    where = (
        "on a Dask cluster"
        if estimate.workers is None
        else f"on {estimate.workers} worker{'s' if estimate.workers != 1 else ''}"
    )
    raise LimitError(
        f"this run ({estimate.replicates:,} replicates x {estimate.months} months {where}) "
        + "; ".join(problems)
        + ". Use fewer --replicates or --workers, raise the limit, or add --yes to run it anyway"
    )


# --- the machine ----------------------------------------------------------------------------------


def available_cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def machine_memory_bytes() -> int:
    """Memory this process may use: physical memory, or less under a container (cgroup) limit."""
    limits = []
    try:
        limits.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        pass
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            continue
        if text.isdigit() and int(text) > 0:
            limits.append(int(text))  # "max" (no limit) is not a number
    positive = [limit for limit in limits if limit > 0]
    return min(positive) if positive else 8 * 10**9


def free_disk_bytes(path: Path) -> int | None:
    """Free space of the file system that `path` (or its nearest existing parent) is on."""
    path = Path(path).absolute()
    for candidate in (path, *path.parents):
        if candidate.exists():
            try:
                return shutil.disk_usage(candidate).free
            except OSError:
                return None
    return None


# --- numbers people read --------------------------------------------------------------------------


def format_duration(seconds: float) -> str:
    """`40 s`, `12 min`, `3 h 20 min`, `2.5 days`."""
    if seconds < 90:
        return f"{max(seconds, 0):.0f} s"
    minutes = seconds / 60
    if minutes < 90:
        return f"{minutes:.0f} min"
    hours = int(minutes // 60)
    if hours < 48:
        rest = round(minutes - 60 * hours)
        if rest == 60:
            hours, rest = hours + 1, 0
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    return f"{seconds / 86400:.1f} days"


def format_bytes(count: float) -> str:
    """Decimal units, as disks and `--max-memory-gb` count: `850 MB`, `12.3 GB`."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= size:
            value = count / size
            return f"{value:.1f} {unit}" if value < 100 else f"{value:.0f} {unit}"
    return f"{count:.0f} bytes"
