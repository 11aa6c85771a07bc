// The seeded random number generator behind every draw of the example packing: xoshiro256**
// seeded through SplitMix64 (Blackman & Vigna), so that the same seed gives the same stream on
// every machine and every Swift version (unlike SystemRandomNumberGenerator). The generator is
// the project's `Xoshiro256`; this type adds Python-like draws and the per-stream seeding.
import Randomness

/// A small, fast, seedable generator (xoshiro256**), seeded with SplitMix64.
///
/// ```swift
/// var rng = SeededRandom(seed: 0, stream: 3)
/// let u = rng.nextUnitDouble()      // [0, 1)
/// let k = rng.nextInt(in: 5...128)  // uniform, unbiased
/// ```
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var generator: Xoshiro256

    /// A generator for `stream` under `seed`: different streams are independent sequences.
    public init(seed: UInt64, stream: UInt64 = 0) {
        generator = Xoshiro256(seed: seed, packingStream: stream)
    }

    /// The next 64 random bits.
    @inline(__always)
    public mutating func next() -> UInt64 { generator.next() }

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
