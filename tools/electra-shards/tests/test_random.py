"""The ports of SplitMix64, derivedKey and xoshiro256**: the vectorised lanes against the
scalar generator (itself checked against the Swift trainer by test_parity's byte-for-byte
comparison), Lemire's rejection branch included, and a few values Swift's RandomnessTests fix."""
import numpy as np

from electra_shards._random import (M64, Xoshiro256, XoshiroLanes, derived_key, derived_keys, seeded_shuffle,
                                    splitmix64, splitmix64_array)


def test_known_values_of_swift_randomness_tests():
    # Tests/RandomnessTests: the values every file of the project depends on
    assert splitmix64(0) == 0xE220A8397B1DCDAF
    assert splitmix64(12345) == 0x22118258A9D111A0
    rng = Xoshiro256(42)
    assert [rng.next(), rng.next(), rng.next()] == [0x15780B2E0C2EC716, 0x6104D9866D113A7E, 0xAE17533239E499A1]
    assert Xoshiro256(7, 0x6D61736B).next() == 0xE34BB6B48DA2BBD4
    xs = np.array([0, 1, 2**63, M64], dtype=np.uint64)
    assert [int(v) for v in splitmix64_array(xs)] == [splitmix64(int(x)) for x in xs]


def test_derived_keys_match_scalar():
    idx = np.array([0, 1, 31, 10**12, 2**62], dtype=np.uint64)
    got = derived_keys((7, 0x6D61736B), idx)
    assert [int(v) for v in got] == [derived_key(7, 0x6D61736B, int(i)) for i in idx]


def test_lanes_match_scalar_generators():
    seeds = np.array([0, 1, 42, 2**64 - 1, 123456789], dtype=np.uint64)
    lanes = XoshiroLanes(seeds)
    scalars = [Xoshiro256(int(s)) for s in seeds]
    for _ in range(20):
        got = lanes.next(len(seeds))
        assert [int(v) for v in got] == [r.next() for r in scalars]
    bounds = np.array([1, 2, 3, 100, 2**31 + 11], dtype=np.uint64)
    for _ in range(20):
        got = lanes.uniform(bounds)
        assert [int(v) for v in got] == [r.uniform(int(b)) for r, b in zip(scalars, bounds)]


def test_lanes_advance_only_a_prefix():
    lanes = XoshiroLanes(np.array([5, 6, 7], dtype=np.uint64))
    a, b, c = Xoshiro256(5), Xoshiro256(6), Xoshiro256(7)
    lanes.next(1)
    a.next()
    assert [int(v) for v in lanes.next(3)] == [a.next(), b.next(), c.next()]


def test_rejection_branch_matches_scalar():
    # s1 = 0 makes the output 0, so x * b has low word 0 < threshold: Lemire's method draws again.
    lanes = XoshiroLanes(np.array([1, 2], dtype=np.uint64))
    lanes.s1[0] = 0
    scalar = Xoshiro256(1)
    scalar.s0, scalar.s1, scalar.s2, scalar.s3 = (int(s[0]) for s in (lanes.s0, lanes.s1, lanes.s2, lanes.s3))
    other = Xoshiro256(2)
    got = lanes.uniform(np.array([3, 3], dtype=np.uint64))
    assert [int(v) for v in got] == [scalar.uniform(3), other.uniform(3)]
    assert int(lanes.next(1)[0]) == scalar.next()  # the redraw advanced the lane as the scalar


def test_seeded_shuffle_is_a_seeded_permutation():
    p = seeded_shuffle(100, Xoshiro256(3, 9))
    assert sorted(p) == list(range(100)) and p != list(range(100))
    assert p == seeded_shuffle(100, Xoshiro256(3, 9))
    assert p != seeded_shuffle(100, Xoshiro256(3, 10))
