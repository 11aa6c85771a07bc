// Keys for randomness that must not depend on how work is split: a mask, a sampling uniform or
// a dropout seed is derived from (seed, step, global example index, ...) by hashing, never drawn
// from a stream a process advances. So a global batch gets the same randomness whatever the
// number of processes and micro-batches it is computed in.

/// A key derived from `parts`, in order: SplitMix64 chained over them.
@inlinable
public func derivedKey(_ parts: UInt64...) -> UInt64 {
    var key: UInt64 = 0x6B65_7973   // "keys"
    for part in parts { key = splitMix64(key ^ splitMix64(part)) }
    return key
}

/// A uniform double in [0, 1) from the 53 high bits of `bits`.
@inlinable @inline(__always)
public func unitInterval(_ bits: UInt64) -> Double { Double(bits >> 11) * 0x1p-53 }
