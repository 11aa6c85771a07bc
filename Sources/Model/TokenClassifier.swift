// The discriminator fine-tuned with a head on every token: HuggingFace's
// ElectraForTokenClassification (tagging: dropout, then `classifier` = Linear(H, K); the mean
// cross-entropy over the tokens that carry a label, -100 elsewhere) and
// ElectraForQuestionAnswering (spans: `qa_outputs` = Linear(H, 2) without dropout; the start and
// end logits of each row go through a softmax over the row's L positions; loss = (CE(start) +
// CE(end)) / 2, each the mean over the rows). The encoder is the pre-training one under `electra.*`.
// Shapes: B rows of L tokens (M = B*L), H hidden, K outputs per token.
import Foundation
import Kernels
import Randomness

/// The head of a `TokenClassifier`.
public enum TokenHead: Equatable, Sendable {
    /// ElectraForTokenClassification with `labels` classes.
    case tagging(labels: Int)
    /// ElectraForQuestionAnswering: a start and an end logit per token.
    case span

    /// Outputs per token.
    public var outputs: Int {
        switch self {
        case .tagging(let k): return k
        case .span: return 2
        }
    }
}

/// One batch of a token task; rows beyond `rows` are filler (no loss, no gradient).
public struct TokenBatch {
    public var ids: [Int32], segments: [Int32], attention: [Int32]   // [B*L]
    /// Tagging: the class of every token, -100 where there is none (ignored), [B*L].
    /// Spans: the start and the end position of each row, [2B] (a position outside 0..<L is ignored).
    public var targets: [Int32]
    /// Rows that are real examples (the first `rows` of B).
    public var rows: Int

    public init(ids: [Int32], segments: [Int32], attention: [Int32], targets: [Int32], rows: Int) {
        self.ids = ids; self.segments = segments; self.attention = attention; self.targets = targets; self.rows = rows
    }
}

/// The label value the tagging loss ignores (PyTorch's CrossEntropyLoss ignore_index).
public let ignoredLabel: Int32 = -100

/// ElectraForTokenClassification / ElectraForQuestionAnswering: encoder + a linear head on every
/// token, forward and backward.
public final class TokenClassifier: EncoderTaskModel {
    public let config: ElectraConfig
    public let head: TokenHead
    public let batchSize: Int, seqLength: Int
    public let parameterTable: [ParameterInfo]
    public let parameterCount: Int
    public let parameters: UnsafeMutablePointer<Float>
    public let gradients: UnsafeMutablePointer<Float>

    let shared: SharedEmbeddings
    let encoder: Encoder
    private let headW, headB: Int
    private let arena: Arena
    /// x: the encoder output after the head's dropout (M, H); logits, dLogits (M, K).
    private let x, logits, dLogits: UnsafeMutablePointer<Float>

    /// Builds the model for batches of `batchSize` x `seqLength`; parameters drawn as HuggingFace
    /// initializes them (N(0, initializerRange), LayerNorm 1, biases 0, padding row 0) with `seed`.
    public init(config: ElectraConfig, head: TokenHead, batchSize: Int, seqLength: Int, seed: UInt64) throws {
        try validateTaskModel(config, outputs: head.outputs, seqLength: seqLength)
        self.config = config
        self.head = head
        self.batchSize = batchSize
        self.seqLength = seqLength
        var table = ParameterTableBuilder()
        let H = config.hiddenSize, K = head.outputs
        let (shared, shape, offsets) = addEncoderParameters(config, to: &table)
        self.shared = shared
        let name = head == .span ? "qa_outputs" : "classifier"
        headW = table.add("\(name).weight", [K, H])
        headB = table.add("\(name).bias", [K], decays: false)
        parameterTable = table.entries
        parameterCount = table.total
        parameters = .allocate(capacity: parameterCount)
        gradients = .allocate(capacity: parameterCount)
        parameters.initialize(repeating: 0, count: parameterCount)
        gradients.initialize(repeating: 0, count: parameterCount)
        encoder = Encoder(shape: shape, offsets: offsets, B: batchSize, L: seqLength)
        let M = batchSize * seqLength
        let carved = Arena.carve { c in (c.take(M * H), c.take(M * K), c.take(M * K)) }
        arena = carved.arena
        (x, logits, dLogits) = carved.views
        initializeTaskParameters(parameters, table: parameterTable, config: config, seed: seed)
    }

    deinit {
        parameters.deallocate()
        gradients.deallocate()
    }

    /// Forward (and, with `computeGradients`, backward, accumulating into `gradients`).
    /// Dropout is drawn from `rng` when `training`. Returns the logits of the real rows,
    /// [rows, L, K] (spans: start and end side by side per token), and the loss.
    public func step(_ batch: TokenBatch, training: Bool, computeGradients: Bool,
                     rng: inout Xoshiro256) -> (logits: [Float], loss: Float) {
        let B = batchSize, L = seqLength, H = config.hiddenSize, K = head.outputs, M = B * L
        let targetCount = head == .span ? 2 * B : M
        precondition(batch.ids.count == M && batch.targets.count == targetCount && batch.rows <= B,
                     "batch shape differs from the one the token classifier was built for")
        let w = parameters, g = gradients
        let p: Float = training ? config.dropout : 0
        // One draw of `rng` per training step keys every dropout site of the step (encoder and head).
        let key = p > 0 ? rng.next() : 0
        let out = encoder.forward(ids: batch.ids, segments: batch.segments, attention: batch.attention, shared: shared,
                                  config: config, w: w, dropout: p, keepForBackward: computeGradients,
                                  dropoutKey: derivedKey(key, 1))
        let headP: Float = head == .span ? 0 : p   // ElectraForQuestionAnswering has no dropout before qa_outputs
        let headSeed = headP > 0 ? derivedKey(key, 2) : 0
        x.update(from: out, count: M * H)
        dropoutApply(x, M * H, p: headP, seed: headSeed)
        linearForward(logits, x, w + headW, w + headB, M, H, K)

        dLogits.update(repeating: 0, count: M * K)
        let loss: Double
        switch head {
        case .tagging:
            var sum = 0.0, count = 0
            for t in 0..<(batch.rows * L) where batch.targets[t] >= 0 { count += 1 }
            let scale = 1 / Float(max(count, 1))
            for t in 0..<(batch.rows * L) where batch.targets[t] >= 0 {
                sum += crossEntropy(logits + t * K, stride: 1, count: K, target: Int(batch.targets[t]),
                                    gradient: dLogits + t * K, scale: scale)
            }
            loss = sum / Double(max(count, 1))
        case .span:
            // Column c (0 start, 1 end) of row b: L logits at stride 2.
            var total = 0.0
            for c in 0..<2 {
                var count = 0
                for b in 0..<batch.rows where (0..<L).contains(Int(batch.targets[2 * b + c])) { count += 1 }
                let scale = 1 / Float(max(count, 1)) / 2
                var sum = 0.0
                for b in 0..<batch.rows where (0..<L).contains(Int(batch.targets[2 * b + c])) {
                    sum += crossEntropy(logits + b * L * 2 + c, stride: 2, count: L, target: Int(batch.targets[2 * b + c]),
                                        gradient: dLogits + b * L * 2 + c, scale: scale)
                }
                total += sum / Double(max(count, 1))
            }
            loss = total / 2
        }
        if computeGradients {
            let dOut = encoder.outputGradient
            linearBackward(dOut, g + headW, g + headB, dLogits, x, w + headW, M, H, K, overwrite: true)
            dropoutApply(dOut, M * H, p: headP, seed: headSeed)
            encoder.backward(ids: batch.ids, segments: batch.segments, attention: batch.attention, shared: shared,
                             config: config, w: w, g: g)
        }
        return (Array(UnsafeBufferPointer(start: logits, count: batch.rows * L * K)), Float(loss))
    }
}

/// The cross-entropy of `count` logits at `z[0], z[stride], ...` against `target`; writes
/// (softmax - one-hot) x `scale` into `gradient` at the same stride.
private func crossEntropy(_ z: UnsafePointer<Float>, stride: Int, count: Int, target: Int,
                          gradient: UnsafeMutablePointer<Float>, scale: Float) -> Double {
    var m = z[0]
    for k in 1..<count { m = max(m, z[k * stride]) }
    var sum: Double = 0
    for k in 0..<count { sum += Double(expf(z[k * stride] - m)) }
    for k in 0..<count { gradient[k * stride] = Float(Double(expf(z[k * stride] - m)) / sum) * scale }
    gradient[target * stride] -= scale
    return Double(m) + log(sum) - Double(z[target * stride])
}
