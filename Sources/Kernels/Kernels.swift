// The numerical kernels of the ELECTRA model, in forward/backward pairs in the manner of llm.c
// (train_gpt2.c): free functions, one argument order everywhere (outputs, inputs, weights,
// dimensions), backward passes ACCUMULATE (+=) into gradients, zeroing is the caller's job.
// Dimensions: M rows (B*L or the P masked rows), C channels, N output channels, V vocabulary.
// Linear weights are stored [out, in] as PyTorch does; matrix products go through OpenBLAS.
import CBLAS
import Foundation

public typealias FloatPointer = UnsafeMutablePointer<Float>

// MARK: - Linear

/// out[M,N] = inp[M,C] · weight[N,C]ᵀ + bias[N]
@inline(__always)
public func linearForward(_ out: FloatPointer, _ inp: FloatPointer, _ weight: FloatPointer, _ bias: FloatPointer?,
                          _ M: Int, _ C: Int, _ N: Int) {
    if let bias {
        for m in 0..<M { (out + m * N).update(from: bias, count: N) }
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(M), Int32(N), Int32(C),
                1, inp, Int32(C), weight, Int32(C), bias == nil ? 0 : 1, out, Int32(N))
}

/// dinp[M,C] += dout[M,N] · weight[N,C];  dweight[N,C] += doutᵀ · inp;  dbias[N] += Σ_m dout
@inline(__always)
public func linearBackward(_ dinp: FloatPointer?, _ dweight: FloatPointer, _ dbias: FloatPointer?,
                           _ dout: FloatPointer, _ inp: FloatPointer, _ weight: FloatPointer,
                           _ M: Int, _ C: Int, _ N: Int) {
    if let dinp {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(M), Int32(C), Int32(N),
                    1, dout, Int32(N), weight, Int32(C), 1, dinp, Int32(C))
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(N), Int32(C), Int32(M),
                1, dout, Int32(N), inp, Int32(C), 1, dweight, Int32(C))
    if let dbias {
        for m in 0..<M {
            let row = dout + m * N
            for n in 0..<N { dbias[n] += row[n] }
        }
    }
}

// MARK: - LayerNorm

/// out = (inp - mean) * rstd * weight + bias per row of C; saves mean[M] and rstd[M].
public func layerNormForward(_ out: FloatPointer, _ mean: FloatPointer, _ rstd: FloatPointer,
                             _ inp: FloatPointer, _ weight: FloatPointer, _ bias: FloatPointer,
                             _ M: Int, _ C: Int, eps: Float) {
    parallelChunks(M, minimumPerThread: 64) { rows in
    for m in rows {
        let x = inp + m * C, y = out + m * C
        var sum: Float = 0
        for c in 0..<C { sum += x[c] }
        let mu = sum / Float(C)
        var v: Float = 0
        for c in 0..<C { let d = x[c] - mu; v += d * d }
        let s = 1 / (v / Float(C) + eps).squareRoot()
        for c in 0..<C { y[c] = (x[c] - mu) * s * weight[c] + bias[c] }
        mean[m] = mu
        rstd[m] = s
    }
    }
}

public func layerNormBackward(_ dinp: FloatPointer, _ dweight: FloatPointer, _ dbias: FloatPointer,
                              _ dout: FloatPointer, _ inp: FloatPointer, _ weight: FloatPointer,
                              _ mean: FloatPointer, _ rstd: FloatPointer, _ M: Int, _ C: Int) {
    let threads = chunkThreads(M, 64)
    let partial = FloatPointer.allocate(capacity: 2 * C * threads)
    partial.initialize(repeating: 0, count: 2 * C * threads)
    defer { partial.deallocate() }
    parallelChunksIndexed(M, minimumPerThread: 64) { rows, t in
    let dweight = partial + 2 * C * t, dbias = partial + 2 * C * t + C
    for m in rows {
        let dy = dout + m * C, x = inp + m * C, dx = dinp + m * C
        let mu = mean[m], s = rstd[m]
        var dnormMean: Float = 0, dnormNormMean: Float = 0
        for c in 0..<C {
            let norm = (x[c] - mu) * s
            let dnorm = weight[c] * dy[c]
            dnormMean += dnorm
            dnormNormMean += dnorm * norm
        }
        dnormMean /= Float(C)
        dnormNormMean /= Float(C)
        for c in 0..<C {
            let norm = (x[c] - mu) * s
            let dnorm = weight[c] * dy[c]
            dbias[c] += dy[c]
            dweight[c] += norm * dy[c]
            dx[c] += (dnorm - dnormMean - norm * dnormNormMean) * s
        }
    }
    }
    for t in 0..<threads {
        for c in 0..<C { dweight[c] += partial[2 * C * t + c]; dbias[c] += partial[2 * C * t + C + c] }
    }
}

// MARK: - GELU (exact, erf)

public func geluForward(_ out: FloatPointer, _ inp: FloatPointer, _ count: Int) {
    parallelChunks(count) { range in
        for i in range {
            let x = inp[i]
            out[i] = 0.5 * x * (1 + erff(x * 0.70710678118654752))
        }
    }
}

/// dinp += dout * gelu'(inp)
public func geluBackward(_ dinp: FloatPointer, _ inp: FloatPointer, _ dout: FloatPointer, _ count: Int) {
    parallelChunks(count) { range in
        for i in range {
            let x = inp[i]
            let cdf = 0.5 * (1 + erff(x * 0.70710678118654752))
            let pdf = 0.3989422804014327 * expf(-0.5 * x * x)
            dinp[i] += dout[i] * (cdf + x * pdf)
        }
    }
}

// MARK: - Residual add, dropout

/// out = a + b
public func addForward(_ out: FloatPointer, _ a: FloatPointer, _ b: FloatPointer, _ count: Int) {
    for i in 0..<count { out[i] = a[i] + b[i] }
}

/// In place: x *= mask, where mask holds 0 or 1/(1-p) (drawn by the caller, seeded).
public func dropoutForward(_ x: FloatPointer, _ mask: FloatPointer, _ count: Int) {
    for i in 0..<count { x[i] *= mask[i] }
}

/// In place on the gradient: dx *= mask.
public func dropoutBackward(_ dx: FloatPointer, _ mask: FloatPointer, _ count: Int) {
    for i in 0..<count { dx[i] *= mask[i] }
}

// MARK: - Embeddings

/// out[M,E] = word[ids[m]] + position[m % L] + tokenType[segments[m]]
public func embeddingForward(_ out: FloatPointer, _ ids: UnsafePointer<Int32>, _ segments: UnsafePointer<Int32>,
                             _ word: FloatPointer, _ position: FloatPointer, _ tokenType: FloatPointer,
                             _ B: Int, _ L: Int, _ E: Int) {
    for b in 0..<B {
        for t in 0..<L {
            let m = b * L + t
            let y = out + m * E, w = word + Int(ids[m]) * E, p = position + t * E, s = tokenType + Int(segments[m]) * E
            for e in 0..<E { y[e] = w[e] + p[e] + s[e] }
        }
    }
}

public func embeddingBackward(_ dword: FloatPointer, _ dposition: FloatPointer, _ dtokenType: FloatPointer,
                              _ dout: FloatPointer, _ ids: UnsafePointer<Int32>, _ segments: UnsafePointer<Int32>,
                              _ B: Int, _ L: Int, _ E: Int) {
    for b in 0..<B {
        for t in 0..<L {
            let m = b * L + t
            let dy = dout + m * E, w = dword + Int(ids[m]) * E, p = dposition + t * E, s = dtokenType + Int(segments[m]) * E
            for e in 0..<E { w[e] += dy[e]; p[e] += dy[e]; s[e] += dy[e] }
        }
    }
}

// MARK: - Gather (the generator head runs only at masked positions)

/// out[P,C] = inp[rows[p], :]
public func gatherRowsForward(_ out: FloatPointer, _ inp: FloatPointer, _ rows: [Int], _ C: Int) {
    for (p, r) in rows.enumerated() { (out + p * C).update(from: inp + r * C, count: C) }
}

/// dinp[rows[p], :] += dout[p, :]
public func gatherRowsBackward(_ dinp: FloatPointer, _ dout: FloatPointer, _ rows: [Int], _ C: Int) {
    for (p, r) in rows.enumerated() {
        let d = dinp + r * C, g = dout + p * C
        for c in 0..<C { d[c] += g[c] }
    }
}

// MARK: - Multi-head self-attention

/// ctx[B*L, H] from q, k, v [B*L, H] with NH heads of size D = H/NH; softmax probabilities
/// saved in probs[B,NH,L,L]. Keys where `attention[b*L + j] == 0` (padding) get probability 0.
/// With `dropMask` ([B,NH,L,L], entries 0 or 1/(1-p)), the probabilities are dropped out after
/// the softmax as in BERT; the dropped ones are written to `dropped` (same shape) and used for ctx.
public func attentionForward(_ ctx: FloatPointer, _ probs: FloatPointer, _ dropped: FloatPointer?,
                             _ q: FloatPointer, _ k: FloatPointer, _ v: FloatPointer,
                             _ attention: UnsafePointer<Int32>, _ dropMask: FloatPointer?,
                             _ B: Int, _ L: Int, _ H: Int, _ NH: Int) {
    let D = H / NH
    let scale = 1 / Float(D).squareRoot()
    parallelItems(B * NH) { item in
            let b = item / NH, h = item % NH
            let P = probs + (b * NH + h) * L * L
            let off = b * L * H + h * D
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(L), Int32(L), Int32(D),
                        scale, q + off, Int32(H), k + off, Int32(H), 0, P, Int32(L))
            for i in 0..<L {
                let row = P + i * L
                var maxv = -Float.greatestFiniteMagnitude
                for j in 0..<L where attention[b * L + j] != 0 { maxv = max(maxv, row[j]) }
                var sum: Float = 0
                for j in 0..<L {
                    if attention[b * L + j] != 0 {
                        let e = expf(row[j] - maxv)
                        row[j] = e
                        sum += e
                    } else {
                        row[j] = 0
                    }
                }
                let inv = sum > 0 ? 1 / sum : 0
                for j in 0..<L { row[j] *= inv }
            }
            var used = P
            if let dropMask, let dropped {
                let m = dropMask + (b * NH + h) * L * L, out = dropped + (b * NH + h) * L * L
                for i in 0..<(L * L) { out[i] = P[i] * m[i] }
                used = out
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(L), Int32(D), Int32(L),
                        1, used, Int32(L), v + off, Int32(H), 0, ctx + off, Int32(H))
    }
}

/// Backward of `attentionForward` (same `probs`, `dropped` and `dropMask`); accumulates into
/// dq, dk, dv. `scratch` needs L*L*maxComputeThreads floats.
public func attentionBackward(_ dq: FloatPointer, _ dk: FloatPointer, _ dv: FloatPointer,
                              _ dctx: FloatPointer, _ probs: FloatPointer, _ dropped: FloatPointer?,
                              _ q: FloatPointer, _ k: FloatPointer, _ v: FloatPointer,
                              _ dropMask: FloatPointer?, _ scratch: FloatPointer,
                              _ B: Int, _ L: Int, _ H: Int, _ NH: Int) {
    let D = H / NH
    let scale = 1 / Float(D).squareRoot()
    let threads = min(computeThreads, B * NH)
    parallelItems(B * NH) { item in
            let b = item / NH, h = item % NH
            let P = probs + (b * NH + h) * L * L
            let off = b * L * H + h * D
            var used = P
            if dropMask != nil, let dropped { used = dropped + (b * NH + h) * L * L }
            let dP = scratch + (item % max(threads, 1)) * L * L
            // dP = dctx · vᵀ ; dv += P_usedᵀ · dctx
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(L), Int32(L), Int32(D),
                        1, dctx + off, Int32(H), v + off, Int32(H), 0, dP, Int32(L))
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(L), Int32(D), Int32(L),
                        1, used, Int32(L), dctx + off, Int32(H), 1, dv + off, Int32(H))
            if let dropMask {
                let m = dropMask + (b * NH + h) * L * L
                for i in 0..<(L * L) { dP[i] *= m[i] }
            }
            // Softmax backward per row, with the scale of the scores folded in.
            for i in 0..<L {
                let row = P + i * L, drow = dP + i * L
                var dot: Float = 0
                for j in 0..<L { dot += row[j] * drow[j] }
                for j in 0..<L { drow[j] = row[j] * (drow[j] - dot) * scale }
            }
            // dq += dS · k ; dk += dSᵀ · q
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(L), Int32(D), Int32(L),
                        1, dP, Int32(L), k + off, Int32(H), 1, dq + off, Int32(H))
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(L), Int32(D), Int32(L),
                        1, dP, Int32(L), q + off, Int32(H), 1, dk + off, Int32(H))
    }
}

// MARK: - Losses

/// Softmax cross-entropy over V classes for P rows, weighted: loss = Σ w·ce / (Σ w + 1e-6).
/// Writes dlogits = (softmax - onehot) · w / (Σ w + 1e-6) · dloss when `dlogits` is given.
/// - Returns: the loss.
public func softmaxCrossEntropy(_ dlogits: FloatPointer?, _ logits: FloatPointer, _ targets: [Int32],
                                _ weights: [Float], _ P: Int, _ V: Int, dloss: Float = 1) -> Float {
    let denominator = weights.reduce(0, +) + 1e-6
    var loss: Double = 0
    for p in 0..<P {
        let row = logits + p * V
        var maxv = -Float.greatestFiniteMagnitude
        for i in 0..<V { maxv = max(maxv, row[i]) }
        var sum: Float = 0
        for i in 0..<V { sum += expf(row[i] - maxv) }
        let logZ = maxv + logf(sum)
        let target = Int(targets[p])
        loss += Double(weights[p] * (logZ - row[target]))
        if let dlogits {
            let d = dlogits + p * V
            let scale = weights[p] / denominator * dloss
            for i in 0..<V { d[i] = expf(row[i] - logZ) * scale }
            d[target] -= scale
        }
    }
    return Float(loss / Double(denominator))
}

/// Sigmoid binary cross-entropy over M logits with 0/1 labels and weights (the non-pad mask):
/// loss = Σ w·bce / (Σ w + 1e-6); dlogits = (σ(x) - y) · w / (Σ w + 1e-6) · dloss.
public func sigmoidCrossEntropy(_ dlogits: FloatPointer?, _ logits: FloatPointer, _ labels: [Float],
                                _ weights: [Float], _ M: Int, dloss: Float = 1) -> Float {
    let denominator = weights.reduce(0, +) + 1e-6
    var loss: Double = 0
    for m in 0..<M {
        let x = logits[m], y = labels[m]
        // Stable: max(x,0) - x·y + log(1 + e^{-|x|})
        let l = max(x, 0) - x * y + log1pf(expf(-abs(x)))
        loss += Double(weights[m] * l)
        if let dlogits {
            let s = 1 / (1 + expf(-x))
            dlogits[m] = (s - y) * weights[m] / denominator * dloss
        }
    }
    return Float(loss / Double(denominator))
}

// MARK: - Threads

/// Threads used by the kernels (OpenBLAS and the element-wise loops).
nonisolated(unsafe) public private(set) var computeThreads = 1

/// Sets the number of threads OpenBLAS and the element-wise kernels use.
public func setComputeThreads(_ count: Int) {
    computeThreads = min(max(1, count), maxComputeThreads)
    openblas_set_num_threads(Int32(computeThreads))
}

/// Runs `body` over `0..<count` split into `computeThreads` contiguous chunks in parallel.
/// Chunks are fixed by the count and thread number, so results never depend on timing.
@inline(__always)
public func parallelChunks(_ count: Int, minimumPerThread: Int = 4096, _ body: (Range<Int>) -> Void) {
    parallelChunksIndexed(count, minimumPerThread: minimumPerThread) { range, _ in body(range) }
}

/// `parallelChunks` that also passes the chunk number (0..<threads used).
@inline(__always)
public func parallelChunksIndexed(_ count: Int, minimumPerThread: Int = 4096, _ body: (Range<Int>, Int) -> Void) {
    let threads = chunkThreads(count, minimumPerThread)
    if threads <= 1 { body(0..<count, 0); return }
    DispatchQueue.concurrentPerform(iterations: threads) { t in
        body((count * t / threads)..<(count * (t + 1) / threads), t)
    }
}

/// How many chunks `parallelChunks` uses for `count` items.
@inline(__always)
public func chunkThreads(_ count: Int, _ minimumPerThread: Int) -> Int {
    min(computeThreads, max(1, count / max(1, minimumPerThread)))
}

/// The most threads the kernels use (scratch buffers are sized for it).
public let maxComputeThreads = 32

/// Runs independent items in parallel, each calling OpenBLAS single-threaded (so the threads
/// do not oversubscribe the cores), then restores the BLAS thread count.
public func parallelItems(_ count: Int, _ body: (Int) -> Void) {
    let threads = min(computeThreads, count)
    if threads <= 1 { for i in 0..<count { body(i) }; return }
    openblas_set_num_threads(1)
    DispatchQueue.concurrentPerform(iterations: threads) { t in
        for i in stride(from: t, to: count, by: threads) { body(i) }
    }
    openblas_set_num_threads(Int32(computeThreads))
}
