"""Drawer processes (`sim.report.figure_processes`): the figures they give back are the bytes drawn
here, in the folder's order, even when a drawer dies; an interrupt ends them at once; and `run`
starts the first one, in its own thread, only when its last chunks are running."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pandas as pd
import pytest

from sim.cli.running import Tail
from sim.ensemble.tables import annual_summary, annual_table
from sim.inputs.calendar import format_month
from sim.model.indicators import INDICATOR_NAMES
from sim.report import result_figures
from sim.report.figure_processes import FigureProcesses
from sim.report.result_figures import fan_figures

#: One indicator in both languages: two figures each way keep the tests quick.
SHOWN = ("production_krw",)
LANGS = ("en", "ko")


@pytest.fixture(scope="module")
def summary() -> pd.DataFrame:
    """The annual summary of six made-up replicates of two years."""
    rng = np.random.default_rng(3)
    replicates, months = 6, 24
    monthly = pd.DataFrame(
        {
            "replicate": np.repeat(np.arange(replicates, dtype=np.int64), months),
            "month": np.tile([format_month(2025 * 12 + k) for k in range(months)], replicates),
        }
    )
    for name in INDICATOR_NAMES:
        monthly[name] = 5e12 * rng.uniform(0.8, 1.2, replicates * months)
    return annual_summary(annual_table(monthly), [0.1, 0.5, 0.9])


@pytest.fixture
def shown(monkeypatch):
    monkeypatch.setattr(result_figures, "FIGURE_INDICATORS", SHOWN)


def drawers_started(drawers: FigureProcesses, count: int = 1, seconds: float = 60.0) -> list:
    """The drawer processes, once `count` of them have started."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        processes = list((drawers.pool._processes or {}).values())
        if len(processes) >= count:
            return processes
        time.sleep(0.01)
    raise AssertionError(f"{count} drawer(s) did not start within {seconds} s")


def kill(processes) -> None:
    for process in processes:
        os.kill(process.pid, signal.SIGKILL)


@pytest.mark.parametrize("dies", ["before the figures are handed out", "while they are drawn"])
def test_figures_drawn_aside_are_the_bytes_drawn_here_in_order_though_a_drawer_dies(
    summary, shown, dies
):
    here = list(fan_figures(summary, 6, LANGS, "A title", indicators=SHOWN))
    with FigureProcesses() as drawers:
        drawers.start()
        if dies.startswith("before"):
            kill(drawers_started(drawers))
            deadline = time.monotonic() + 60
            while not drawers.pool._broken and time.monotonic() < deadline:
                time.sleep(0.01)
            assert drawers.pool._broken
        collect = drawers.fan_figures(summary, 6, LANGS, "A title")
        if dies.startswith("while"):
            kill(drawers_started(drawers))
        aside = list(collect(None, 6))
    assert [path for path, _ in aside] == [path for path, _ in here]
    assert aside == here


def test_figures_drawn_aside_with_every_drawer_alive_are_the_bytes_drawn_here(summary, shown):
    here = list(fan_figures(summary, 6, LANGS, None, indicators=SHOWN))
    with FigureProcesses() as drawers:
        aside = list(drawers.fan_figures(summary, 6, LANGS, None)(summary, 6))
        assert drawers.pool is not None  # drawn there, not here after a failure
        assert not drawers.pool._broken
    assert aside == here


def test_an_interrupt_ends_the_drawers_at_once():
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt), FigureProcesses() as drawers:
        drawers.start()
        drawers.pool.submit(time.sleep, 120)  # a drawing that would take two minutes
        processes = drawers_started(drawers, count=2)
        raise KeyboardInterrupt
    assert time.monotonic() - started < 60  # not waited for
    assert drawers.pool is None
    assert processes and not any(process.is_alive() for process in processes)


def test_the_tail_starts_the_drawers_once_in_this_thread_when_the_last_chunks_run():
    calls = []
    tail = Tail(None, 100, 25, aside=lambda: calls.append(threading.current_thread()))
    tail.finished(50)
    assert calls == []
    tail.finished(25)
    tail.finished(25)
    tail.wait()
    assert calls == [threading.current_thread()]
