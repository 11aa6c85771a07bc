"""The seeded generators of electra-swift, ported once: SplitMix64 (Sources/Randomness/SplitMix64.swift),
derivedKey (Randomness/Keys.swift) and xoshiro256** with Lemire's bounded integers
(Randomness/Xoshiro256.swift).

Two forms of the generator: `Xoshiro256`, one stream in Python integers (the epoch permutation
and the window shuffle), and `XoshiroLanes`, one stream per lane in numpy uint64 arrays stepped
together (the masks of many rows at once). Both give exactly the Swift generator's numbers.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import numpy.typing as npt

M64 = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15
#: The odd multiplier of the training stream rule (`Xoshiro256(seed:stream:)`).
STREAM_MULTIPLIER = 0xD1B54A32D192ED03
STREAM_OFFSET = 0x632BE59BD9B4E019

U64Array = npt.NDArray[np.uint64]


def splitmix64(x: int) -> int:
    """SplitMix64's output for state `x` (Python int)."""
    z = (x + GAMMA) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def splitmix64_array(x: U64Array) -> U64Array:
    """SplitMix64 element-wise over a uint64 array (numpy's uint64 arithmetic wraps)."""
    z = x + np.uint64(GAMMA)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def derived_key(*parts: int) -> int:
    """`derivedKey(parts...)`: SplitMix64 chained over the parts, in order."""
    key = 0x6B657973  # "keys"
    for part in parts:
        key = splitmix64(key ^ splitmix64(part & M64))
    return key


def derived_keys(prefix: Sequence[int], last: U64Array) -> U64Array:
    """`derivedKey(*prefix, x)` for every x of `last` (vectorised over the last part)."""
    key = 0x6B657973
    for part in prefix:
        key = splitmix64(key ^ splitmix64(part & M64))
    return splitmix64_array(np.uint64(key) ^ splitmix64_array(last.astype(np.uint64)))


def stream_seed(seed: int, stream: int) -> int:
    """The seed of `Xoshiro256(seed:stream:)`: seed ^ (stream * 0xD1B54A32D192ED03 + 0x632BE59BD9B4E019)."""
    return (seed ^ ((stream * STREAM_MULTIPLIER + STREAM_OFFSET) & M64)) & M64


def _rotl(x: int, k: int) -> int:
    return ((x << k) | (x >> (64 - k))) & M64


class Xoshiro256:
    """xoshiro256** seeded through SplitMix64, in Python integers (one stream).

    >>> rng = Xoshiro256(42)
    >>> k = rng.uniform(10)   # 0..<10, unbiased, as Swift's uniform(below:)
    """

    __slots__ = ("s0", "s1", "s2", "s3")

    def __init__(self, seed: int, stream: int | None = None) -> None:
        if stream is not None:
            seed = stream_seed(seed, stream)
        seed &= M64
        self.s0 = splitmix64(seed)
        self.s1 = splitmix64((seed + GAMMA) & M64)
        self.s2 = splitmix64((seed + 2 * GAMMA) & M64)
        self.s3 = splitmix64((seed + 3 * GAMMA) & M64)

    def next(self) -> int:
        s0, s1, s2, s3 = self.s0, self.s1, self.s2, self.s3
        result = (_rotl((s1 * 5) & M64, 7) * 9) & M64
        t = (s1 << 17) & M64
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        self.s0, self.s1, self.s2, self.s3 = s0, s1, s2, _rotl(s3, 45)
        return result

    def uniform(self, bound: int) -> int:
        """A uniform integer in [0, bound) by Lemire's multiply-shift method (Swift `uniform(below:)`)."""
        m = self.next() * bound
        if (m & M64) < bound:
            threshold = ((1 << 64) - bound) % bound
            while (m & M64) < threshold:
                m = self.next() * bound
        return m >> 64

    def next_float_bits(self) -> int:
        """The 24 bits behind Swift's `nextFloat()` (which returns them times 2^-24)."""
        return self.next() >> 40


def seeded_shuffle(n: int, rng: Xoshiro256) -> list[int]:
    """The permutation Swift's `seededShuffle` applies to an array of `n` elements: element
    `result[i]` of the input lands at position i."""
    order = list(range(n))
    i = n
    uniform = rng.uniform
    while i > 1:
        j = uniform(i)
        i -= 1
        order[i], order[j] = order[j], order[i]
    return order


class XoshiroLanes:
    """Many independent xoshiro256** generators stepped together, one per lane (numpy uint64).

    `next(n)` advances only the first `n` lanes: callers order their lanes so that the ones
    still drawing come first.
    """

    def __init__(self, seeds: U64Array) -> None:
        seeds = seeds.astype(np.uint64)
        g = np.uint64(GAMMA)
        self.s0 = splitmix64_array(seeds)
        self.s1 = splitmix64_array(seeds + g)
        self.s2 = splitmix64_array(seeds + np.uint64(2 * GAMMA & M64))
        self.s3 = splitmix64_array(seeds + np.uint64(3 * GAMMA & M64))

    def next(self, n: int) -> U64Array:
        """The next output of lanes 0..<n (the others keep their state)."""
        s0, s1, s2, s3 = self.s0[:n], self.s1[:n], self.s2[:n], self.s3[:n]
        x = s1 * np.uint64(5)
        result = ((x << np.uint64(7)) | (x >> np.uint64(57))) * np.uint64(9)
        t = s1 << np.uint64(17)
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3[:] = (s3 << np.uint64(45)) | (s3 >> np.uint64(19))
        return result

    def uniform(self, bounds: U64Array) -> U64Array:
        """Lemire's bounded integers in [0, bounds[i]) for lanes 0..<len(bounds) (bounds < 2^32)."""
        n = len(bounds)
        x = self.next(n)
        high, low = _mul_bounded(x, bounds)
        suspect = low < bounds
        if suspect.any():  # rare (probability bound / 2^64): redraw those lanes one by one, as Swift does
            for lane in np.flatnonzero(suspect):
                b = int(bounds[lane])
                threshold = ((1 << 64) - b) % b
                m = int(x[lane]) * b
                while (m & M64) < threshold:
                    m = self._next_one(int(lane)) * b
                high[lane] = m >> 64
        return high

    def _next_one(self, lane: int) -> int:
        rng = Xoshiro256.__new__(Xoshiro256)
        rng.s0, rng.s1, rng.s2, rng.s3 = (int(s[lane]) for s in (self.s0, self.s1, self.s2, self.s3))
        value = rng.next()
        self.s0[lane], self.s1[lane], self.s2[lane], self.s3[lane] = rng.s0, rng.s1, rng.s2, rng.s3
        return value


def _mul_bounded(x: U64Array, b: U64Array) -> tuple[U64Array, U64Array]:
    """High and low 64 bits of x * b for b < 2^32 (the full-width product Lemire's method needs)."""
    lo = (x & np.uint64(0xFFFFFFFF)) * b
    hi = (x >> np.uint64(32)) * b
    high = (hi + (lo >> np.uint64(32))) >> np.uint64(32)
    low = x * b
    return high, low
