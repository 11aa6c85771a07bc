// The discriminator fine-tuned on a downstream task: HuggingFace's ElectraForSequenceClassification.
// The encoder is the pre-training one (Encoder.swift) under the names `electra.*`; the head is
// ElectraClassificationHead on the [CLS] row: dropout, dense, GELU, dropout, out_proj. The loss is
// the mean cross-entropy over the batch's real rows, or the mean squared error with one output
// (problem_type "regression"). Parameters, gradients and activations: one allocation each.
import Foundation
import Kernels
import Randomness

/// One batch of a sequence task; rows beyond `rows` are filler (no loss, no gradient).
public struct ClassificationBatch {
    public var ids: [Int32], segments: [Int32], attention: [Int32]   // [B*L]
    /// Class index per row (classification) or the target value (regression), [B].
    public var labels: [Float]
    /// Rows that are real examples (the first `rows` of B).
    public var rows: Int

    public init(ids: [Int32], segments: [Int32], attention: [Int32], labels: [Float], rows: Int) {
        self.ids = ids; self.segments = segments; self.attention = attention; self.labels = labels; self.rows = rows
    }
}

/// ElectraForSequenceClassification: encoder + classification head, forward and backward.
public final class SequenceClassifier: EncoderTaskModel {
    public let config: ElectraConfig
    public let numLabels: Int
    public let batchSize: Int, seqLength: Int
    public let parameterTable: [ParameterInfo]
    public let parameterCount: Int
    public let parameters: UnsafeMutablePointer<Float>
    public let gradients: UnsafeMutablePointer<Float>

    let shared: SharedEmbeddings
    let encoder: Encoder
    private let denseW, denseB, outW, outB: Int
    private let arena: Arena
    /// The head's activations and gradients: cls, act, geluD, dAct, dCls (B, H); logits, dLogits (B, K).
    private let cls, act, geluD, logits, dLogits, dAct, dCls: UnsafeMutablePointer<Float>
    private var headSeeds: (UInt64, UInt64) = (0, 0)
    private var lastP: Float = 0

    /// Builds the model for batches of `batchSize` x `seqLength` with `numLabels` outputs (1 =
    /// regression); parameters drawn as HuggingFace initializes them (N(0, initializerRange),
    /// LayerNorm 1, biases 0, padding row 0) with `seed`.
    public init(config: ElectraConfig, numLabels: Int, batchSize: Int, seqLength: Int, seed: UInt64) throws {
        try validateTaskModel(config, outputs: numLabels, seqLength: seqLength)
        self.config = config
        self.numLabels = numLabels
        self.batchSize = batchSize
        self.seqLength = seqLength
        var table = ParameterTableBuilder()
        let H = config.hiddenSize
        let (shared, shape, offsets) = addEncoderParameters(config, to: &table)
        self.shared = shared
        denseW = table.add("classifier.dense.weight", [H, H])
        denseB = table.add("classifier.dense.bias", [H], decays: false)
        outW = table.add("classifier.out_proj.weight", [numLabels, H])
        outB = table.add("classifier.out_proj.bias", [numLabels], decays: false)
        parameterTable = table.entries
        parameterCount = table.total
        parameters = .allocate(capacity: parameterCount)
        gradients = .allocate(capacity: parameterCount)
        parameters.initialize(repeating: 0, count: parameterCount)
        gradients.initialize(repeating: 0, count: parameterCount)
        encoder = Encoder(shape: shape, offsets: offsets, B: batchSize, L: seqLength)
        let B = batchSize, K = numLabels
        let carved = Arena.carve { c in
            (c.take(B * H), c.take(B * H), c.take(B * H), c.take(B * K), c.take(B * K), c.take(B * H), c.take(B * H))
        }
        arena = carved.arena
        (cls, act, geluD, logits, dLogits, dAct, dCls) = carved.views
        initializeTaskParameters(parameters, table: parameterTable, config: config, seed: seed)
    }

    deinit {
        parameters.deallocate()
        gradients.deallocate()
    }

    /// Forward (and, with `computeGradients`, backward, accumulating into `gradients`).
    /// Dropout is drawn from `rng` when `training`. Returns the [rows, numLabels] logits and the loss.
    public func step(_ batch: ClassificationBatch, training: Bool, computeGradients: Bool,
                     rng: inout Xoshiro256) -> (logits: [Float], loss: Float) {
        let B = batchSize, L = seqLength, H = config.hiddenSize, K = numLabels
        precondition(batch.ids.count == B * L && batch.labels.count >= batch.rows && batch.rows <= B,
                     "batch shape differs from the one the classifier was built for")
        let w = parameters, g = gradients
        let p: Float = training ? config.dropout : 0
        // One draw of `rng` per training step keys every dropout site of the step (encoder and head).
        let key = p > 0 ? rng.next() : 0
        let out = encoder.forward(ids: batch.ids, segments: batch.segments, attention: batch.attention, shared: shared,
                                  config: config, w: w, dropout: p, keepForBackward: computeGradients,
                                  dropoutKey: derivedKey(key, 1))
        headSeeds = p > 0 ? (derivedKey(key, 2), derivedKey(key, 3)) : (0, 0)
        lastP = p
        for b in 0..<B { (cls + b * H).update(from: out + b * L * H, count: H) }
        dropoutApply(cls, B * H, p: p, seed: headSeeds.0)
        linearForward(act, cls, w + denseW, nil, B, H, H)
        biasGeluForward(act, act, w + denseB, B, H, derivative: computeGradients ? geluD : nil)
        dropoutApply(act, B * H, p: p, seed: headSeeds.1)
        linearForward(logits, act, w + outW, w + outB, B, H, K)

        // Loss over the real rows: mean cross-entropy, or mean squared error for one output.
        let rows = batch.rows
        var loss: Double = 0
        dLogits.update(repeating: 0, count: B * K)
        for b in 0..<rows {
            let z = logits + b * K
            if K == 1 {
                let d = z[0] - batch.labels[b]
                loss += Double(d * d)
                dLogits[b] = 2 * d / Float(rows)
            } else {
                var m = z[0]
                for k in 1..<K { m = max(m, z[k]) }
                var sum: Double = 0
                for k in 0..<K { sum += Double(expf(z[k] - m)) }
                let target = Int(batch.labels[b])
                loss += Double(m) + log(sum) - Double(z[target])
                for k in 0..<K { dLogits[b * K + k] = Float(Double(expf(z[k] - m)) / sum) / Float(rows) }
                dLogits[b * K + target] -= 1 / Float(rows)
            }
        }
        let meanLoss = Float(loss / Double(max(rows, 1)))
        if computeGradients {
            linearBackward(dAct, g + outW, g + outB, dLogits, act, w + outW, B, H, K, overwrite: true)
            dropoutApply(dAct, B * H, p: p, seed: headSeeds.1)
            geluBackwardSaved(dAct, dAct, geluD, B * H)
            linearBackward(dCls, g + denseW, g + denseB, dAct, cls, w + denseW, B, H, H, overwrite: true)
            dropoutApply(dCls, B * H, p: p, seed: headSeeds.0)
            let dOut = encoder.outputGradient
            dOut.update(repeating: 0, count: B * L * H)
            for b in 0..<B { (dOut + b * L * H).update(from: dCls + b * H, count: H) }
            encoder.backward(ids: batch.ids, segments: batch.segments, attention: batch.attention, shared: shared,
                             config: config, w: w, g: g)
        }
        return (Array(UnsafeBufferPointer(start: logits, count: rows * K)), meanLoss)
    }
}
