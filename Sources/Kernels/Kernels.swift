// The numerical kernels of the ELECTRA model, in forward/backward pairs in the manner of llm.c
// (train_gpt2.c): free functions, one argument order everywhere (outputs, inputs, weights,
// dimensions), backward passes ACCUMULATE (+=) into gradients unless told to overwrite.
// Dimensions: M rows (B*L or the P masked rows), C channels, N output channels, V vocabulary.
// Linear weights are stored [out, in] as PyTorch does; matrix products go through `gemm`;
// element-wise work runs eight lanes at a time (VectorMath) and is split over the threads.
import Foundation

// MARK: - Linear

/// out[M,N] = inp[M,C] · weight[N,C]ᵀ + bias[N]   (rows of `out` are `ldo` apart, default N)
public func linearForward(_ out: FloatPointer, _ inp: UnsafePointer<Float>, _ weight: UnsafePointer<Float>,
                          _ bias: UnsafePointer<Float>?, _ M: Int, _ C: Int, _ N: Int) {
    if let bias {
        parallelChunks(M, minimumPerThread: 256) { rows in
            for m in rows { (out + m * N).update(from: bias, count: N) }
        }
    }
    gemm(transA: false, transB: true, M, N, C, inp, C, weight, C, beta: bias == nil ? 0 : 1, out, N)
}

/// dinp[M,C] += dout[M,N] · weight[N,C] (or = with `overwrite`);  dweight[N,C] += doutᵀ · inp;
/// dbias[N] += Σ_m dout.
public func linearBackward(_ dinp: FloatPointer?, _ dweight: FloatPointer, _ dbias: FloatPointer?,
                           _ dout: UnsafePointer<Float>, _ inp: UnsafePointer<Float>, _ weight: UnsafePointer<Float>,
                           _ M: Int, _ C: Int, _ N: Int, overwrite: Bool = false) {
    if let dinp {
        gemm(transA: false, transB: false, M, C, N, dout, N, weight, C, beta: overwrite ? 0 : 1, dinp, C)
    }
    gemm(transA: true, transB: false, N, C, M, dout, N, inp, C, beta: 1, dweight, C)
    if let dbias { columnSums(dbias, dout, M, N) }
}

/// sums[N] += Σ_m x[m, :]: each thread adds its chunk of rows into a partial row, the partials
/// are then added in thread order.
func columnSums(_ sums: FloatPointer, _ x: UnsafePointer<Float>, _ M: Int, _ N: Int) {
    let threads = chunkThreads(M, max(1, 32_768 / max(N, 1)))
    let partial = FloatPointer.allocate(capacity: N * threads)
    partial.initialize(repeating: 0, count: N * threads)
    defer { partial.deallocate() }
    let body = N / 8 * 8
    parallelChunksIndexed(M, minimumPerThread: max(1, 32_768 / max(N, 1))) { rows, t in
        let acc = partial + t * N
        for m in rows {
            let row = x + m * N
            var n = 0
            while n < body { store8(load8(acc + n) + load8(row + n), acc + n); n += 8 }
            while n < N { acc[n] += row[n]; n += 1 }
        }
    }
    for t in 0..<threads {
        let acc = partial + t * N
        for n in 0..<N { sums[n] += acc[n] }
    }
}

// MARK: - LayerNorm

/// out = (inp - mean) * rstd * weight + bias per row of C; saves mean[M] and rstd[M].
public func layerNormForward(_ out: FloatPointer, _ mean: FloatPointer, _ rstd: FloatPointer,
                             _ inp: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>,
                             _ M: Int, _ C: Int, eps: Float) {
    let body = C / 8 * 8
    parallelChunks(M, minimumPerThread: 64) { rows in
        for m in rows {
            let x = inp + m * C, y = out + m * C
            let mu = vectorSum(x, C) / Float(C)
            let muv = Vector8(repeating: mu)
            var acc = Vector8()
            var c = 0
            while c < body { let d = load8(x + c) - muv; acc += d * d; c += 8 }
            var v = acc.sum()
            while c < C { let d = x[c] - mu; v += d * d; c += 1 }
            let s = 1 / (v / Float(C) + eps).squareRoot()
            let sv = Vector8(repeating: s)
            c = 0
            while c < body { store8((load8(x + c) - muv) * sv * load8(weight + c) + load8(bias + c), y + c); c += 8 }
            while c < C { y[c] = (x[c] - mu) * s * weight[c] + bias[c]; c += 1 }
            mean[m] = mu
            rstd[m] = s
        }
    }
}

/// dinp += ∂/∂inp (or = with `overwrite`), dweight += Σ norm·dout, dbias += Σ dout.
public func layerNormBackward(_ dinp: FloatPointer, _ dweight: FloatPointer, _ dbias: FloatPointer,
                              _ dout: UnsafePointer<Float>, _ inp: UnsafePointer<Float>, _ weight: UnsafePointer<Float>,
                              _ mean: UnsafePointer<Float>, _ rstd: UnsafePointer<Float>, _ M: Int, _ C: Int,
                              overwrite: Bool = false) {
    let threads = chunkThreads(M, 64)
    let partial = FloatPointer.allocate(capacity: 2 * C * threads)
    partial.initialize(repeating: 0, count: 2 * C * threads)
    defer { partial.deallocate() }
    let body = C / 8 * 8
    parallelChunksIndexed(M, minimumPerThread: 64) { rows, t in
        let dw = partial + 2 * C * t, db = partial + 2 * C * t + C
        for m in rows {
            let dy = dout + m * C, x = inp + m * C, dx = dinp + m * C
            let mu = mean[m], s = rstd[m]
            let muv = Vector8(repeating: mu), sv = Vector8(repeating: s)
            var a1 = Vector8(), a2 = Vector8()
            var c = 0
            while c < body {
                let norm = (load8(x + c) - muv) * sv
                let dnorm = load8(weight + c) * load8(dy + c)
                a1 += dnorm
                a2 += dnorm * norm
                c += 8
            }
            var dnormMean = a1.sum(), dnormNormMean = a2.sum()
            while c < C {
                let norm = (x[c] - mu) * s
                let dnorm = weight[c] * dy[c]
                dnormMean += dnorm
                dnormNormMean += dnorm * norm
                c += 1
            }
            dnormMean /= Float(C)
            dnormNormMean /= Float(C)
            let dm = Vector8(repeating: dnormMean), dnm = Vector8(repeating: dnormNormMean)
            c = 0
            while c < body {
                let g = load8(dy + c)
                let norm = (load8(x + c) - muv) * sv
                let dnorm = load8(weight + c) * g
                store8(load8(db + c) + g, db + c)
                store8(load8(dw + c) + norm * g, dw + c)
                let d = (dnorm - dm - norm * dnm) * sv
                store8(overwrite ? d : load8(dx + c) + d, dx + c)
                c += 8
            }
            while c < C {
                let norm = (x[c] - mu) * s
                let dnorm = weight[c] * dy[c]
                db[c] += dy[c]
                dw[c] += norm * dy[c]
                let d = (dnorm - dnormMean - norm * dnormNormMean) * s
                dx[c] = overwrite ? d : dx[c] + d
                c += 1
            }
        }
    }
    for t in 0..<threads {
        for c in 0..<C { dweight[c] += partial[2 * C * t + c]; dbias[c] += partial[2 * C * t + C + c] }
    }
}

// MARK: - GELU (exact, erf)

/// Φ(x), the standard normal CDF, and φ(x), its density, on eight lanes, sharing one exponential:
/// Φ(x) = 1 - ½·erfc(x/√2) for x ≥ 0 (½·erfc(|x|/√2) below), with erfc(z) = t·poly(t)·e^{-z²},
/// t = 1/(1 + 0.3275911·z) (Abramowitz & Stegun 7.1.26, |error of erf| ≤ 1.5e-7), and
/// e^{-z²} = e^{-x²/2} = √(2π)·φ(x).
@inline(__always) func normalCDFAndPDF8(_ x: Vector8) -> (cdf: Vector8, pdf: Vector8) {
    let z = x.replacing(with: -x, where: x .< 0) * 0.707_106_781_186_547_5
    let g = exp8(-z * z)
    let t = 1 / (1 + 0.327_591_1 * z)
    var poly = Vector8(repeating: 1.061_405_429)
    poly = poly * t - 1.453_152_027
    poly = poly * t + 1.421_413_741
    poly = poly * t - 0.284_496_736
    poly = poly * t + 0.254_829_592
    let tail = 0.5 * (poly * t) * g          // ½·erfc(|x|/√2) = Φ(-|x|)
    let cdf = tail.replacing(with: 1 - tail, where: x .>= 0)
    return (cdf, g * 0.398_942_280_401_432_7)
}

/// out = gelu(inp) = inp · Φ(inp), element-wise (exact GELU, erf form). With `derivative`, also
/// writes gelu'(inp) = Φ + inp·φ there (the backward is then one multiplication,
/// `geluBackwardSaved`); `derivative` may be `inp` itself.
public func geluForward(_ out: FloatPointer, _ inp: UnsafePointer<Float>, _ count: Int, derivative: FloatPointer? = nil) {
    parallelChunks(count / 8) { blocks in
        geluRun(out + 8 * blocks.lowerBound, inp + 8 * blocks.lowerBound, 8 * blocks.count, nil,
                derivative.map { $0 + 8 * blocks.lowerBound })
    }
    let tail = count / 8 * 8
    geluRun(out + tail, inp + tail, count - tail, nil, derivative.map { $0 + tail })
}

/// `geluForward` of inp + bias, for M rows of N (the bias of the linear layer that wrote inp,
/// which then skips it): one pass instead of two.
public func biasGeluForward(_ out: FloatPointer, _ inp: UnsafePointer<Float>, _ bias: UnsafePointer<Float>, _ M: Int, _ N: Int,
                            derivative: FloatPointer? = nil) {
    parallelChunks(M, minimumPerThread: max(1, 32_768 / max(N, 1))) { rows in
        for m in rows { geluRun(out + m * N, inp + m * N, N, bias, derivative.map { $0 + m * N }) }
    }
}

/// GELU over `count` floats (plus `bias`, indexed from 0, when given).
@inline(__always) func geluRun(_ out: FloatPointer, _ inp: UnsafePointer<Float>, _ count: Int, _ bias: UnsafePointer<Float>?,
                               _ derivative: FloatPointer?) {
    var i = 0
    while i < count {
        let n = min(8, count - i)
        var x = n == 8 ? load8(inp + i) : loadPartial(inp + i, n)
        if let bias { x += n == 8 ? load8(bias + i) : loadPartial(bias + i, n) }
        let (cdf, pdf) = normalCDFAndPDF8(x)
        let y = x * cdf
        if n == 8 { store8(y, out + i) } else { storePartial(y, out + i, n) }
        if let derivative {
            let d = cdf + x * pdf
            if n == 8 { store8(d, derivative + i) } else { storePartial(d, derivative + i, n) }
        }
        i += 8
    }
}

/// dinp = dout · gelu'(inp), element-wise, with the derivative `geluForward` saved; `dinp` may
/// be `dout` (in place).
public func geluBackwardSaved(_ dinp: FloatPointer, _ dout: UnsafePointer<Float>, _ derivative: UnsafePointer<Float>,
                              _ count: Int) {
    parallelChunks(count, minimumPerThread: 65_536) { range in
        var i = range.lowerBound
        while i + 8 <= range.upperBound { store8(load8(dout + i) * load8(derivative + i), dinp + i); i += 8 }
        while i < range.upperBound { dinp[i] = dout[i] * derivative[i]; i += 1 }
    }
}

// MARK: - Residual add (with dropout: Dropout.swift)

/// out = a + b
public func addForward(_ out: FloatPointer, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) {
    parallelChunks(count, minimumPerThread: 65_536) { range in
        for i in range { out[i] = a[i] + b[i] }
    }
}

// MARK: - Embeddings

/// out[M,E] = word[ids[m]] + position[m % L] + tokenType[segments[m]]
public func embeddingForward(_ out: FloatPointer, _ ids: UnsafePointer<Int32>, _ segments: UnsafePointer<Int32>,
                             _ word: UnsafePointer<Float>, _ position: UnsafePointer<Float>, _ tokenType: UnsafePointer<Float>,
                             _ B: Int, _ L: Int, _ E: Int) {
    parallelChunks(B * L, minimumPerThread: 256) { range in
        for m in range {
            let y = out + m * E, w = word + Int(ids[m]) * E, p = position + (m % L) * E, s = tokenType + Int(segments[m]) * E
            for e in 0..<E { y[e] = w[e] + p[e] + s[e] }
        }
    }
}

/// dword[ids[m]] += dout[m], dposition[m % L] += dout[m], dtokenType[segments[m]] += dout[m]
public func embeddingBackward(_ dword: FloatPointer, _ dposition: FloatPointer, _ dtokenType: FloatPointer,
                              _ dout: UnsafePointer<Float>, _ ids: UnsafePointer<Int32>, _ segments: UnsafePointer<Int32>,
                              _ B: Int, _ L: Int, _ E: Int) {
    for m in 0..<(B * L) {
        let dy = dout + m * E, w = dword + Int(ids[m]) * E, p = dposition + (m % L) * E, s = dtokenType + Int(segments[m]) * E
        for e in 0..<E { w[e] += dy[e]; p[e] += dy[e]; s[e] += dy[e] }
    }
}

// MARK: - Gather (the generator head runs only at masked positions)

/// out[P,C] = inp[rows[p], :]
public func gatherRowsForward(_ out: FloatPointer, _ inp: UnsafePointer<Float>, _ rows: [Int], _ C: Int) {
    for (p, r) in rows.enumerated() { (out + p * C).update(from: inp + r * C, count: C) }
}

/// dinp[rows[p], :] += dout[p, :]
public func gatherRowsBackward(_ dinp: FloatPointer, _ dout: UnsafePointer<Float>, _ rows: [Int], _ C: Int) {
    for (p, r) in rows.enumerated() {
        let d = dinp + r * C, g = dout + p * C
        for c in 0..<C { d[c] += g[c] }
    }
}

// MARK: - Losses

/// Softmax cross-entropy over V classes for P rows, weighted: loss = Σ w·ce / (Σ w + 1e-6), Σ w
/// being `weightSum` when given (a micro-batch's share of the whole batch's loss).
/// Writes dlogits = (softmax - onehot) · w / (Σ w + 1e-6) · dloss when `dlogits` is given.
/// (The sampling does not reuse this softmax: it runs without gradients too, and rows of weight
/// 0 keep none; `sampleForward` recomputes each row's exponentials.)
/// - Returns: the loss.
public func softmaxCrossEntropy(_ dlogits: FloatPointer?, _ logits: UnsafePointer<Float>, _ targets: [Int32],
                                _ weights: [Float], _ P: Int, _ V: Int, dloss: Float = 1, weightSum: Float? = nil) -> Float {
    let denominator = (weightSum ?? weights.reduce(0, +)) + 1e-6
    let rowLoss = FloatPointer.allocate(capacity: max(P, 1))
    defer { rowLoss.deallocate() }
    targets.withUnsafeBufferPointer { targets in
        weights.withUnsafeBufferPointer { weights in
            parallelChunks(P, minimumPerThread: 8) { range in
                for p in range {
                    let row = logits + p * V
                    let maxv = vectorMax(row, V)
                    let mv = Vector8(repeating: maxv)
                    var acc = Vector8()
                    var i = 0
                    // e^(x - max), kept in dlogits when there is one (then scaled, not recomputed).
                    if let d = dlogits.map({ $0 + p * V }) {
                        while i + 8 <= V { let e = exp8(load8(row + i) - mv); store8(e, d + i); acc += e; i += 8 }
                        while i < V { let e = expf1(row[i] - maxv); d[i] = e; acc[0] += e; i += 1 }
                    } else {
                        while i + 8 <= V { acc += exp8(load8(row + i) - mv); i += 8 }
                        while i < V { acc[0] += expf1(row[i] - maxv); i += 1 }
                    }
                    let sum = acc.sum()
                    let logZ = maxv + logf(sum)
                    let target = Int(targets[p])
                    rowLoss[p] = weights[p] * (logZ - row[target])
                    if let dlogits {
                        // (softmax - onehot) · w / Σw · dloss
                        let d = dlogits + p * V
                        let scale = weights[p] / denominator * dloss
                        let sv = Vector8(repeating: scale / sum)
                        map8(d, d, V) { $0 * sv }
                        d[target] -= scale
                    }
                }
            }
        }
    }
    var loss: Double = 0
    for p in 0..<P { loss += Double(rowLoss[p]) }
    return Float(loss / Double(denominator))
}

/// Sigmoid binary cross-entropy over M logits with 0/1 labels and weights (the non-pad mask):
/// loss = Σ w·bce / (Σ w + 1e-6) (Σ w: `weightSum` when given); dlogits = (σ(x) - y) · w / (Σ w + 1e-6) · dloss.
public func sigmoidCrossEntropy(_ dlogits: FloatPointer?, _ logits: UnsafePointer<Float>, _ labels: [Float],
                                _ weights: [Float], _ M: Int, dloss: Float = 1, weightSum: Float? = nil) -> Float {
    let denominator = (weightSum ?? weights.reduce(0, +)) + 1e-6
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
