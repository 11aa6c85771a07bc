// The seeded random number generator used for masking, sampling and shuffling: xoshiro256**
// (Blackman and Vigna, 2018), seeded through SplitMix64. Its whole state is four UInt64, a
// small Codable value that a checkpoint stores to resume a run exactly.

/// A fast, seedable, serializable pseudo-random generator (xoshiro256**).
///
/// ```swift
/// var rng = Xoshiro256(seed: 42)
/// let k = rng.uniform(below: 10)      // 0..<10, unbiased
/// let u = rng.nextFloat()             // [0, 1), 24 random bits
/// ```
public struct Xoshiro256: RandomNumberGenerator, Codable, Equatable, Sendable {
    public var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// Seeds the four words from `seed` with SplitMix64, as the authors recommend.
    public init(seed: UInt64) {
        s0 = splitMix64(seed)
        s1 = splitMix64(seed &+ splitMix64Gamma)
        s2 = splitMix64(seed &+ 2 &* splitMix64Gamma)
        s3 = splitMix64(seed &+ 3 &* splitMix64Gamma)
    }

    /// A generator for an independent stream derived from `seed` and a `stream` number
    /// (for example one per epoch), so that work can be split without sharing one generator.
    /// The rule of training (model, masking, evaluation, initialization):
    /// `seed ^ (stream * 0xD1B54A32D192ED03 + 0x632BE59BD9B4E019)`.
    public init(seed: UInt64, stream: UInt64) {
        self.init(seed: seed ^ (stream &* Xoshiro256.streamMultiplier &+ 0x632B_E59B_D9B4_E019))
    }

    /// The stream rule of the example packing (electra-prep shard): `seed ^ (stream *
    /// 0xD1B54A32D192ED03)`, without the training rule's offset. Kept apart from it because
    /// the shard bytes of every existing corpus depend on it.
    public init(seed: UInt64, packingStream stream: UInt64) {
        self.init(seed: seed ^ (stream &* Xoshiro256.streamMultiplier))
    }

    /// The odd multiplier that spreads stream numbers over the seed's bits.
    static let streamMultiplier: UInt64 = 0xD1B5_4A32_D192_ED03

    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    /// A uniform integer in `0..<bound` without modulo bias (Lemire's multiply-shift method).
    @inline(__always)
    public mutating func uniform(below bound: Int) -> Int {
        precondition(bound > 0)
        let b = UInt64(bound)
        var m = next().multipliedFullWidth(by: b)
        if m.low < b {
            let threshold = (0 &- b) % b
            while m.low < threshold { m = next().multipliedFullWidth(by: b) }
        }
        return Int(m.high)
    }

    /// A uniform float in [0, 1) with 24 random bits.
    @inline(__always)
    public mutating func nextFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// A uniform double in [0, 1) with 53 random bits.
    @inline(__always)
    public mutating func nextDouble() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }
}

@inline(__always)
private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
