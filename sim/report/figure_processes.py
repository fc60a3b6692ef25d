"""Processes that draw a run's fan charts while `changwon-sim run` writes its tables.

A fan chart takes matplotlib about 0.3 s of a core, most of it laying out text. Drawn one after
the other once the tables were written, a run's eight (sixteen in two languages) made the end of
every run seconds longer. Instead:

- while the run's last chunk runs, and a core would otherwise be idle, a first drawer process
  starts (`FigureProcesses.start`). Forked by the workers' forkserver, it loads the plotting
  modules and the fonts by drawing a first figure, then waits;
- once the run's summary is known, its figures are handed out one by one (`fan_figures`). A
  second drawer starts then, when the workers have stopped, and takes figures as soon as it is
  ready;
- this process writes the tables meanwhile, then collects the figures in their order.

A figure's bytes do not depend on the process that draws it (`result_figures._render`). Drawers
die with the run whatever ends it (`sim.ensemble.lifeline`) and are stopped at once on an error or
Ctrl-C. Should a drawer die, the figures not yet given back are drawn in this process.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from sim.ensemble.execution import close_pool, forkserver
from sim.ensemble.lifeline import keep_alive_only_with, signals_deferred

#: Drawer processes at most. Each costs its start (imports and a first figure, about a second of
#: a core) and its memory, and draws four of a run's eight figures; more would mostly wait.
DRAWERS = 2


def warm_up() -> None:
    """Import the plotting modules and draw a first figure, so fonts and text layout are loaded."""
    from sim.report.plots import figure_png_bytes, new_axes
    from sim.report.result_figures import fan_figures  # noqa: F401

    ax = new_axes()
    ax.plot([2025, 2026], [1.0, 2.0])
    ax.set_title("2025")
    figure_png_bytes(ax.figure)


def start_drawer(run_pid: int) -> None:
    """Initializer of a drawer: it dies with the run (`run_pid`), then warms up."""
    keep_alive_only_with(run_pid)
    warm_up()


def draw_fan_figure(
    summary, replicates: int, lang: str, indicator: str, title: str | None
) -> tuple[str, bytes]:
    """One fan chart of `sim.report.result_figures.fan_figures`: (relative path, PNG bytes)."""
    from sim.report.result_figures import fan_figures

    return next(fan_figures(summary, replicates, (lang,), title, indicators=(indicator,)))


class FigureProcesses:
    """Drawer processes of one run (see the module's docstring); a context manager that stops
    them at once if the block ends with an error or an interrupt."""

    def __init__(self, count: int = DRAWERS) -> None:
        self.count = count
        self.pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> FigureProcesses:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        self.close(stop=kind is not None)

    def start(self) -> None:
        """Start the first drawer, if none has started."""
        if self.pool is not None:
            return
        with signals_deferred():  # an interrupt must not miss a drawer being started
            self.pool = ProcessPoolExecutor(
                max_workers=self.count,
                mp_context=forkserver(),
                initializer=start_drawer,
                initargs=(os.getpid(),),
            )
            self.pool.submit(int)  # a process starts with a first task

    def fan_figures(
        self, summary, replicates: int, langs: Sequence[str], title: str | None
    ) -> Callable[..., Iterator[tuple[str, bytes]]]:
        """Hand out the run's fan charts (`sim.report.result_figures.fan_figures` of `summary`);
        returns the `figures` argument of `sim.ensemble.results.write_run_results`, which yields
        them in the order `fan_figures` would."""
        from sim.report.result_figures import FIGURE_INDICATORS

        self.start()
        jobs = [(lang, name) for lang in langs for name in FIGURE_INDICATORS]
        futures = []
        # The second drawer starts here. A drawer that has died already breaks the pool: the
        # figures not handed out are drawn here.
        with signals_deferred(), contextlib.suppress(BrokenProcessPool):
            for lang, name in jobs:
                futures.append(
                    self.pool.submit(draw_fan_figure, summary, replicates, lang, name, title)
                )

        def collect(*_) -> Iterator[tuple[str, bytes]]:
            for k, (lang, name) in enumerate(jobs):
                figure = None
                if k < len(futures):
                    with contextlib.suppress(BrokenProcessPool):  # a drawer died
                        figure = futures[k].result()
                yield figure or draw_fan_figure(summary, replicates, lang, name, title)

        return collect

    def close(self, stop: bool = False) -> None:
        """Let the drawers end; with `stop`, end them at once (a figure in progress is dropped)."""
        if self.pool is not None:
            pool, self.pool = self.pool, None
            close_pool(pool, stop)
