// SplitMix64 (Steele, Lea and Flood, 2014): a 64-bit mixing function. The one copy behind the
// generator's seeding, the held-out frame ranking of the batch stream, and the dropout masks.

/// The golden-ratio increment of SplitMix64's state, 2^64 / phi.
public let splitMix64Gamma: UInt64 = 0x9E37_79B9_7F4A_7C15

/// SplitMix64's output for state `x`: `x + gamma`, mixed (Stafford's variant 13).
/// `splitMix64(x)`, `splitMix64(x + gamma)`, ... is the SplitMix64 sequence seeded with `x`.
@inlinable @inline(__always)
public func splitMix64(_ x: UInt64) -> UInt64 {
    var z = x &+ splitMix64Gamma
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}
