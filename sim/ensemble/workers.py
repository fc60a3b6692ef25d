"""What the forkserver of local worker processes loads before it forks any worker.

`sim.ensemble.execution.LocalProcesses` starts its workers through a forkserver: a clean process,
started once, that forks every worker. The server imports this module first, and importing it
imports the simulation and loads the compiled kernels (`load_kernels`: from numba's cache, or
compiled into it on a machine's first run). Each worker, a fork of the server, starts with both:
imports and kernels cost once per run, not once per worker. Nothing else imports this module.
"""

from __future__ import annotations

import numpy as np

from sim.ensemble.replicate import run_replicate  # noqa: F401  (imported for the workers)
from sim.inputs.names import SECTORS
from sim.model.draws import draw_month, month_generator, month_key
from sim.model.network import (
    build_network,
    market_weights,
    orders_received,
    redirect_to_markets,
    rows_dot,
    supplier_fill,
)


def load_kernels() -> None:
    """Call every kernel of the model once, on tiny inputs of the types the model passes, so
    their machine code is loaded into this process."""
    n = 2 * len(SECTORS)
    network = build_network(
        np.random.default_rng(0),
        np.ones(n),
        np.ones(n),
        np.full(n, 2),
        np.full(len(SECTORS), 1.0 / len(SECTORS)),
    )
    sector = np.arange(n) % len(SECTORS)
    alive = np.ones(n, dtype=bool)
    weight = market_weights(np.ones(n), alive, sector)
    orders_received(network, np.ones(n), weight, sector)
    supplier_fill(network, np.ones(n), weight, sector)
    rows_dot(network, np.arange(2), np.ones(n))
    redirect_to_markets(network, ~alive, sector)
    draw_month(month_generator(month_key(np.random.SeedSequence(0)), 0), n, n, n, 0.1, 0.1)


load_kernels()
