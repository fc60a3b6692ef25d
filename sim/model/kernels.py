"""Compiled kernels: how the model's hot loops are written, and the decorator that compiles them.

A kernel is a pure function of arrays and numbers, compiled to machine code by numba:

    @kernel
    def market_weights_kernel(base_sales, alive, sector, sectors):
        total = np.zeros(sectors)
        for i in range(len(base_sales)):
            if alive[i]:
                total[sector[i]] += base_sales[i]
        ...
        return weight

- It reads its arguments and returns new arrays (or writes into an array the caller hands it and
  names `out`, or into state the caller says it changes); it keeps nothing between calls and reads
  no global state but constants.
- It is called from a plain Python function or an action of the model
  (`sim.model.draws.draw_month`, `ChangwonModel.settle_accounts`, ...) that unpacks the model's
  objects into arrays, so the step still reads as the model.
- Randomness inside a kernel comes only from the counter-based generator of
  `sim.model.counter_rng`, keyed by (replicate key, month, slot, stream): a kernel may loop in any
  order, and a draw stays the same.
- A kernel calls only kernels of its own module. numba's cache is invalidated by a change of the
  kernel's own file only, so a kernel calling into another file could keep running stale code.

Compilation options, the same for every kernel:
- `cache=True`: compiled once per machine, the first time a kernel is called with given argument
  types; the machine code is kept beside the source in `__pycache__` (for an installed package
  whose folder is read-only, in numba's user cache folder, or `NUMBA_CACHE_DIR` if set), and every
  later process — worker processes included — loads it instead of compiling.
- no `fastmath`: floating-point operations happen in the order written, so results agree with the
  firm-by-firm reference and do not depend on the machine's vector width.
- `error_model="numpy"`: division by zero gives inf or nan, as in the numpy rules, instead of
  raising (and costs no test per division).

A small helper that a hot loop calls (a generator's rounds, a unit conversion) is declared with
`inline_kernel`: numba inlines it into its caller before compiling, so the caller's loop holds no
call and the compiler can run it over several slots at once in vector registers.
"""

from __future__ import annotations

from collections.abc import Callable

import numba

KERNEL_OPTIONS = {"cache": True, "error_model": "numpy", "nogil": True}


def kernel[F: Callable](function: F) -> F:
    """Compile `function` as a kernel (see the module's docstring)."""
    return numba.njit(**KERNEL_OPTIONS)(function)


def inline_kernel[F: Callable](function: F) -> F:
    """Compile `function` as a kernel that is inlined into the kernels that call it."""
    return numba.njit(inline="always", **KERNEL_OPTIONS)(function)
