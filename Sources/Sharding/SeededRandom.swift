// The seeded random number generator behind every draw of the example packing: xoshiro256**
// seeded through SplitMix64 (Blackman & Vigna), so that the same seed gives the same stream on
// every machine and every Swift version (unlike SystemRandomNumberGenerator).

/// A small, fast, seedable generator (xoshiro256**), seeded with SplitMix64.
///
/// ```swift
/// var rng = SeededRandom(seed: 0, stream: 3)
/// let u = rng.nextUnitDouble()      // [0, 1)
/// let k = rng.nextInt(in: 5...128)  // uniform, unbiased
/// ```
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// A generator for `stream` under `seed`: different streams are independent sequences.
    public init(seed: UInt64, stream: UInt64 = 0) {
        var x = seed ^ (stream &* 0xD1B5_4A32_D192_ED03)
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix(); s1 = splitMix(); s2 = splitMix(); s3 = splitMix()
    }

    @inline(__always)
    private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// The next 64 random bits.
    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = SeededRandom.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = SeededRandom.rotl(s3, 45)
        return result
    }

    /// A uniform double in [0, 1) with 53 random bits (like Python's `random.random()`).
    @inline(__always)
    public mutating func nextUnitDouble() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A uniform integer in `range` (both ends included, like Python's `random.randint`),
    /// without modulo bias (rejection sampling).
    public mutating func nextInt(in range: ClosedRange<Int>) -> Int {
        let span = UInt64(range.upperBound - range.lowerBound) &+ 1
        if span == 0 { return Int(bitPattern: UInt(next())) }   // the full 64-bit range
        let limit = UInt64.max - UInt64.max % span
        while true {
            let r = next()
            if r < limit { return range.lowerBound + Int(r % span) }
        }
    }
}
