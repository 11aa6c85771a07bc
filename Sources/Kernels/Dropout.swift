// Seeded inverted dropout without stored masks. Element i of a tensor dropped with `seed` is
// zeroed when its 16 bits of SplitMix64(seed, i / 4) fall below p·65536, and kept elements are
// scaled by 1/(1-p). The backward regenerates the same mask from the seed, so nothing is kept
// between the passes, and the mask depends only on (seed, i): not on the thread count or the
// order the work is done in. `offset` makes i the element's index in the whole (global) batch,
// so a micro-batch gets the rows of the mask the whole batch would. SplitMix64 is Randomness's.
import Randomness

/// The mask of one dropout call: element i's scale is 0 (dropped) or 1/(1-p), from 16 bits of
/// SplitMix64(seed, i / 4).
struct DropoutMask {
    let seed: UInt64, threshold: SIMD4<UInt32>, keep: Float
    /// The group of local element 0 in the whole tensor (offset / 4).
    let base: Int

    /// `offset`: the index in the whole tensor of the first element this call sees (a batch split
    /// into micro-batches or over processes passes its first row's offset), a multiple of 4.
    init(p: Float, seed: UInt64, offset: Int = 0) {
        precondition(offset % 4 == 0, "a dropout offset must be a multiple of 4 elements (got \(offset))")
        self.seed = seed
        base = offset / 4
        threshold = SIMD4(repeating: UInt32((p * 65_536).rounded()))
        keep = 1 / (1 - p)
    }

    /// The scales of elements 4g ..< 4g + 4: element 4g + k uses bits 16k ..< 16k + 16 (the
    /// 16-bit lanes of the little-endian word, compared as vectors, not one by one).
    @inline(__always) func group(_ g: Int) -> SIMD4<Float> {
        let bits = splitMix64(seed &+ UInt64(g + base) &* 0x9E37_79B9_7F4A_7C15)
        let lanes = SIMD4<UInt32>(truncatingIfNeeded: unsafeBitCast(bits.littleEndian, to: SIMD4<UInt16>.self))
        return SIMD4<Float>().replacing(with: keep, where: lanes .>= threshold)
    }

    /// The scale of element i.
    @inline(__always) func scale(_ i: Int) -> Float { group(i >> 2)[i & 3] }

    /// The scales of elements e ..< e + 8, for e a multiple of 4.
    @inline(__always) func scales8(_ e: Int) -> Vector8 { Vector8(lowHalf: group(e >> 2), highHalf: group((e >> 2) + 1)) }

    /// How many elements from element i to the next multiple of 4 (where `scales8` can start).
    @inline(__always) func unalignedHead(_ i: Int) -> Int { (4 - (i & 3)) & 3 }
}

@inline(__always) func load4(_ p: UnsafePointer<Float>) -> SIMD4<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Float>.self) }
@inline(__always) func store4(_ v: SIMD4<Float>, _ p: FloatPointer) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD4<Float>.self) }

/// Writes the mask's scales (0 or 1/(1-p)) of elements start..<start+count into `out`.
public func dropoutScales(_ out: FloatPointer, start: Int, count: Int, p: Float, seed: UInt64) {
    let mask = DropoutMask(p: p, seed: seed)
    var i = 0
    while i < count && (start + i) & 3 != 0 { out[i] = mask.scale(start + i); i += 1 }
    while i + 4 <= count { store4(mask.group((start + i) >> 2), out + i); i += 4 }
    while i < count { out[i] = mask.scale(start + i); i += 1 }
}

/// x[i] *= scale(i) for i in 0..<count: the forward (on activations) and the backward (on their
/// gradients) of dropout with (p, seed).
public func dropoutApply(_ x: FloatPointer, _ count: Int, p: Float, seed: UInt64, offset: Int = 0) {
    if p <= 0 { return }
    let mask = DropoutMask(p: p, seed: seed, offset: offset)
    parallelChunks(count / 4, minimumPerThread: 16_384) { groups in
        for g in groups { store4(load4(x + 4 * g) * mask.group(g), x + 4 * g) }
    }
    for i in (count / 4 * 4)..<count { x[i] *= mask.scale(i) }
}

/// x = dropout(x + bias) + residual in one pass (the mask of (p, seed), as `dropoutApply`), for
/// x of rows `width` wide; the bias (one per column) is the one of the linear layer that wrote x
/// (which then skips it), nil for none.
public func dropoutResidualForward(_ x: FloatPointer, _ residual: UnsafePointer<Float>, _ count: Int, p: Float, seed: UInt64,
                                   offset: Int = 0, bias: UnsafePointer<Float>? = nil, width: Int = 0) {
    let mask = DropoutMask(p: p, seed: seed, offset: offset)
    if let bias, p > 0, width % 4 == 0 {
        parallelChunks(count / width, minimumPerThread: max(1, 65_536 / width)) { rows in
            for row in rows {
                for c in stride(from: 0, to: width, by: 4) {
                    let i = row * width + c
                    store4((load4(x + i) + load4(bias + c)) * mask.group(i >> 2) + load4(residual + i), x + i)
                }
            }
        }
        return
    }
    if let bias {   // no dropout, or rows not a multiple of 4 wide: the bias in a pass of its own
        parallelChunks(count / width, minimumPerThread: max(1, 65_536 / width)) { rows in
            for row in rows {
                let y = x + row * width
                for c in 0..<width { y[c] += bias[c] }
            }
        }
    }
    if p <= 0 { addForward(x, x, residual, count); return }
    parallelChunks(count / 4, minimumPerThread: 16_384) { groups in
        for g in groups { store4(load4(x + 4 * g) * mask.group(g) + load4(residual + 4 * g), x + 4 * g) }
    }
    for i in (count / 4 * 4)..<count { x[i] = x[i] * mask.scale(i) + residual[i] }
}

/// Backward of `dropoutResidualForward` for the gradient g of its output: residual = g (a copy)
/// and g = dropout(g) in place, in one pass.
public func dropoutResidualBackward(_ g: FloatPointer, _ residual: FloatPointer, _ count: Int, p: Float, seed: UInt64,
                                    offset: Int = 0) {
    if p <= 0 { residual.update(from: g, count: count); return }
    let mask = DropoutMask(p: p, seed: seed, offset: offset)
    parallelChunks(count / 4, minimumPerThread: 16_384) { groups in
        for j in groups {
            let v = load4(g + 4 * j)
            store4(v, residual + 4 * j)
            store4(v * mask.group(j), g + 4 * j)
        }
    }
    for i in (count / 4 * 4)..<count {
        residual[i] = g[i]
        g[i] *= mask.scale(i)
    }
}
