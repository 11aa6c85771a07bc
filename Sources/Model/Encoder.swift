// One transformer encoder (the discriminator's or the generator's) over the shared embeddings:
// forward top to bottom, backward the same list reversed (llm.c style). Layer layout as BERT /
// HuggingFace ElectraLayer: self-attention, dense, dropout, residual + LayerNorm, then
// intermediate dense + GELU, dense, dropout, residual + LayerNorm.
// Shapes: B rows of L tokens (B*L = M), E embedding, H hidden, F intermediate, NH heads.
import Kernels
import Randomness

/// An encoder's activations (sized once for B x L) and the code that runs it.
final class Encoder {
    let shape: EncoderShape
    let offsets: EncoderOffsets
    let B: Int, L: Int, M: Int
    /// Times the kernels when set (bench-model); nil in training.
    var profile: StepProfile?

    /// The forward activations, kept for the backward.
    private struct Activations {
        let embeddingSum: FloatPointer        // (B*L, E) word + position + token type
        let embeddingMean, embeddingRstd: FloatPointer   // (B*L) LayerNorm statistics
        let embeddings: FloatPointer          // (B*L, E) LayerNorm(embeddingSum), dropout applied in place
        let projected: FloatPointer           // (B*L, H) embeddings_project(embeddings); `embeddings` when E == H
        let layers: [Layer]

        /// One layer's activations.
        struct Layer {
            let qkv: FloatPointer             // (B*L, 3H) q | k | v, one product
            let probs: FloatPointer           // (B, NH, L, L) attention probabilities, before dropout
            let context: FloatPointer         // (B*L, H) attention output, heads side by side
            let attentionResidual: FloatPointer   // (B*L, H) dropout(dense(context)) + layer input
            let attentionNorm: FloatPointer   // (B*L, H) LayerNorm(attentionResidual)
            let attentionMean, attentionRstd: FloatPointer   // (B*L)
            let intermediate: FloatPointer    // (B*L, F) dense(attentionNorm) without its bias; gelu' in its place when kept for backward
            let gelu: FloatPointer            // (B*L, F) GELU(intermediate + bias)
            let outputResidual: FloatPointer  // (B*L, H) dropout(dense(gelu)) + attentionNorm
            let outputNorm: FloatPointer      // (B*L, H) LayerNorm(outputResidual): the layer output
            let outputMean, outputRstd: FloatPointer         // (B*L)
        }
    }

    /// Gradient buffers: one layer's worth, reused by every layer on the way down.
    private struct Gradients {
        let output: FloatPointer              // (B*L, H) d(layer output); the head writes the encoder output's, each layer leaves its input's
        let residual: FloatPointer            // (B*L, H) d(a residual sum) before, d(the dropped branch) after the dropout+residual backward
        let attentionNorm: FloatPointer       // (B*L, H) d(attentionNorm)
        let gelu: FloatPointer                // (B*L, F) d(gelu), then d(intermediate) (GELU backward in place)
        let qkv: FloatPointer                 // (B*L, 3H)
        let context: FloatPointer             // (B*L, H)
        let attentionScratch: FloatPointer    // attentionScratchCount(L)
        let embeddings: FloatPointer          // (B*L, E) d(embeddings); `output` when E == H
        let embeddingSum: FloatPointer        // (B*L, E)
    }

    private let arena: Arena
    private let act: Activations
    private let grad: Gradients
    /// Dropout of the last forward: probability and one seed per site (the masks are regenerated
    /// from them in backward, nothing else is stored).
    private var dropP: Float = 0
    private var backwardReady = false
    private var embeddingSeed: UInt64 = 0
    /// The row of the whole batch this batch starts at (dropout masks are indexed globally).
    private var firstRow = 0
    private var seeds: [(attention: UInt64, attentionOutput: UInt64, output: UInt64)] = []

    /// Where the head writes the gradient of the encoder output, (B*L, H).
    var outputGradient: FloatPointer { grad.output }
    /// The output of the last forward (B*L, H): the last layer's, valid until the next forward.
    var lastOutput: FloatPointer { act.layers.last?.outputNorm ?? act.projected }

    init(shape: EncoderShape, offsets: EncoderOffsets, B: Int, L: Int) {
        self.shape = shape
        self.offsets = offsets
        self.B = B
        self.L = L
        let M = B * L
        self.M = M
        let H = shape.H, F = shape.F, E = shape.E, NH = shape.NH
        (arena, (act, grad)) = Arena.carve { a in
            let embeddingSum = a.take(M * E), embeddings = a.take(M * E)
            let activations = Activations(
                embeddingSum: embeddingSum, embeddingMean: a.take(M), embeddingRstd: a.take(M), embeddings: embeddings,
                projected: shape.projects ? a.take(M * H) : embeddings,
                layers: (0..<shape.layers).map { _ in
                    Activations.Layer(
                        qkv: a.take(3 * M * H), probs: a.take(B * NH * L * L), context: a.take(M * H),
                        attentionResidual: a.take(M * H), attentionNorm: a.take(M * H),
                        attentionMean: a.take(M), attentionRstd: a.take(M),
                        intermediate: a.take(M * F), gelu: a.take(M * F),
                        outputResidual: a.take(M * H), outputNorm: a.take(M * H), outputMean: a.take(M), outputRstd: a.take(M))
                })
            let output = a.take(M * H)
            let gradients = Gradients(
                output: output, residual: a.take(M * H), attentionNorm: a.take(M * H), gelu: a.take(M * F),
                qkv: a.take(3 * M * H), context: a.take(M * H), attentionScratch: a.take(attentionScratchCount(L)),
                embeddings: shape.projects ? a.take(M * E) : output, embeddingSum: a.take(M * E))
            return (activations, gradients)
        }
    }

    /// Runs `body`, timed as `kernel` when profiling.
    @inline(__always) private func timed(_ kernel: String, _ body: () -> Void) {
        if let profile { profile.time(kernel, body) } else { body() }
    }

    /// Runs the encoder; returns its output (B*L, H) (valid until the next forward). With p > 0,
    /// each dropout site's seed is derived from (`dropoutKey`, site), and its mask covers the rows
    /// of the whole batch, this one starting at row `firstRow`. `backward` may follow only when
    /// `keepForBackward` (GELU's derivative is then kept in place of its input).
    func forward(ids: [Int32], segments: [Int32], attention: [Int32], shared s: SharedEmbeddings,
                 config: ElectraConfig, w: UnsafeMutablePointer<Float>, dropout p: Float, keepForBackward: Bool,
                 dropoutKey: UInt64, firstRow: Int = 0) -> UnsafeMutablePointer<Float> {
        let H = shape.H, F = shape.F, E = shape.E, NH = shape.NH, eps = config.layerNormEps
        dropP = p
        backwardReady = keepForBackward
        self.firstRow = firstRow
        embeddingSeed = p > 0 ? derivedKey(dropoutKey, 0) : 0
        seeds = offsets.layers.indices.map { l in
            p > 0 ? (derivedKey(dropoutKey, UInt64(3 * l + 1)), derivedKey(dropoutKey, UInt64(3 * l + 2)),
                     derivedKey(dropoutKey, UInt64(3 * l + 3))) : (0, 0, 0)
        }
        let tokenRow = firstRow * L
        ids.withUnsafeBufferPointer { idp in
            segments.withUnsafeBufferPointer { sp in
                timed("embedding forward") {
                    embeddingForward(act.embeddingSum, idp.baseAddress!, sp.baseAddress!, w + s.word, w + s.position,
                                     w + s.tokenType, B, L, E)
                }
            }
        }
        timed("layerNorm forward") {
            layerNormForward(act.embeddings, act.embeddingMean, act.embeddingRstd, act.embeddingSum, w + s.normWeight,
                             w + s.normBias, M, E, eps: eps)
        }
        timed("dropout") { dropoutApply(act.embeddings, M * E, p: p, seed: embeddingSeed, offset: tokenRow * E) }
        if let projection = offsets.projection, let projectionBias = offsets.projectionBias {
            timed("linear forward") { linearForward(act.projected, act.embeddings, w + projection, w + projectionBias, M, E, H) }
        }
        var input = act.projected   // (B*L, H)
        attention.withUnsafeBufferPointer { att in
            for l in 0..<offsets.layers.count {
                let layer = offsets.layers[l], x = act.layers[l], seed = seeds[l]
                timed("linear forward") { linearForward(x.qkv, input, w + layer.query, w + layer.queryBias, M, H, 3 * H) }
                timed("attention forward") {
                    attentionForward(x.context, x.probs, x.qkv, x.qkv + H, x.qkv + 2 * H, ld: 3 * H, att.baseAddress!,
                                     B, L, H, NH, dropout: p, seed: seed.attention, dropoutOffset: firstRow * NH * L * L,
                                     scratch: grad.attentionScratch)
                }
                // Biases of the dense layers are added by the pass after each (GELU, dropout + residual).
                timed("linear forward") { linearForward(x.attentionResidual, x.context, w + layer.attentionOutput, nil, M, H, H) }
                timed("dropout + residual") {
                    dropoutResidualForward(x.attentionResidual, input, M * H, p: p, seed: seed.attentionOutput, offset: tokenRow * H,
                                           bias: w + layer.attentionOutputBias, width: H)
                }
                timed("layerNorm forward") {
                    layerNormForward(x.attentionNorm, x.attentionMean, x.attentionRstd, x.attentionResidual,
                                     w + layer.attentionNormWeight, w + layer.attentionNormBias, M, H, eps: eps)
                }
                timed("linear forward") { linearForward(x.intermediate, x.attentionNorm, w + layer.intermediate, nil, M, H, F) }
                timed("gelu forward") {
                    biasGeluForward(x.gelu, x.intermediate, w + layer.intermediateBias, M, F,
                                    derivative: keepForBackward ? x.intermediate : nil)
                }
                timed("linear forward") { linearForward(x.outputResidual, x.gelu, w + layer.output, nil, M, F, H) }
                timed("dropout + residual") {
                    dropoutResidualForward(x.outputResidual, x.attentionNorm, M * H, p: p, seed: seed.output, offset: tokenRow * H,
                                           bias: w + layer.outputBias, width: H)
                }
                timed("layerNorm forward") {
                    layerNormForward(x.outputNorm, x.outputMean, x.outputRstd, x.outputResidual,
                                     w + layer.outputNormWeight, w + layer.outputNormBias, M, H, eps: eps)
                }
                input = x.outputNorm
            }
        }
        return input
    }

    /// Backward from `outputGradient` (filled by the head) down to the shared embeddings;
    /// accumulates into `g`. Uses the activations of the last `forward`. `layerDone(l)` is called
    /// once layer l's parameter gradients are final (for a reducer that sums them meanwhile).
    func backward(ids: [Int32], segments: [Int32], attention: [Int32], shared s: SharedEmbeddings,
                  config: ElectraConfig, w: UnsafeMutablePointer<Float>, g: UnsafeMutablePointer<Float>,
                  layerDone: ((Int) -> Void)? = nil) {
        precondition(backwardReady, "Encoder.backward needs a forward with keepForBackward")
        let H = shape.H, F = shape.F, E = shape.E, NH = shape.NH, p = dropP
        let tokenRow = firstRow * L
        let d = grad
        for l in stride(from: offsets.layers.count - 1, through: 0, by: -1) {
            let layer = offsets.layers[l], x = act.layers[l], seed = seeds[l]
            let input = l == 0 ? act.projected : act.layers[l - 1].outputNorm
            // outputNorm = LayerNorm(outputResidual), outputResidual = dropout(dense(gelu)) + attentionNorm.
            timed("layerNorm backward") {
                layerNormBackward(d.residual, g + layer.outputNormWeight, g + layer.outputNormBias, d.output, x.outputResidual,
                                  w + layer.outputNormWeight, x.outputMean, x.outputRstd, M, H, overwrite: true)
            }
            timed("dropout + residual") { dropoutResidualBackward(d.residual, d.attentionNorm, M * H, p: p, seed: seed.output, offset: tokenRow * H) }
            timed("linear backward") {
                linearBackward(d.gelu, g + layer.output, g + layer.outputBias, d.residual, x.gelu, w + layer.output, M, F, H,
                               overwrite: true)
            }
            timed("gelu backward") { geluBackwardSaved(d.gelu, d.gelu, x.intermediate, M * F) }   // x.intermediate holds gelu'
            timed("linear backward") {
                linearBackward(d.attentionNorm, g + layer.intermediate, g + layer.intermediateBias, d.gelu, x.attentionNorm,
                               w + layer.intermediate, M, H, F)
            }
            // attentionNorm = LayerNorm(attentionResidual), attentionResidual = dropout(dense(context)) + input.
            timed("layerNorm backward") {
                layerNormBackward(d.residual, g + layer.attentionNormWeight, g + layer.attentionNormBias, d.attentionNorm,
                                  x.attentionResidual, w + layer.attentionNormWeight, x.attentionMean, x.attentionRstd, M, H,
                                  overwrite: true)
            }
            // The residual path to the layer input gets d.residual as it is, the attention output its dropout.
            timed("dropout + residual") { dropoutResidualBackward(d.residual, d.output, M * H, p: p, seed: seed.attentionOutput, offset: tokenRow * H) }
            timed("linear backward") {
                linearBackward(d.context, g + layer.attentionOutput, g + layer.attentionOutputBias, d.residual, x.context,
                               w + layer.attentionOutput, M, H, H, overwrite: true)
            }
            timed("attention backward") {
                attentionBackward(d.qkv, d.qkv + H, d.qkv + 2 * H, d.context, x.probs, x.qkv, x.qkv + H, x.qkv + 2 * H, ld: 3 * H,
                                  B, L, H, NH, dropout: p, seed: seed.attention, dropoutOffset: firstRow * NH * L * L,
                                  scratch: d.attentionScratch)
            }
            timed("linear backward") { linearBackward(d.output, g + layer.query, g + layer.queryBias, d.qkv, input, w + layer.query, M, H, 3 * H) }
            layerDone?(l)
        }
        if let projection = offsets.projection, let projectionBias = offsets.projectionBias {
            timed("linear backward") {
                linearBackward(d.embeddings, g + projection, g + projectionBias, d.output, act.embeddings, w + projection, M, E, H,
                               overwrite: true)
            }
        }
        timed("dropout") { dropoutApply(d.embeddings, M * E, p: p, seed: embeddingSeed, offset: tokenRow * E) }
        timed("layerNorm backward") {
            layerNormBackward(d.embeddingSum, g + s.normWeight, g + s.normBias, d.embeddings, act.embeddingSum, w + s.normWeight,
                              act.embeddingMean, act.embeddingRstd, M, E, overwrite: true)
        }
        // The padding row of the word embeddings gets no gradient (nn.Embedding padding_idx).
        let pad = config.padID
        ids.withUnsafeBufferPointer { idp in
            segments.withUnsafeBufferPointer { sp in
                for m in 0..<M where idp[m] == pad {
                    let row = d.embeddingSum + m * E
                    // Position and token-type still get it: add them here, then clear the row.
                    let t = m % L
                    for e in 0..<E {
                        g[s.position + t * E + e] += row[e]
                        g[s.tokenType + Int(sp[m]) * E + e] += row[e]
                        row[e] = 0
                    }
                }
                timed("embedding backward") {
                    embeddingBackward(g + s.word, g + s.position, g + s.tokenType, d.embeddingSum, idp.baseAddress!,
                                      sp.baseAddress!, B, L, E)
                }
            }
        }
    }
}
