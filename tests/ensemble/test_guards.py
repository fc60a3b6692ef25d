"""Guards before a large job (`sim.ensemble.guards`): the estimate of time, memory and disk, the
refusal
above a limit unless confirmed, and the command-line flags that use them."""

from __future__ import annotations

import gc
import io
import math
import time
import weakref
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest
from cli_output import printed_folder
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.ensemble import guards
from sim.ensemble.guards import (
    CHUNK_REPLICATES,
    Estimate,
    LimitError,
    busiest_worker_replicates,
    check_limits,
    estimate_run,
    format_bytes,
    format_duration,
    free_disk_bytes,
    machine_memory_bytes,
)

GB = 10**9

SMALL = """\
name: guarded
period: {start: 2025-01, end: 2025-06}
runs: {replicates: 4, seed: 1}
"""


def cli(*argv: str) -> tuple[int, str, str]:
    from sim.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


# --- the estimate --------------------------------------------------------------------------------


def test_the_constants_match_the_model():
    from sim.ensemble.execution import CHUNK_REPLICATES as chunk
    from sim.inputs.names import population_spec
    from sim.model.indicators import INDICATOR_NAMES

    assert guards.INDICATORS == len(INDICATOR_NAMES)
    assert CHUNK_REPLICATES == chunk
    assert guards.DEFAULT_FIRMS == population_spec()["totals"]["firms"]["value"]


def test_disk_is_twice_the_raw_indicators():
    estimate = estimate_run(1000, 72)
    assert estimate.disk_bytes == 2 * 1000 * 72 * guards.INDICATORS * 8
    assert estimate_run(1, 1).disk_bytes == 2 * guards.INDICATORS * 8


def test_time_grows_in_proportion_to_firm_months_on_one_worker():
    base = estimate_run(0, 72, workers=1).seconds
    one = estimate_run(100, 72, workers=1).seconds - base
    two = estimate_run(200, 72, workers=1).seconds - base
    assert two == pytest.approx(2 * one)
    per_replicate = one / 100
    # A replicate: firm-months at the calibrated cost plus its set-up.
    assert per_replicate == pytest.approx(
        3216 * 72 * guards.SECONDS_PER_FIRM_MONTH + guards.SETUP_SECONDS_PER_REPLICATE
    )
    longer = estimate_run(100, 144, workers=1).seconds - base
    bigger = estimate_run(100, 72, firms=6432, workers=1).seconds - base
    assert longer == pytest.approx(bigger)
    assert longer > 1.8 * one


def test_a_full_run_is_estimated_near_what_the_benchmark_measured():
    # benchmarks/run_and_check.py, 2 quiet cores, the compiled month, figures drawn aside:
    # 1,000 replicates x 36 months took 42.5-45.7 s and 950-956 MiB (RSS; 577-581 MiB PSS);
    # 100 replicates 13.2-13.3 s.
    estimate = estimate_run(1000, 36, workers=2, cores=2)
    assert 40 <= estimate.seconds <= 75
    assert 0.5 * GB <= estimate.peak_bytes <= 1.0 * GB
    assert 10 <= estimate_run(100, 36, workers=2, cores=2).seconds <= 22
    assert 0.5 * GB <= estimate_run(100, 36, workers=2, cores=2).peak_bytes <= 1.0 * GB


def test_more_workers_help_only_up_to_the_chunks_and_the_cores():
    one = estimate_run(200, 72, workers=1, cores=8).seconds
    two = estimate_run(200, 72, workers=2, cores=8).seconds
    four = estimate_run(200, 72, workers=4, cores=8).seconds
    assert one > two > four
    assert (one - guards.FIXED_SECONDS) == pytest.approx(
        2 * (two - guards.FIXED_SECONDS - guards.WORKER_START_SECONDS)
    )
    # 8 workers on 2 cores are no faster than 2.
    assert estimate_run(200, 72, workers=8, cores=2).seconds == pytest.approx(
        estimate_run(200, 72, workers=2, cores=2).seconds
    )
    # One chunk keeps one worker busy, however many there are.
    single = estimate_run(CHUNK_REPLICATES, 72, workers=1).seconds
    assert estimate_run(CHUNK_REPLICATES, 72, workers=4, cores=4).seconds == pytest.approx(
        single + guards.WORKER_START_SECONDS
    )


@settings(max_examples=200, deadline=None)
@given(replicates=st.integers(0, 2_000), workers=st.integers(1, 12))
def test_the_busiest_worker_matches_handing_out_chunks_in_order(replicates, workers):
    """Against a simulation: each chunk goes to the worker that frees up first."""
    loads = [0] * workers
    for start in range(0, replicates, CHUNK_REPLICATES):
        size = min(CHUNK_REPLICATES, replicates - start)
        loads[loads.index(min(loads))] += size
    assert busiest_worker_replicates(replicates, workers) == max(loads)


def test_memory_grows_with_workers_not_with_replicates():
    small = estimate_run(100, 72, workers=2, cores=2).peak_bytes
    large = estimate_run(100_000, 72, workers=2, cores=2).peak_bytes
    # Flat but for the annual table: a few copies of one row of doubles per replicate and year
    # (7 calendar years a 72-month period can touch), never the monthly values.
    annual_row = 3 * 7 * (guards.INDICATORS + 3) * 8
    assert large - small == (100_000 - 100) * annual_row
    assert annual_row < 12 * 72 * guards.INDICATORS * 8 / 10  # a tenth of the monthly values
    four = estimate_run(100, 72, workers=4, cores=4).peak_bytes
    assert four - small >= 2 * guards.WORKER_PROCESS_BYTES
    # In process (one worker) there is no worker process to pay for.
    assert estimate_run(100, 72, workers=1).peak_bytes < small - guards.WORKER_PROCESS_BYTES


def test_a_cluster_run_has_no_time_estimate_and_only_local_memory():
    estimate = estimate_run(10_000, 72, workers=None)
    assert estimate.seconds is None and estimate.workers is None
    assert estimate.peak_bytes < estimate_run(10_000, 72, workers=1).peak_bytes
    check_limits(estimate, max_seconds=1, max_memory_bytes=GB, confirmed=False)  # no refusal


def test_estimates_add_up_for_runs_one_after_the_other():
    a, b = estimate_run(100, 72, workers=2, cores=2), estimate_run(300, 24, workers=2, cores=2)
    total = a + b
    assert total.seconds == pytest.approx(a.seconds + b.seconds)
    assert total.disk_bytes == a.disk_bytes + b.disk_bytes
    assert total.peak_bytes == max(a.peak_bytes, b.peak_bytes)
    assert total.replicates == 400 and total.workers == 2
    assert (a + estimate_run(1, 1, workers=None)).seconds is None


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError):
        estimate_run(-1, 72)
    with pytest.raises(ValueError):
        estimate_run(10, 72, workers=0)


# --- the refusal ---------------------------------------------------------------------------------


def estimate(seconds: float | None = 100.0, peak: int = GB, disk: int = GB) -> Estimate:
    return Estimate(seconds, peak, disk, replicates=5000, months=72, workers=2)


def test_within_the_limits_nothing_is_refused():
    check_limits(estimate(), max_seconds=100, max_memory_bytes=GB, confirmed=False)
    check_limits(estimate(), None, None, confirmed=False, free_disk_bytes=GB)


def test_too_long_is_refused_in_one_line_that_says_what_to_do():
    with pytest.raises(LimitError) as refused:
        check_limits(estimate(seconds=3 * 3600), max_seconds=3600, max_memory_bytes=None,
                     confirmed=False)  # fmt: skip
    message = str(refused.value)
    assert "\n" not in message
    assert "about 3 h" in message and "60 min" in message and "--max-minutes" in message
    assert "5,000 replicates x 72 months on 2 workers" in message
    assert "--yes" in message


def test_too_much_memory_is_refused():
    with pytest.raises(LimitError, match=r"12\.0 GB of memory.*limit of 8\.0 GB.*--yes"):
        check_limits(estimate(peak=12 * GB), None, max_memory_bytes=8 * GB, confirmed=False)


def test_more_than_the_free_disk_is_refused():
    with pytest.raises(LimitError, match=r"write about 5\.0 GB, more than the 1\.0 GB free"):
        check_limits(estimate(disk=5 * GB), None, None, confirmed=False, free_disk_bytes=GB)


def test_every_exceeded_limit_is_named_in_the_one_line():
    with pytest.raises(LimitError) as refused:
        check_limits(estimate(seconds=1e6, peak=9 * GB, disk=9 * GB), 60, GB, False, GB)
    message = str(refused.value)
    assert "\n" not in message
    assert all(word in message for word in ("would take", "of memory", "free under --out"))


def test_confirmed_runs_go_ahead_whatever_the_estimate():
    huge = estimate(seconds=1e9, peak=10**15, disk=10**15)
    check_limits(huge, max_seconds=1, max_memory_bytes=1, confirmed=True, free_disk_bytes=1)


# --- the machine and the numbers people read -----------------------------------------------------


def test_machine_memory_is_positive_and_at_most_the_physical_memory():
    import os

    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert 0 < machine_memory_bytes() <= physical


def test_free_disk_of_a_folder_not_made_yet_is_that_of_its_parent(tmp_path):
    assert free_disk_bytes(tmp_path / "not" / "yet") == pytest.approx(
        free_disk_bytes(tmp_path), rel=0.01
    )


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.4, "0 s"), (45, "45 s"), (600, "10 min"), (3 * 3600 + 1200, "3 h 20 min"),
     (7200, "2 h"), (5 * 86400, "5.0 days")],
)  # fmt: skip
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("count", "text"),
    [(12, "12 bytes"), (23_040, "23.0 kB"), (850e6, "850 MB"), (12.34e9, "12.3 GB")],
)
def test_format_bytes(count, text):
    assert format_bytes(count) == text


@pytest.mark.slow
def test_the_time_estimate_is_within_a_factor_of_three_of_a_real_run(tmp_path):
    """Timing on a shared machine is noisy, hence the factor and the slow marker."""
    from sim.ensemble.execution import ChunkStore, InProcess, run_replicates
    from sim.inputs.scenario import Scenario

    scenario = Scenario(name="timed", period={"start": "2025-01", "end": "2026-12"})
    # Loading the compiled kernels is part of the fixed cost (workers load them before a run).
    run_replicates(scenario, 1, 1, False, InProcess(), ChunkStore(tmp_path / "warm"))
    started = time.perf_counter()
    run_replicates(scenario, 30, 1, False, InProcess(), ChunkStore(tmp_path / "jobs"))
    measured = time.perf_counter() - started
    predicted = estimate_run(30, 24, workers=1).seconds - guards.FIXED_SECONDS
    assert predicted / 3 <= measured <= predicted * 3


# --- memory flat in the number of replicates: the executor keeps one chunk --------------------


def test_local_processes_do_not_keep_finished_chunks():
    """The guard's memory estimate assumes one chunk at a time in the main process; the pool's
    futures must not hold every chunk until the run ends (100,000 replicates x 72 months would
    hold 1.2 GB)."""
    from sim.ensemble.execution import LocalProcesses

    alive = []
    kept: list[weakref.ref] = []

    def on_result(index: int, values: np.ndarray) -> None:
        gc.collect()
        alive.append(sum(ref() is not None for ref in kept))
        kept.append(weakref.ref(values))

    tasks = [(1000, float(i)) for i in range(6)]
    LocalProcesses(2).run(np.full, tasks, on_result)
    assert len(alive) == 6
    assert alive == [0] * 6


# --- the command line: --max-minutes, --max-memory-gb, --yes -----------------------------------


@pytest.fixture
def no_simulation(monkeypatch):
    """A refused run must not start simulating (and a guard that fails to refuse must not make
    the test run for an hour)."""
    import sim.ensemble.execution

    def refuse(*args, **kwargs):
        raise AssertionError("the simulation started")

    monkeypatch.setattr(sim.ensemble.execution, "run_replicates", refuse)


@pytest.fixture
def scenario(tmp_path) -> Path:
    path = tmp_path / "guarded.yaml"
    path.write_text(SMALL, encoding="utf-8")
    return path


def test_a_run_over_the_time_limit_is_refused_before_any_work(scenario, tmp_path, no_simulation):
    out = tmp_path / "out"
    started = time.perf_counter()
    code, stdout, err = cli(
        "run", str(scenario), "--replicates", "100000", "--workers", "2", "--max-minutes", "5",
        "--out", str(out),
    )  # fmt: skip
    assert time.perf_counter() - started < 5  # nothing was simulated
    assert code == 2 and stdout == ""
    assert err.count("\n") == 1 and err.startswith("error: this run (100,000 replicates")
    assert "would take about" in err and "--yes" in err
    assert not out.exists()


def test_yes_runs_what_the_limit_refuses(scenario, tmp_path):
    argv = ["run", str(scenario), "--workers", "1", "--no-figures", "--max-minutes", "0.001"]
    code, _, err = cli(*argv, "--out", str(tmp_path / "refused"))
    assert code == 2 and "would take" in err and not (tmp_path / "refused").exists()
    code, stdout, err = cli(*argv, "--yes", "--out", str(tmp_path / "confirmed"))
    assert code == 0, err
    assert printed_folder(stdout).is_dir()


def test_a_run_over_the_memory_limit_is_refused(scenario, tmp_path, no_simulation):
    code, _, err = cli(
        "run", str(scenario), "--workers", "4", "--max-memory-gb", "0.5", "--out", str(tmp_path)
    )
    assert code == 2 and "of memory" in err and "--max-memory-gb" in err
    assert list(tmp_path.iterdir()) == [scenario]


def test_compare_is_guarded_on_the_sum_of_its_runs(tmp_path, no_simulation):
    base = tmp_path / "base.yaml"
    alt = tmp_path / "alt.yaml"
    base.write_text(SMALL.replace("guarded", "base"), encoding="utf-8")
    alt.write_text(SMALL.replace("guarded", "alt"), encoding="utf-8")
    # One run of 100,000 replicates fits in 60 minutes on one worker; three do not. (The flag is
    # the default, but is given so that without it the command fails at once, not runs.)
    single = estimate_run(100_000, 6, workers=1).seconds
    assert single < 60 * 60 < 3 * single
    alt2 = tmp_path / "alt2.yaml"
    alt2.write_text(SMALL.replace("guarded", "alt2"), encoding="utf-8")
    code, _, err = cli(
        "compare", str(base), str(alt), str(alt2), "--replicates", "100000",
        "--workers", "1", "--max-minutes", "60", "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert code == 2 and "300,000 replicates" in err and "would take" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("value", ["0", "-1", "abc", "inf", "nan"])
def test_limits_must_be_positive_numbers(scenario, tmp_path, value):
    for flag in ("--max-minutes", "--max-memory-gb"):
        code, _, err = cli("run", str(scenario), flag, value, "--out", str(tmp_path / "o"))
        assert code == 2 and ("must be a number above 0" in err or "not a number" in err), err
    assert not (tmp_path / "o").exists()


def test_the_default_limit_lets_an_ordinary_run_through():
    """The defaults (60 minutes, this machine's memory) refuse nothing the README suggests."""
    readme_run = estimate_run(500, 72, workers=2, cores=2)
    check_limits(readme_run, 60 * 60, machine_memory_bytes(), confirmed=False)
    assert math.isfinite(readme_run.seconds)


# --- caps and estimates on every path ---------------------------------------------------------


@pytest.mark.parametrize("count", ["1000000000000", "100001"])
@pytest.mark.parametrize("command", ["run", "compare"])
def test_replicates_from_the_command_line_have_the_files_cap(
    scenario, tmp_path, no_simulation, command, count
):
    """`--replicates 1000000000000 --yes` used to start, growing memory by 150 MB a second."""
    files = [str(scenario)] * (2 if command == "compare" else 1)
    code, _, err = cli(
        command, *files, "--replicates", count, "--yes", "--out", str(tmp_path / "o")
    )
    assert code == 2 and "must be at most 100,000" in err
    assert not (tmp_path / "o").exists()


def test_validate_replicates_have_the_same_cap(tmp_path):
    code, _, err = cli("validate", "--replicates", "1000000000000", "--out", str(tmp_path / "v"))
    assert code == 2 and "must be at most 100,000" in err


def test_a_period_longer_than_50_years_is_refused(tmp_path):
    path = tmp_path / "long.yaml"
    path.write_text("name: long\nperiod: {start: 2025-01, end: 2075-01}\n", encoding="utf-8")
    code, _, err = cli("check", str(path))
    assert (
        code == 2
        and err == f"{path}:2: period.end: the period may be at most 50 years (got 2075-01)\n"
    )


def test_the_estimate_counts_the_firms_entries_add_over_the_period():
    """Entrants add rows to the arrays a replicate steps: over 50 years at 7% a year (entries
    each month at 7%/12 of the firms then) there are about 33 times the firms of 2024 at the
    end, and 9.2 times as many firm-months."""
    flat = estimate_run(1, 600, workers=1)
    growing = estimate_run(1, 600, workers=1, firm_growth=0.07)
    firm_months = sum(math.exp(0.07 * m / 12) for m in range(600))
    assert guards.growth_months(600, 0.07) == pytest.approx(firm_months, rel=1e-9)
    assert growing.seconds - guards.FIXED_SECONDS == pytest.approx(
        3216 * firm_months * guards.SECONDS_PER_FIRM_MONTH + guards.SETUP_SECONDS_PER_REPLICATE
    )
    assert growing.seconds > 8 * (flat.seconds - guards.FIXED_SECONDS)
    assert growing.peak_bytes > flat.peak_bytes + 3216 * 32 * guards.BYTES_PER_FIRM


def test_a_long_period_is_estimated_with_its_growth_on_the_command_line(tmp_path, no_simulation):
    path = tmp_path / "long.yaml"
    path.write_text("name: long\nperiod: {start: 2025-01, end: 2074-12}\n", encoding="utf-8")
    flat = estimate_run(500, 600, workers=2, cores=2).seconds
    minutes = 1.5 * flat / 60  # a limit the old estimate (no growth) passed
    code, _, err = cli(
        "run", str(path), "--replicates", "500", "--workers", "2", "--max-minutes",
        f"{minutes:.2f}", "--out", str(tmp_path / "o"),
    )  # fmt: skip
    assert code == 2 and "would take about" in err


def test_a_resumed_run_needs_disk_only_for_what_is_left(scenario, tmp_path, monkeypatch):
    """After freeing some disk, --resume was refused by an estimate that ignored the saved
    chunks: 90 of 100 replicates saved need room for 10 more chunks' worth and the parquet."""
    import sim.ensemble.guards

    per_replicate = 6 * guards.INDICATORS * 8
    full = estimate_run(100, 6).disk_bytes
    resumed = estimate_run(100, 6, saved=75).disk_bytes
    assert full == 200 * per_replicate and resumed == 125 * per_replicate

    out = tmp_path / "out"
    argv = ["run", str(scenario), "--replicates", "100", "--workers", "1", "--no-figures"]
    interrupted = {"chunks": 0}
    import sim.ensemble.execution

    real_save = sim.ensemble.execution.ChunkStore.save

    def save_then_stop(store, index, values, inputs=None):
        real_save(store, index, values, inputs)
        interrupted["chunks"] += 1
        if interrupted["chunks"] == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(sim.ensemble.execution.ChunkStore, "save", save_then_stop)
    code, _, err = cli(*argv, "--out", str(out))
    assert code == 130 and "3 of 4 chunks" in err
    monkeypatch.undo()

    room = (full + resumed) // 2  # enough for the rest, not for a run from scratch
    monkeypatch.setattr(sim.ensemble.guards, "free_disk_bytes", lambda path: room)
    code, _, err = cli(*argv, "--out", str(tmp_path / "other"))
    assert code == 2 and "free under --out" in err
    code, printed, err = cli(*argv, "--out", str(out), "--resume")
    assert code == 0, err
    assert (printed_folder(printed) / "annual.csv").is_file()
