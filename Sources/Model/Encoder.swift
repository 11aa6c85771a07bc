// One transformer encoder (the discriminator's or the generator's) over the shared embeddings:
// forward top to bottom, backward the same list reversed (llm.c style). Layer layout as BERT /
// HuggingFace ElectraLayer: self-attention, dense, dropout, residual + LayerNorm, then
// intermediate dense + GELU, dense, dropout, residual + LayerNorm.
import Kernels
import Randomness

/// An encoder's activations (sized once for B x L) and the code that runs it.
final class Encoder {
    let shape: EncoderShape
    let offsets: EncoderOffsets
    let B: Int, L: Int, M: Int
    private let arena: Arena

    // Embeddings: sum, LayerNorm (+ dropout in place), projection.
    private let embSum, embOut, embMean, embRstd: UnsafeMutablePointer<Float>
    private let projected: UnsafeMutablePointer<Float>
    /// Per layer: the fused q|k|v projection [M, 3H], the attention probabilities before dropout,
    /// the context, the two residual sums (after dropout) with their LayerNorm outputs and
    /// statistics, the FFN pre-activation and its GELU.
    private struct LayerActivations {
        let qkv, probs, ctx, res1, ln1, mean1, rstd1, inter, act, res2, ln2, mean2, rstd2: UnsafeMutablePointer<Float>
    }
    private let layers: [LayerActivations]
    /// Dropout of the last forward: probability and one seed per site (the masks are regenerated
    /// from them in backward, nothing else is stored).
    private var dropP: Float = 0
    private var backwardReady = false
    private var embSeed: UInt64 = 0
    private var seeds: [(attention: UInt64, attentionOutput: UInt64, output: UInt64)] = []
    // Gradient scratch, reused by every layer.
    let outputGradient: UnsafeMutablePointer<Float>
    private let gRes, gLn1, gF, gqkv, gctx, scratch, gEmb, gEmbSum: UnsafeMutablePointer<Float>

    init(shape: EncoderShape, offsets: EncoderOffsets, B: Int, L: Int, dropout: Float) {
        self.shape = shape
        self.offsets = offsets
        self.B = B
        self.L = L
        let M = B * L
        self.M = M
        let H = shape.H, F = shape.F, E = shape.E, NH = shape.NH
        let attention = B * NH * L * L
        let perLayer = 8 * M * H + 2 * M * F + 4 * M + attention
        let total = 2 * M * E + 2 * M + (shape.projects ? M * H : 0) + shape.layers * perLayer
            + 8 * M * H + M * F + attentionScratchCount(L) + 2 * M * E
        arena = Arena(floats: total)
        let a = arena
        embSum = a.take(M * E); embOut = a.take(M * E); embMean = a.take(M); embRstd = a.take(M)
        projected = shape.projects ? a.take(M * H) : embOut
        layers = (0..<shape.layers).map { _ in
            LayerActivations(qkv: a.take(3 * M * H), probs: a.take(attention), ctx: a.take(M * H),
                             res1: a.take(M * H), ln1: a.take(M * H), mean1: a.take(M), rstd1: a.take(M),
                             inter: a.take(M * F), act: a.take(M * F),
                             res2: a.take(M * H), ln2: a.take(M * H), mean2: a.take(M), rstd2: a.take(M))
        }
        outputGradient = a.take(M * H)
        gRes = a.take(M * H); gLn1 = a.take(M * H); gqkv = a.take(3 * M * H); gctx = a.take(M * H)
        gF = a.take(M * F); scratch = a.take(attentionScratchCount(L))
        gEmb = shape.projects ? a.take(M * E) : outputGradient
        gEmbSum = a.take(M * E)
    }

    /// Runs the encoder; returns its output [M, H] (valid until the next forward). With p > 0,
    /// one dropout seed per site is drawn from `rng`. `backward` may follow only when
    /// `keepForBackward` (GELU's derivative is then kept in place of its input).
    func forward(ids: [Int32], segments: [Int32], attention: [Int32], shared s: SharedEmbeddings,
                 config: ElectraConfig, w: UnsafeMutablePointer<Float>, dropout p: Float, keepForBackward: Bool,
                 rng: inout Xoshiro256) -> UnsafeMutablePointer<Float> {
        let H = shape.H, F = shape.F, E = shape.E, NH = shape.NH, eps = config.layerNormEps
        dropP = p
        backwardReady = keepForBackward
        embSeed = p > 0 ? rng.next() : 0
        seeds = offsets.layers.map { _ in p > 0 ? (rng.next(), rng.next(), rng.next()) : (0, 0, 0) }
        ids.withUnsafeBufferPointer { idp in
            segments.withUnsafeBufferPointer { sp in
                timed("embedding forward") { embeddingForward(embSum, idp.baseAddress!, sp.baseAddress!, w + s.word, w + s.position, w + s.tokenType, B, L, E) }
            }
        }
        timed("layerNorm forward") { layerNormForward(embOut, embMean, embRstd, embSum, w + s.lnWeight, w + s.lnBias, M, E, eps: eps) }
        timed("dropout") { dropoutApply(embOut, M * E, p: p, seed: embSeed) }
        if let proj = offsets.projection, let projB = offsets.projectionBias {
            timed("linear forward") { linearForward(projected, embOut, w + proj, w + projB, M, E, H) }
        }
        var inp = projected
        attention.withUnsafeBufferPointer { att in
            for (l, o) in offsets.layers.enumerated() {
                let x = layers[l], seed = seeds[l]
                timed("linear forward") { linearForward(x.qkv, inp, w + o.q, w + o.qb, M, H, 3 * H) }
                timed("attention forward") {
                    attentionForward(x.ctx, x.probs, x.qkv, x.qkv + H, x.qkv + 2 * H, ld: 3 * H, att.baseAddress!,
                                     B, L, H, NH, dropout: p, seed: seed.attention, scratch: scratch)
                }
                // Biases of the dense layers are added by the pass after each (GELU, dropout + residual).
                timed("linear forward") { linearForward(x.res1, x.ctx, w + o.ao, nil, M, H, H) }
                timed("dropout + residual") { dropoutResidualForward(x.res1, inp, M * H, p: p, seed: seed.attentionOutput,
                                                                     bias: w + o.aob, width: H) }
                timed("layerNorm forward") { layerNormForward(x.ln1, x.mean1, x.rstd1, x.res1, w + o.ln1w, w + o.ln1b, M, H, eps: eps) }
                timed("linear forward") { linearForward(x.inter, x.ln1, w + o.i, nil, M, H, F) }
                timed("gelu forward") { biasGeluForward(x.act, x.inter, w + o.ib, M, F, derivative: keepForBackward ? x.inter : nil) }
                timed("linear forward") { linearForward(x.res2, x.act, w + o.o, nil, M, F, H) }
                timed("dropout + residual") { dropoutResidualForward(x.res2, x.ln1, M * H, p: p, seed: seed.output,
                                                                     bias: w + o.ob, width: H) }
                timed("layerNorm forward") { layerNormForward(x.ln2, x.mean2, x.rstd2, x.res2, w + o.ln2w, w + o.ln2b, M, H, eps: eps) }
                inp = x.ln2
            }
        }
        return inp
    }

    /// Backward from `outputGradient` (filled by the head) down to the shared embeddings;
    /// accumulates into `g`. Uses the activations of the last `forward`.
    func backward(ids: [Int32], segments: [Int32], attention: [Int32], shared s: SharedEmbeddings,
                  config: ElectraConfig, w: UnsafeMutablePointer<Float>, g: UnsafeMutablePointer<Float>) {
        precondition(backwardReady, "Encoder.backward needs a forward with keepForBackward")
        let H = shape.H, F = shape.F, E = shape.E, NH = shape.NH, p = dropP
        let gOut = outputGradient
        for l in stride(from: offsets.layers.count - 1, through: 0, by: -1) {
            let o = offsets.layers[l], x = layers[l], seed = seeds[l]
            let inp = l == 0 ? projected : layers[l - 1].ln2
            // ln2 = LayerNorm(res2), res2 = dropout(ffn) + ln1.
            timed("layerNorm backward") { layerNormBackward(gRes, g + o.ln2w, g + o.ln2b, gOut, x.res2, w + o.ln2w, x.mean2, x.rstd2, M, H, overwrite: true) }
            timed("dropout + residual") { dropoutResidualBackward(gRes, gLn1, M * H, p: p, seed: seed.output) }
            linearBackward(gF, g + o.o, g + o.ob, gRes, x.act, w + o.o, M, F, H, overwrite: true)
            timed("gelu backward") { geluBackwardSaved(gF, x.inter, M * F) }   // x.inter holds gelu'(inter)
            linearBackward(gLn1, g + o.i, g + o.ib, gF, x.ln1, w + o.i, M, H, F)
            // ln1 = LayerNorm(res1), res1 = dropout(attention output) + inp.
            timed("layerNorm backward") { layerNormBackward(gRes, g + o.ln1w, g + o.ln1b, gLn1, x.res1, w + o.ln1w, x.mean1, x.rstd1, M, H, overwrite: true) }
            // The residual path to the layer input gets gRes as it is, the attention output its dropout.
            timed("dropout + residual") { dropoutResidualBackward(gRes, gOut, M * H, p: p, seed: seed.attentionOutput) }
            linearBackward(gctx, g + o.ao, g + o.aob, gRes, x.ctx, w + o.ao, M, H, H, overwrite: true)
            timed("attention backward") {
                attentionBackward(gqkv, gqkv + H, gqkv + 2 * H, gctx, x.probs, x.qkv, x.qkv + H, x.qkv + 2 * H, ld: 3 * H,
                                  B, L, H, NH, dropout: p, seed: seed.attention, scratch: scratch)
            }
            linearBackward(gOut, g + o.q, g + o.qb, gqkv, inp, w + o.q, M, H, 3 * H)
        }
        if let proj = offsets.projection, let projB = offsets.projectionBias {
            linearBackward(gEmb, g + proj, g + projB, gOut, embOut, w + proj, M, E, H, overwrite: true)
        }
        timed("dropout") { dropoutApply(gEmb, M * E, p: p, seed: embSeed) }
        timed("layerNorm backward") {
            layerNormBackward(gEmbSum, g + s.lnWeight, g + s.lnBias, gEmb, embSum, w + s.lnWeight, embMean, embRstd, M, E,
                              overwrite: true)
        }
        // The padding row of the word embeddings gets no gradient (nn.Embedding padding_idx).
        let pad = config.padID
        ids.withUnsafeBufferPointer { idp in
            segments.withUnsafeBufferPointer { sp in
                for m in 0..<M where idp[m] == pad {
                    let row = gEmbSum + m * E
                    // Position and token-type still get it: add them here, then clear the row.
                    let t = m % L
                    for e in 0..<E {
                        g[s.position + t * E + e] += row[e]
                        g[s.tokenType + Int(sp[m]) * E + e] += row[e]
                        row[e] = 0
                    }
                }
                timed("embedding backward") { embeddingBackward(g + s.word, g + s.position, g + s.tokenType, gEmbSum, idp.baseAddress!, sp.baseAddress!, B, L, E) }
            }
        }
    }
}

/// The generator and discriminator heads' activations and parameter offsets.
final class Heads {
    let genDenseW, genDenseB, genLNW, genLNB, lmBias, discDenseW, discDenseB, discOutW, discOutB: Int
    let genGathered, genDense, genAct, genLN, genLNMean, genLNRstd, genLogits, dGenLogits: UnsafeMutablePointer<Float>
    let dGenLN, dGenAct, dGenGathered: UnsafeMutablePointer<Float>
    /// One vocabulary row per thread for sampling's exponentials.
    let sampleRows: UnsafeMutablePointer<Float>
    let discDense, discAct, discLogits, dDiscLogits, dDiscAct: UnsafeMutablePointer<Float>
    private let arena: Arena

    init(M: Int, P: Int, V: Int, E: Int, H: Int, Hg: Int, discDense dd: Int, discDenseBias ddb: Int, discOut: Int,
         discOutBias: Int, genDense gd: Int, genDenseBias gdb: Int, genLNWeight: Int, genLNBias: Int, lmBias lm: Int) {
        genDenseW = gd; genDenseB = gdb; genLNW = genLNWeight; genLNB = genLNBias; lmBias = lm
        discDenseW = dd; discDenseB = ddb; discOutW = discOut; discOutB = discOutBias
        arena = Arena(floats: 2 * P * Hg + 5 * P * E + 2 * P + 2 * P * V + 3 * M * H + 2 * M + V * maxComputeThreads)
        let a = arena
        genGathered = a.take(P * Hg); genDense = a.take(P * E); genAct = a.take(P * E); genLN = a.take(P * E)
        genLNMean = a.take(P); genLNRstd = a.take(P); genLogits = a.take(P * V); dGenLogits = a.take(P * V)
        dGenLN = a.take(P * E); dGenAct = a.take(P * E); dGenGathered = a.take(P * Hg)
        sampleRows = a.take(V * maxComputeThreads)
        discDense = a.take(M * H); discAct = a.take(M * H); discLogits = a.take(M); dDiscLogits = a.take(M)
        dDiscAct = a.take(M * H)
    }
}
