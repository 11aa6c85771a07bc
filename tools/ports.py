"""Python ports of the seeded pieces of electra-swift that the reference scripts must reproduce
exactly: SplitMix64 (Randomness/SplitMix64), derivedKey (Randomness/Keys), Xoshiro256
(Randomness/Xoshiro256) and the area under the ROC curve (Training.areaUnderROC). Standard
library and numpy only, so that any of the tools/ scripts can import it."""
import numpy as np

M64 = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15


def splitmix64(x):
    """SplitMix64's step: of a Python int, or element-wise of a numpy uint64 array (which wraps)."""
    z = (x + GAMMA) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def derived_key(*parts):
    """Randomness/derivedKey."""
    key = 0x6B657973
    for part in parts:
        key = splitmix64(key ^ splitmix64(part))
    return key


class Xoshiro256:
    """The Swift Randomness/Xoshiro256 (SplitMix64 seeding, xoshiro256**, Lemire's bounded ints)."""

    def __init__(self, seed, stream=None):
        if stream is not None:
            seed ^= (stream * 0xD1B54A32D192ED03 + 0x632BE59BD9B4E019) & M64
        self.s = [splitmix64((seed + k * GAMMA) & M64) for k in range(4)]

    def next(self):
        s0, s1, s2, s3 = self.s
        rotl = lambda x, k: ((x << k) | (x >> (64 - k))) & M64
        result = (rotl((s1 * 5) & M64, 7) * 9) & M64
        t = (s1 << 17) & M64
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t
        self.s = [s0, s1, s2, rotl(s3, 45)]
        return result

    def uniform(self, bound):
        m = self.next() * bound
        if (m & M64) < bound:
            threshold = ((1 << 64) - bound) % bound
            while (m & M64) < threshold:
                m = self.next() * bound
        return m >> 64


def auc(scores, labels):
    """Mann-Whitney U with ties counted half, as Training.areaUnderROC (numpy arrays)."""
    pos = labels.sum()
    neg = len(labels) - pos
    if pos == 0 or neg == 0:
        return 0.5
    order = np.argsort(scores, kind="mergesort")
    _, first, counts = np.unique(scores[order], return_index=True, return_counts=True)
    ranks = np.repeat(first + (counts - 1) / 2 + 1, counts)
    return float((ranks[labels[order] > 0.5].sum() - pos * (pos + 1) / 2) / (pos * neg))

