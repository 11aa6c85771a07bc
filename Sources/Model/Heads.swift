// The two heads, each a forward/backward pair over activations of its own (shapes in comments):
// the generator's masked-LM head at the B*N masked slots (P = B*N rows) and the discriminator's
// replaced-token head at every position (M = B*L rows), as HuggingFace's
// ElectraGeneratorPredictions + generator_lm_head (tied to the word embeddings) and
// ElectraDiscriminatorPredictions. Backward passes write the encoder output's gradient and
// accumulate into the parameter gradients.
import Kernels
import Masking
import Randomness

/// dense + GELU, LayerNorm, then the output layer tied to the word embeddings, at the masked
/// slots only.
final class GeneratorHead {
    let offsets: GeneratorHeadOffsets
    let B: Int, L: Int, N: Int, P: Int, V: Int, E: Int, Hg: Int

    private struct Buffers {
        let gathered: FloatPointer    // (P, Hg) encoder output at the masked slots
        let dense: FloatPointer       // (P, E) dense(gathered) without its bias; gelu' in its place when kept for backward
        let gelu: FloatPointer        // (P, E) GELU(dense + bias)
        let norm: FloatPointer        // (P, E) LayerNorm(gelu)
        let normMean, normRstd: FloatPointer   // (P)
        let logits: FloatPointer      // (P, V) norm · word embeddingsᵀ + output bias
        let dLogits: FloatPointer     // (P, V) d(loss)/d(logits)
        let dNorm: FloatPointer       // (P, E)
        let dGelu: FloatPointer       // (P, E)
        let dDense: FloatPointer      // (P, E)
        let dGathered: FloatPointer   // (P, Hg)
    }
    private let arena: Arena
    private let b: Buffers
    /// The row (in B*L) of each masked slot, (P).
    private var rows: [Int]

    /// The logits of the last forward, (P, V).
    var logits: UnsafePointer<Float> { UnsafePointer(b.logits) }

    init(offsets: GeneratorHeadOffsets, B: Int, L: Int, N: Int, V: Int, E: Int, Hg: Int) {
        let P = B * N
        self.offsets = offsets
        self.B = B; self.L = L; self.N = N; self.P = P; self.V = V; self.E = E; self.Hg = Hg
        rows = [Int](repeating: 0, count: P)
        (arena, b) = Arena.carve { a in
            Buffers(gathered: a.take(P * Hg), dense: a.take(P * E), gelu: a.take(P * E), norm: a.take(P * E),
                    normMean: a.take(P), normRstd: a.take(P), logits: a.take(P * V), dLogits: a.take(P * V),
                    dNorm: a.take(P * E), dGelu: a.take(P * E), dDense: a.take(P * E), dGathered: a.take(P * Hg))
        }
    }

    /// The logits at the masked slots of `encoderOutput` (B*L, Hg) and their softmax
    /// cross-entropy against the batch's original ids. Keeps what `backward` needs when asked.
    /// - Returns: the loss.
    func forward(_ encoderOutput: UnsafePointer<Float>, _ batch: MaskedBatch, shared: SharedEmbeddings,
                 w: UnsafePointer<Float>, eps: Float, keepForBackward: Bool, weightSum: Float? = nil) -> Float {
        for slot in 0..<P { rows[slot] = slot / N * L + Int(batch.maskedPositions[slot]) }
        gatherRowsForward(b.gathered, encoderOutput, rows, Hg)
        // The dense bias is added in the GELU pass; with gradients, gelu' replaces the
        // pre-activation (the backward needs nothing else of it).
        linearForward(b.dense, b.gathered, w + offsets.dense, nil, P, Hg, E)
        biasGeluForward(b.gelu, b.dense, w + offsets.denseBias, P, E, derivative: keepForBackward ? b.dense : nil)
        layerNormForward(b.norm, b.normMean, b.normRstd, b.gelu, w + offsets.normWeight, w + offsets.normBias, P, E, eps: eps)
        linearForward(b.logits, b.norm, w + shared.word, w + offsets.outputBias, P, E, V)
        return softmaxCrossEntropy(keepForBackward ? b.dLogits : nil, b.logits, batch.maskedOriginalIDs,
                                   batch.maskedWeights, P, V, weightSum: weightSum)
    }

    /// Backward of `forward`: writes d(encoder output) into `dEncoderOutput` (B*L, Hg), zero
    /// outside the masked rows; the word embeddings get the output layer's weight gradient.
    func backward(_ dEncoderOutput: FloatPointer, shared: SharedEmbeddings, w: UnsafePointer<Float>, g: FloatPointer) {
        linearBackward(b.dNorm, g + shared.word, g + offsets.outputBias, b.dLogits, b.norm, w + shared.word, P, E, V,
                       overwrite: true)
        layerNormBackward(b.dGelu, g + offsets.normWeight, g + offsets.normBias, b.dNorm, b.gelu, w + offsets.normWeight,
                          b.normMean, b.normRstd, P, E, overwrite: true)
        geluBackwardSaved(b.dDense, b.dGelu, b.dense, P * E)       // b.dense holds gelu'
        linearBackward(b.dGathered, g + offsets.dense, g + offsets.denseBias, b.dDense, b.gathered, w + offsets.dense, P, Hg, E,
                       overwrite: true)
        dEncoderOutput.update(repeating: 0, count: B * L * Hg)
        gatherRowsBackward(dEncoderOutput, b.dGathered, rows, Hg)
    }
}

/// dense + GELU, then one logit per position (> 0: "replaced").
final class DiscriminatorHead {
    let offsets: DiscriminatorHeadOffsets
    let M: Int, H: Int

    private struct Buffers {
        let dense: FloatPointer       // (B*L, H) dense(encoder output) without its bias; gelu' in its place when kept for backward
        let gelu: FloatPointer        // (B*L, H) GELU(dense + bias)
        let logits: FloatPointer      // (B*L) gelu · predictionᵀ + prediction bias
        let dLogits: FloatPointer     // (B*L) d(loss)/d(logits)
        let dGelu: FloatPointer       // (B*L, H)
        let dDense: FloatPointer      // (B*L, H)
    }
    private let arena: Arena
    private let b: Buffers

    /// The logits of the last forward, (B*L).
    var logits: UnsafePointer<Float> { UnsafePointer(b.logits) }

    init(offsets: DiscriminatorHeadOffsets, M: Int, H: Int) {
        self.offsets = offsets
        self.M = M; self.H = H
        (arena, b) = Arena.carve { a in
            Buffers(dense: a.take(M * H), gelu: a.take(M * H), logits: a.take(M), dLogits: a.take(M),
                    dGelu: a.take(M * H), dDense: a.take(M * H))
        }
    }

    /// The logits of `encoderOutput` (B*L, H). Keeps what `backward` needs when asked.
    func forward(_ encoderOutput: UnsafePointer<Float>, w: UnsafePointer<Float>, keepForBackward: Bool) {
        linearForward(b.dense, encoderOutput, w + offsets.dense, nil, M, H, H)
        biasGeluForward(b.gelu, b.dense, w + offsets.denseBias, M, H, derivative: keepForBackward ? b.dense : nil)
        linearForward(b.logits, b.gelu, w + offsets.prediction, w + offsets.predictionBias, M, H, 1)
    }

    /// The sigmoid cross-entropy of the last logits against `labels` (B*L, 1 = replaced),
    /// weighted by `weights` (B*L) and normalised by `weightSum` (nil: Σ weights); with
    /// `keepForBackward`, d(scale · loss)/d(logits) is kept.
    func loss(labels: [Float], weights: [Float], scale: Float, keepForBackward: Bool, weightSum: Float? = nil) -> Float {
        sigmoidCrossEntropy(keepForBackward ? b.dLogits : nil, b.logits, labels, weights, M, dloss: scale, weightSum: weightSum)
    }

    /// Backward of `forward` and `loss`: writes d(encoder output) into `dEncoderOutput` (B*L, H).
    func backward(_ dEncoderOutput: FloatPointer, _ encoderOutput: UnsafePointer<Float>, w: UnsafePointer<Float>,
                  g: FloatPointer) {
        linearBackward(b.dGelu, g + offsets.prediction, g + offsets.predictionBias, b.dLogits, b.gelu, w + offsets.prediction, M, H, 1,
                       overwrite: true)
        geluBackwardSaved(b.dDense, b.dGelu, b.dense, M * H)       // b.dense holds gelu'
        linearBackward(dEncoderOutput, g + offsets.dense, g + offsets.denseBias, b.dDense, encoderOutput, w + offsets.dense, M, H, H,
                       overwrite: true)
    }
}

/// The sampling step's buffers around the `sampleForward` kernel: one uniform per slot, derived
/// from (key, global row, slot), and the kernel's scratch rows.
final class Sampler {
    let P: Int, V: Int
    private let uniforms: UnsafeMutablePointer<Double>   // (P)
    private let arena: Arena
    private let scratch: FloatPointer                    // (threads, V)

    init(P: Int, V: Int) {
        self.P = P; self.V = V
        uniforms = .allocate(capacity: max(P, 1))
        uniforms.initialize(repeating: 0, count: max(P, 1))
        (arena, scratch) = Arena.carve { a in a.take(samplingScratchCount(V)) }
    }

    deinit { uniforms.deallocate() }

    /// The argmax (`predictions`) and a draw from the softmax (`sampled`) of each row of
    /// `logits` (P, V): with `gumbelNoise` (P*V) the argmax of logits + noise, otherwise one
    /// uniform per slot derived from (`key`, the slot's row in the whole batch, its index in the
    /// row): the same draw whatever micro-batch or process the row is computed in.
    func forward(_ predictions: inout [Int32], _ sampled: inout [Int32], _ logits: UnsafePointer<Float>,
                 gumbelNoise: [Float]?, key: UInt64, firstRow: Int, slotsPerRow N: Int) {
        if gumbelNoise == nil {
            for p in 0..<P { uniforms[p] = unitInterval(derivedKey(key, UInt64(firstRow + p / N), UInt64(p % N))) }
        }
        predictions.withUnsafeMutableBufferPointer { predictions in
            sampled.withUnsafeMutableBufferPointer { sampled in
                if let gumbelNoise {
                    gumbelNoise.withUnsafeBufferPointer { noise in
                        sampleForward(predictions.baseAddress!, sampled.baseAddress!, logits, P, V, uniforms: nil,
                                      gumbelNoise: noise.baseAddress!, scratch: scratch)
                    }
                } else {
                    sampleForward(predictions.baseAddress!, sampled.baseAddress!, logits, P, V, uniforms: uniforms,
                                  gumbelNoise: nil, scratch: scratch)
                }
            }
        }
    }
}
