// Seeded inverted dropout without stored masks. Element i of a tensor dropped with `seed` is
// zeroed when its 16 bits of SplitMix64(seed, i / 4) fall below p·65536, and kept elements are
// scaled by 1/(1-p). The backward regenerates the same mask from the seed, so nothing is kept
// between the passes, and the mask depends only on (seed, i): not on the thread count or the
// order the work is done in.

/// SplitMix64's output for `state`.
@inline(__always) func splitMix64(_ state: UInt64) -> UInt64 {
    var z = state &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

/// The 16-bit threshold for drop probability p.
@inline(__always) func dropThreshold(_ p: Float) -> UInt64 { UInt64((p * 65_536).rounded()) }

/// Writes the mask's scales (0 or 1/(1-p)) of elements start..<start+count into `out`.
public func dropoutScales(_ out: FloatPointer, start: Int, count: Int, p: Float, seed: UInt64) {
    let threshold = dropThreshold(p), keep = 1 / (1 - p)
    var i = 0
    @inline(__always) func one() {
        let index = start + i
        let bits = splitMix64(seed &+ UInt64(index >> 2) &* 0x9E37_79B9_7F4A_7C15)
        out[i] = (bits >> UInt64(16 * (index & 3))) & 0xFFFF >= threshold ? keep : 0
        i += 1
    }
    while i < count && (start + i) & 3 != 0 { one() }
    while i + 4 <= count {
        let bits = splitMix64(seed &+ UInt64((start + i) >> 2) &* 0x9E37_79B9_7F4A_7C15)
        out[i] = bits & 0xFFFF >= threshold ? keep : 0
        out[i + 1] = (bits >> 16) & 0xFFFF >= threshold ? keep : 0
        out[i + 2] = (bits >> 32) & 0xFFFF >= threshold ? keep : 0
        out[i + 3] = bits >> 48 >= threshold ? keep : 0
        i += 4
    }
    while i < count { one() }
}

/// x[i] *= scale(i) for i in 0..<count: the forward (on activations) and the backward (on their
/// gradients) of dropout with (p, seed).
public func dropoutApply(_ x: FloatPointer, _ count: Int, p: Float, seed: UInt64) {
    if p <= 0 { return }
    let threshold = dropThreshold(p), keep = 1 / (1 - p)
    parallelChunks(count / 4, minimumPerThread: 16_384) { groups in
        for group in groups {
            let bits = splitMix64(seed &+ UInt64(group) &* 0x9E37_79B9_7F4A_7C15)
            let y = x + 4 * group
            y[0] = bits & 0xFFFF >= threshold ? y[0] * keep : 0
            y[1] = (bits >> 16) & 0xFFFF >= threshold ? y[1] * keep : 0
            y[2] = (bits >> 32) & 0xFFFF >= threshold ? y[2] * keep : 0
            y[3] = bits >> 48 >= threshold ? y[3] * keep : 0
        }
    }
    let tail = count / 4 * 4
    if tail < count {
        let bits = splitMix64(seed &+ UInt64(tail >> 2) &* 0x9E37_79B9_7F4A_7C15)
        for lane in 0..<(count - tail) {
            x[tail + lane] = (bits >> UInt64(16 * lane)) & 0xFFFF >= threshold ? x[tail + lane] * keep : 0
        }
    }
}
