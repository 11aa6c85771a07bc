// SplitMix64 (Steele, Lea and Flood, 2014; Vigna's splitmix64.c): the one copy of the mixer that
// seeds Xoshiro256 and hashes counters (the dropout masks of the kernels).

/// SplitMix64's output for the generator state `x`: the state advanced by the golden-ratio
/// increment, then mixed. A generator with state x returns splitMix64(x) and moves to
/// x &+ 0x9E37_79B9_7F4A_7C15; as a hash, splitMix64(seed &+ i &* 0x9E37_79B9_7F4A_7C15) is
/// the i-th output of the generator seeded with `seed`.
@inlinable @inline(__always)
public func splitMix64(_ x: UInt64) -> UInt64 {
    var z = x &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}
