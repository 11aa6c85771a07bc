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
    private let hasDropout: Bool

    // Embeddings: sum, LayerNorm (+ dropout in place), projection.
    private let embSum, embOut, embMean, embRstd: UnsafeMutablePointer<Float>
    private let embMask: UnsafeMutablePointer<Float>?
    private let projected: UnsafeMutablePointer<Float>
    private struct LayerActivations {
        let q, k, v, probs, ctx, attnOut, res1, ln1, mean1, rstd1, inter, act, ffn, res2, ln2, mean2, rstd2: UnsafeMutablePointer<Float>
        let dropped, attnMask, attnOutMask, ffnMask: UnsafeMutablePointer<Float>?
    }
    private let layers: [LayerActivations]
    private var dropoutUsed = false
    // Gradient scratch, reused by every layer.
    let outputGradient: UnsafeMutablePointer<Float>
    private let gRes, gLn1, gF1, gF2, gq, gk, gv, gctx, scratch, gEmb, gEmbSum: UnsafeMutablePointer<Float>

    init(shape: EncoderShape, offsets: EncoderOffsets, B: Int, L: Int, dropout: Float) {
        self.shape = shape
        self.offsets = offsets
        self.B = B
        self.L = L
        let M = B * L
        self.M = M
        hasDropout = dropout > 0
        let H = shape.H, F = shape.F, E = shape.E, NH = shape.NH
        let attention = B * NH * L * L
        let perLayer = 10 * M * H + 2 * M * F + 4 * M + attention + (hasDropout ? 2 * attention + 2 * M * H : 0)
        let total = 2 * M * E + 2 * M + (hasDropout ? M * E : 0) + (shape.projects ? M * H : 0)
            + shape.layers * perLayer + 8 * M * H + 2 * M * F + L * L * maxComputeThreads + 2 * M * E
        arena = Arena(floats: total)
        let a = arena
        embSum = a.take(M * E); embOut = a.take(M * E); embMean = a.take(M); embRstd = a.take(M)
        embMask = hasDropout ? a.take(M * E) : nil
        projected = shape.projects ? a.take(M * H) : embOut
        let drop = dropout > 0
        layers = (0..<shape.layers).map { _ in
            LayerActivations(q: a.take(M * H), k: a.take(M * H), v: a.take(M * H), probs: a.take(attention),
                             ctx: a.take(M * H), attnOut: a.take(M * H), res1: a.take(M * H), ln1: a.take(M * H),
                             mean1: a.take(M), rstd1: a.take(M), inter: a.take(M * F), act: a.take(M * F),
                             ffn: a.take(M * H), res2: a.take(M * H), ln2: a.take(M * H), mean2: a.take(M), rstd2: a.take(M),
                             dropped: drop ? a.take(attention) : nil, attnMask: drop ? a.take(attention) : nil,
                             attnOutMask: drop ? a.take(M * H) : nil, ffnMask: drop ? a.take(M * H) : nil)
        }
        outputGradient = a.take(M * H)
        gRes = a.take(M * H); gLn1 = a.take(M * H); gq = a.take(M * H); gk = a.take(M * H); gv = a.take(M * H)
        gctx = a.take(M * H); _ = a.take(M * H)
        gF1 = a.take(M * F); gF2 = a.take(M * F); scratch = a.take(L * L * maxComputeThreads)
        gEmb = shape.projects ? a.take(M * E) : outputGradient
        gEmbSum = a.take(M * E)
    }

    /// Fills `mask` with 0 (probability p) or 1/(1-p).
    private func drawMask(_ mask: UnsafeMutablePointer<Float>, _ count: Int, _ p: Float, _ rng: inout Xoshiro256) {
        let keep = 1 / (1 - p)
        for i in 0..<count { mask[i] = rng.nextFloat() < p ? 0 : keep }
    }

    /// Runs the encoder; returns its output [M, H] (valid until the next forward).
    func forward(ids: [Int32], segments: [Int32], attention: [Int32], shared s: SharedEmbeddings,
                 config: ElectraConfig, w: UnsafeMutablePointer<Float>, dropout p: Float,
                 rng: inout Xoshiro256) -> UnsafeMutablePointer<Float> {
        let H = shape.H, F = shape.F, E = shape.E, NH = shape.NH, eps = config.layerNormEps
        let useDropout = hasDropout && p > 0
        dropoutUsed = useDropout
        ids.withUnsafeBufferPointer { idp in
            segments.withUnsafeBufferPointer { sp in
                embeddingForward(embSum, idp.baseAddress!, sp.baseAddress!, w + s.word, w + s.position, w + s.tokenType, B, L, E)
            }
        }
        layerNormForward(embOut, embMean, embRstd, embSum, w + s.lnWeight, w + s.lnBias, M, E, eps: eps)
        if useDropout, let m = embMask { drawMask(m, M * E, p, &rng); dropoutForward(embOut, m, M * E) }
        if let proj = offsets.projection, let projB = offsets.projectionBias {
            linearForward(projected, embOut, w + proj, w + projB, M, E, H)
        }
        var inp = projected
        attention.withUnsafeBufferPointer { att in
            for (l, o) in offsets.layers.enumerated() {
                let x = layers[l]
                linearForward(x.q, inp, w + o.q, w + o.qb, M, H, H)
                linearForward(x.k, inp, w + o.k, w + o.kb, M, H, H)
                linearForward(x.v, inp, w + o.v, w + o.vb, M, H, H)
                if useDropout, let am = x.attnMask { drawMask(am, B * NH * L * L, p, &rng) }
                attentionForward(x.ctx, x.probs, useDropout ? x.dropped : nil, x.q, x.k, x.v, att.baseAddress!,
                                 useDropout ? x.attnMask : nil, B, L, H, NH)
                linearForward(x.attnOut, x.ctx, w + o.ao, w + o.aob, M, H, H)
                if useDropout, let m = x.attnOutMask { drawMask(m, M * H, p, &rng); dropoutForward(x.attnOut, m, M * H) }
                addForward(x.res1, x.attnOut, inp, M * H)
                layerNormForward(x.ln1, x.mean1, x.rstd1, x.res1, w + o.ln1w, w + o.ln1b, M, H, eps: eps)
                linearForward(x.inter, x.ln1, w + o.i, w + o.ib, M, H, F)
                geluForward(x.act, x.inter, M * F)
                linearForward(x.ffn, x.act, w + o.o, w + o.ob, M, F, H)
                if useDropout, let m = x.ffnMask { drawMask(m, M * H, p, &rng); dropoutForward(x.ffn, m, M * H) }
                addForward(x.res2, x.ffn, x.ln1, M * H)
                layerNormForward(x.ln2, x.mean2, x.rstd2, x.res2, w + o.ln2w, w + o.ln2b, M, H, eps: eps)
                inp = x.ln2
            }
        }
        return inp
    }

    /// Backward from `outputGradient` (filled by the head) down to the shared embeddings;
    /// accumulates into `g`. Uses the activations of the last `forward`.
    func backward(ids: [Int32], segments: [Int32], attention: [Int32], shared s: SharedEmbeddings,
                  config: ElectraConfig, w: UnsafeMutablePointer<Float>, g: UnsafeMutablePointer<Float>) {
        let H = shape.H, F = shape.F, E = shape.E, NH = shape.NH
        let gOut = outputGradient
        for l in stride(from: offsets.layers.count - 1, through: 0, by: -1) {
            let o = offsets.layers[l], x = layers[l]
            let inp = l == 0 ? projected : layers[l - 1].ln2
            gRes.update(repeating: 0, count: M * H)
            layerNormBackward(gRes, g + o.ln2w, g + o.ln2b, gOut, x.res2, w + o.ln2w, x.mean2, x.rstd2, M, H)
            gLn1.update(from: gRes, count: M * H)
            if dropoutUsed, let m = x.ffnMask { dropoutBackward(gRes, m, M * H) }
            gF2.update(repeating: 0, count: M * F)
            linearBackward(gF2, g + o.o, g + o.ob, gRes, x.act, w + o.o, M, F, H)
            gF1.update(repeating: 0, count: M * F)
            geluBackward(gF1, x.inter, gF2, M * F)
            linearBackward(gLn1, g + o.i, g + o.ib, gF1, x.ln1, w + o.i, M, H, F)
            gRes.update(repeating: 0, count: M * H)
            layerNormBackward(gRes, g + o.ln1w, g + o.ln1b, gLn1, x.res1, w + o.ln1w, x.mean1, x.rstd1, M, H)
            gOut.update(from: gRes, count: M * H)   // the residual path to the layer input
            if dropoutUsed, let m = x.attnOutMask { dropoutBackward(gRes, m, M * H) }
            gctx.update(repeating: 0, count: M * H)
            linearBackward(gctx, g + o.ao, g + o.aob, gRes, x.ctx, w + o.ao, M, H, H)
            gq.update(repeating: 0, count: M * H)
            gk.update(repeating: 0, count: M * H)
            gv.update(repeating: 0, count: M * H)
            attentionBackward(gq, gk, gv, gctx, x.probs, dropoutUsed ? x.dropped : nil, x.q, x.k, x.v,
                              dropoutUsed ? x.attnMask : nil, scratch, B, L, H, NH)
            linearBackward(gOut, g + o.q, g + o.qb, gq, inp, w + o.q, M, H, H)
            linearBackward(gOut, g + o.k, g + o.kb, gk, inp, w + o.k, M, H, H)
            linearBackward(gOut, g + o.v, g + o.vb, gv, inp, w + o.v, M, H, H)
        }
        if let proj = offsets.projection, let projB = offsets.projectionBias {
            gEmb.update(repeating: 0, count: M * E)
            linearBackward(gEmb, g + proj, g + projB, gOut, embOut, w + proj, M, E, H)
        }
        if dropoutUsed, let m = embMask { dropoutBackward(gEmb, m, M * E) }
        gEmbSum.update(repeating: 0, count: M * E)
        layerNormBackward(gEmbSum, g + s.lnWeight, g + s.lnBias, gEmb, embSum, w + s.lnWeight, embMean, embRstd, M, E)
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
                embeddingBackward(g + s.word, g + s.position, g + s.tokenType, gEmbSum, idp.baseAddress!, sp.baseAddress!, B, L, E)
            }
        }
    }
}

/// The generator and discriminator heads' activations and parameter offsets.
final class Heads {
    let genDenseW, genDenseB, genLNW, genLNB, lmBias, discDenseW, discDenseB, discOutW, discOutB: Int
    let genGathered, genDense, genAct, genLN, genLNMean, genLNRstd, genLogits, dGenLogits: UnsafeMutablePointer<Float>
    let dGenLN, dGenAct, dGenDense, dGenGathered: UnsafeMutablePointer<Float>
    let discDense, discAct, discLogits, dDiscLogits, dDiscAct, dDiscDense: UnsafeMutablePointer<Float>
    private let arena: Arena

    init(M: Int, P: Int, V: Int, E: Int, H: Int, Hg: Int, discDense dd: Int, discDenseBias ddb: Int, discOut: Int,
         discOutBias: Int, genDense gd: Int, genDenseBias gdb: Int, genLNWeight: Int, genLNBias: Int, lmBias lm: Int) {
        genDenseW = gd; genDenseB = gdb; genLNW = genLNWeight; genLNB = genLNBias; lmBias = lm
        discDenseW = dd; discDenseB = ddb; discOutW = discOut; discOutB = discOutBias
        arena = Arena(floats: 2 * P * Hg + 7 * P * E + 2 * P + 2 * P * V + 4 * M * H + 2 * M)
        let a = arena
        genGathered = a.take(P * Hg); genDense = a.take(P * E); genAct = a.take(P * E); genLN = a.take(P * E)
        genLNMean = a.take(P); genLNRstd = a.take(P); genLogits = a.take(P * V); dGenLogits = a.take(P * V)
        dGenLN = a.take(P * E); dGenAct = a.take(P * E); dGenDense = a.take(P * E); dGenGathered = a.take(P * Hg)
        discDense = a.take(M * H); discAct = a.take(M * H); discLogits = a.take(M); dDiscLogits = a.take(M)
        dDiscAct = a.take(M * H); dDiscDense = a.take(M * H)
    }
}
