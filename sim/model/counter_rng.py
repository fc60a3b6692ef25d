"""A counter-based random number generator: Philox4x32-10, compiled.

A counter-based generator is a keyed bijection of a counter (Salmon, Moraes, Dror and Shaw,
"Parallel random numbers: as easy as 1, 2, 3", SC11, 2011). Philox4x32-10 maps a 128-bit counter
and a 64-bit key to 128 random bits in ten rounds of multiplications; it passes the BigCrush
battery of TestU01 for any key, and its outputs for distinct counters are independent. No state
is carried from one draw to the next, so every draw has an address and can be made in any order,
by any process:

    block = philox(key, counter = (slot, month, stream, part))

- key: 64 bits of the replicate's month seed sequence (`sim.model.draws.month_key`), so each
  replicate has its own generator whatever process runs it;
- slot: the firm slot (or partner, entrant or order number within the month);
- month: the month's index in the period;
- stream: what the draw is for (the constants below), so two uses of the same slot and month never
  share bits;
- part: a further index where one coordinate needs several draws (a column of an entrant's
  normals, a piece of a large Poisson count).

A block of 128 bits gives two uniforms of 53 bits (words 0-1 and 2-3), each in the open interval
(0, 1). `uniform` uses the first; `normal` uses both (Box-Muller); `poisson` inverts the cumulative
distribution with the first. A firm's month takes one block (stream `FIRM`) for its demand
innovation (the first uniform) and its exponential adoption draw (-log u, the second), and one
(stream `EXIT`) for its exponential exit draw (-log u, the first).

Speed: the firms' blocks are made by `firm_uniforms`, a loop over slots that the compiler runs four
slots at a time in vector registers (AVX2: a 32 x 32 -> 64-bit multiplication per lane, which is
Philox's). For that, `philox` is inlined into its callers and the operands of its multiplications
are masked to their 32 bits (they hold no more, so the mask changes no value); the uniforms, not
their logarithms, are returned, and the model takes the logarithm only of the few draws that can
decide anything (`sim.model.month_kernels`). Made one slot at a time, as before, the same draws
cost about six times as much.
Kernels of this module follow `sim.model.kernels`.
"""

from __future__ import annotations

import math

import numpy as np

from sim.model.kernels import inline_kernel, kernel

# Philox4x32 round multipliers and key increments (Random123).
M0 = np.uint64(0xD2511F53)
M1 = np.uint64(0xCD9E8D57)
W0 = np.uint64(0x9E3779B9)
W1 = np.uint64(0xBB67AE85)
LOW32 = np.uint64(0xFFFFFFFF)
SHIFT32 = np.uint64(32)
SHIFT5 = np.uint64(5)
SHIFT6 = np.uint64(6)
ROUNDS = 10
TWO_26 = 67108864.0
TWO_MINUS_53 = 1.0 / 9007199254740992.0
TWO_PI = 2.0 * math.pi
SQRT_12 = math.sqrt(12.0)
# A Poisson count is split into pieces of mean at most this, so exp(-mean) never underflows.
POISSON_PIECE = 500.0

# Streams: what a draw is for.
COMMON_NOISE = 1  # slot 0: the complex-wide shock
FIRM = 2  # slot: firm slot; first uniform: demand innovation, second: adoption draw
ENTRANT_COUNT = 3  # slot 0; part: piece of the count
ORDER_COUNT = 4  # slot 0; part: piece of the count
ENTRANT_SECTOR = 5  # slot: entrant number within the month
ENTRANT_NOISE = 6  # slot: entrant number within the month; part: column
ORDER_VALUE = 7  # slot: order number within the month
ORDER_PRIME = 8  # slot: order number within the month
EXIT = 9  # slot: firm slot; the exponential exit draw
ENTRANT_NORMALS = 4  # columns of an entrant's normals: demand shock and three adoption gains


@inline_kernel
def philox(c0, c1, c2, c3, k0, k1):
    """Philox4x32-10 of the counter (c0, c1, c2, c3) under the key (k0, k1): four 32-bit words.

    Arguments and results are uint64 holding 32-bit values.
    """
    for _ in range(ROUNDS):
        p0 = M0 * (c0 & LOW32)
        p1 = M1 * (c2 & LOW32)
        c0, c1, c2, c3 = (
            (p1 >> SHIFT32) ^ c1 ^ k0,
            p1 & LOW32,
            (p0 >> SHIFT32) ^ c3 ^ k1,
            p0 & LOW32,
        )
        k0 = (k0 + W0) & LOW32
        k1 = (k1 + W1) & LOW32
    return c0, c1, c2, c3


@inline_kernel
def open_unit(high, low):
    """A uniform in (0, 1) from two 32-bit words: 53 random bits, offset by half a step."""
    return ((high >> SHIFT5) * TWO_26 + (low >> SHIFT6) + 0.5) * TWO_MINUS_53


@kernel
def uniform_pair(key, month, slot, stream, part):
    """The two uniforms of the block at (slot, month, stream, part) under `key` (2 words)."""
    w0, w1, w2, w3 = philox(
        np.uint64(slot), np.uint64(month), np.uint64(stream), np.uint64(part), key[0], key[1]
    )
    return open_unit(w0, w1), open_unit(w2, w3)


@kernel
def uniform(key, month, slot, stream, part):
    w0, w1, _, _ = philox(
        np.uint64(slot), np.uint64(month), np.uint64(stream), np.uint64(part), key[0], key[1]
    )
    return open_unit(w0, w1)


@kernel
def normal(key, month, slot, stream, part):
    """A standard normal (Box-Muller, the cosine branch)."""
    u1, u2 = uniform_pair(key, month, slot, stream, part)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(TWO_PI * u2)


@kernel
def poisson(mean, key, month, slot, stream):
    """A Poisson count of the given mean, by inversion; a large mean is the sum of independent
    pieces (parts 0, 1, ...) of mean at most `POISSON_PIECE`."""
    if not mean > 0.0:
        return 0
    pieces = math.ceil(mean / POISSON_PIECE)
    piece = mean / pieces
    total = 0
    for part in range(pieces):
        u = uniform(key, month, slot, stream, part)
        p = math.exp(-piece)
        cdf = p
        k = 0
        while u > cdf and p > 0.0:  # p reaches 0 only for u within rounding of 1
            k += 1
            p *= piece / k
            cdf += p
        total += k
    return total


@kernel
def uniforms(key, month, stream, count):
    """Uniforms of slots 0..count-1 of a stream."""
    out = np.empty(count)
    for slot in range(count):
        out[slot] = uniform(key, month, slot, stream, 0)
    return out


@kernel
def normals(key, month, stream, count, columns):
    """(count, columns) standard normals: slot = row, part = column."""
    out = np.empty((count, columns))
    for slot in range(count):
        for column in range(columns):
            out[slot, column] = normal(key, month, slot, stream, column)
    return out


@kernel
def firm_uniforms(key, month, firms):
    """The uniforms of every firm slot 0..firms-1 in a month: (demand innovation, adoption, exit).

    The demand innovation is already made unit-variance, (u - 0.5) sqrt(12); the adoption and exit
    uniforms u give the exponential draws -log u.
    """
    noise = np.empty(firms)
    adoption_u = np.empty(firms)
    exit_u = np.empty(firms)
    k0, k1 = key[0] & LOW32, key[1] & LOW32
    m = np.uint64(month)
    for slot in range(firms):  # no call, no branch: vectorised
        w0, w1, w2, w3 = philox(np.uint64(slot), m, np.uint64(FIRM), np.uint64(0), k0, k1)
        noise[slot] = (open_unit(w0, w1) - 0.5) * SQRT_12
        adoption_u[slot] = open_unit(w2, w3)
        w0, w1, _, _ = philox(np.uint64(slot), m, np.uint64(EXIT), np.uint64(0), k0, k1)
        exit_u[slot] = open_unit(w0, w1)
    return noise, adoption_u, exit_u


@kernel
def exponentials(u):
    """Standard exponentials -log u of uniforms u."""
    out = np.empty(len(u))
    for i in range(len(u)):
        out[i] = -math.log(u[i])
    return out


@kernel
def month_draws(key, month, firms, entrant_mean, order_mean):
    """Every draw of one month (see `sim.model.draws.MonthDraws`): the complex-wide normal; for
    each of `firms` slots a unit-variance uniform demand innovation and the uniforms of its
    adoption and exit draws; the numbers of entrants and pipeline orders (Poisson) and their
    uniforms and normals.
    """
    common_noise = normal(key, month, 0, COMMON_NOISE, 0)
    firm_noise, adoption_u, exit_u = firm_uniforms(key, month, firms)
    entrants = poisson(entrant_mean, key, month, 0, ENTRANT_COUNT)
    orders = poisson(order_mean, key, month, 0, ORDER_COUNT)
    return (
        common_noise,
        firm_noise,
        adoption_u,
        exit_u,
        uniforms(key, month, ENTRANT_SECTOR, entrants),
        normals(key, month, ENTRANT_NOISE, entrants, ENTRANT_NORMALS),
        uniforms(key, month, ORDER_VALUE, orders),
        uniforms(key, month, ORDER_PRIME, orders),
    )
