// The ELECTRA generator + discriminator pair, forward and backward, following
// google-research/electra run_pretraining.py (PretrainingModel) with HuggingFace's module layout
// (models/electra/modeling_electra.py) so that parameters map one to one onto
// ElectraForMaskedLM / ElectraForPreTraining. Shared: word, position and token-type embeddings
// and the embedding LayerNorm. Each model has its own embeddings_project when sizes differ.
// Parameters, gradients and activations each live in one allocation sized once (llm.c style).
import Foundation
import Kernels
import Randomness

/// One parameter tensor of the arena.
public struct ParameterInfo: Sendable, Equatable {
    /// HuggingFace-style name: `embeddings.*` (shared), `discriminator.<HF name>`, `generator.<HF name>`.
    public var name: String
    public var shape: [Int]
    public var offset: Int
    public var count: Int { shape.reduce(1, *) }
    /// False for LayerNorm weights and biases and for all biases (no weight decay).
    public var decays: Bool
}

/// One training batch, as the model reads it (the masking module's MaskedBatch has the same fields).
public struct ElectraInputs {
    public var batchSize: Int, seqLength: Int, maxPredictions: Int
    public var inputIDs: [Int32]          // [B*L] masked input ids
    public var segmentIDs: [Int32]        // [B*L]
    public var attentionMask: [Int32]     // [B*L] 1 real, 0 padding
    public var maskedPositions: [Int32]   // [B*N]
    public var maskedOriginalIDs: [Int32] // [B*N]
    public var maskedWeights: [Float]     // [B*N]

    public init(batchSize: Int, seqLength: Int, maxPredictions: Int, inputIDs: [Int32], segmentIDs: [Int32],
                attentionMask: [Int32], maskedPositions: [Int32], maskedOriginalIDs: [Int32], maskedWeights: [Float]) {
        self.batchSize = batchSize; self.seqLength = seqLength; self.maxPredictions = maxPredictions
        self.inputIDs = inputIDs; self.segmentIDs = segmentIDs; self.attentionMask = attentionMask
        self.maskedPositions = maskedPositions; self.maskedOriginalIDs = maskedOriginalIDs; self.maskedWeights = maskedWeights
    }
}

/// What one step computed: the losses and what the metrics need.
public struct StepResult {
    public var totalLoss: Float
    public var generatorLoss: Float
    public var discriminatorLoss: Float
    /// Generator argmax predictions and Gumbel samples at the B*N slots.
    public var generatorPredictions: [Int32]
    public var sampledTokens: [Int32]
    /// Discriminator logits and labels (1 = replaced) at the B*L positions.
    public var discriminatorLogits: [Float]
    public var discriminatorLabels: [Float]
}

/// The generator and discriminator with their parameter, gradient and activation arenas.
public final class ElectraModel {
    public let config: ElectraConfig
    public let batchSize: Int, seqLength: Int, maxPredictions: Int
    public let parameterTable: [ParameterInfo]
    public let parameterCount: Int
    /// Parameters and gradients: one allocation each, `parameterCount` floats.
    public let parameters: UnsafeMutablePointer<Float>
    public let gradients: UnsafeMutablePointer<Float>

    let shared: SharedEmbeddings
    let discriminator: Encoder
    let generator: Encoder
    let head: Heads
    private var offsets: [String: Int] = [:]

    /// Builds the model for batches of `batchSize` x `seqLength` with `maxPredictions` slots per row,
    /// parameters drawn N(0, initializerRange) with `seed` (LayerNorm weights 1, biases 0, the
    /// padding row of the word embeddings 0, as HuggingFace initializes them).
    public init(config: ElectraConfig, batchSize: Int, seqLength: Int, maxPredictions: Int, seed: UInt64) throws {
        try config.validate()
        guard seqLength <= config.maxPositions else {
            throw ModelError.badConfiguration("sequence length \(seqLength) exceeds max positions \(config.maxPositions)")
        }
        self.config = config
        self.batchSize = batchSize
        self.seqLength = seqLength
        self.maxPredictions = maxPredictions
        var table = TableBuilder()
        let V = config.vocabSize, E = config.embeddingSize
        shared = SharedEmbeddings(
            word: table.add("embeddings.word_embeddings.weight", [V, E]),
            position: table.add("embeddings.position_embeddings.weight", [config.maxPositions, E]),
            tokenType: table.add("embeddings.token_type_embeddings.weight", [config.typeVocabSize, E]),
            lnWeight: table.add("embeddings.LayerNorm.weight", [E], decays: false),
            lnBias: table.add("embeddings.LayerNorm.bias", [E], decays: false))
        let disc = EncoderShape(H: config.hiddenSize, NH: config.numHeads, F: config.intermediateSize,
                                layers: config.numLayers, E: E)
        let gen = EncoderShape(H: config.generatorHiddenSize, NH: config.generatorHeads,
                               F: config.generatorIntermediateSize, layers: config.generatorLayers, E: E)
        let discOffsets = EncoderOffsets(prefix: "discriminator.electra.", shape: disc, table: &table)
        let H = disc.H, Hg = gen.H
        let discHead = (dense: table.add("discriminator.discriminator_predictions.dense.weight", [H, H]),
                        denseBias: table.add("discriminator.discriminator_predictions.dense.bias", [H], decays: false),
                        out: table.add("discriminator.discriminator_predictions.dense_prediction.weight", [1, H]),
                        outBias: table.add("discriminator.discriminator_predictions.dense_prediction.bias", [1], decays: false))
        let genOffsets = EncoderOffsets(prefix: "generator.electra.", shape: gen, table: &table)
        let genHead = (dense: table.add("generator.generator_predictions.dense.weight", [E, Hg]),
                       denseBias: table.add("generator.generator_predictions.dense.bias", [E], decays: false),
                       lnWeight: table.add("generator.generator_predictions.LayerNorm.weight", [E], decays: false),
                       lnBias: table.add("generator.generator_predictions.LayerNorm.bias", [E], decays: false),
                       lmBias: table.add("generator.generator_lm_head.bias", [V], decays: false))
        parameterTable = table.entries
        parameterCount = table.total
        parameters = .allocate(capacity: parameterCount)
        gradients = .allocate(capacity: parameterCount)
        parameters.initialize(repeating: 0, count: parameterCount)
        gradients.initialize(repeating: 0, count: parameterCount)
        let M = batchSize * seqLength
        discriminator = Encoder(shape: disc, offsets: discOffsets, B: batchSize, L: seqLength, dropout: config.dropout)
        generator = Encoder(shape: gen, offsets: genOffsets, B: batchSize, L: seqLength, dropout: config.dropout)
        head = Heads(M: M, P: batchSize * maxPredictions, V: V, E: E, H: H, Hg: Hg,
                     discDense: discHead.dense, discDenseBias: discHead.denseBias, discOut: discHead.out,
                     discOutBias: discHead.outBias, genDense: genHead.dense, genDenseBias: genHead.denseBias,
                     genLNWeight: genHead.lnWeight, genLNBias: genHead.lnBias, lmBias: genHead.lmBias)
        for p in parameterTable { offsets[p.name] = p.offset }
        initializeParameters(seed: seed)
    }

    deinit {
        parameters.deallocate()
        gradients.deallocate()
    }

    /// The parameters of one tensor, by name.
    public func parameter(_ name: String) -> UnsafeMutableBufferPointer<Float>? {
        guard let info = parameterTable.first(where: { $0.name == name }) else { return nil }
        return UnsafeMutableBufferPointer(start: parameters + info.offset, count: info.count)
    }

    /// The gradient of one tensor, by name.
    public func gradient(_ name: String) -> UnsafeMutableBufferPointer<Float>? {
        guard let info = parameterTable.first(where: { $0.name == name }) else { return nil }
        return UnsafeMutableBufferPointer(start: gradients + info.offset, count: info.count)
    }

    private func initializeParameters(seed: UInt64) {
        var rng = Xoshiro256(seed: seed, stream: 0x696E_6974)   // "init"
        for p in parameterTable {
            let x = parameters + p.offset
            if p.name.hasSuffix("LayerNorm.weight") {
                for i in 0..<p.count { x[i] = 1 }
            } else if p.name.hasSuffix(".bias") {
                for i in 0..<p.count { x[i] = 0 }
            } else {
                for i in 0..<p.count { x[i] = gaussian(&rng) * config.initializerRange }
                if p.name == "embeddings.word_embeddings.weight" {
                    let row = x + Int(config.padID) * config.embeddingSize
                    for e in 0..<config.embeddingSize { row[e] = 0 }
                }
            }
        }
    }

    /// Sets every gradient to zero (backward passes accumulate).
    public func zeroGradients() {
        gradients.update(repeating: 0, count: parameterCount)
    }

    /// One forward pass of both models and, when `computeGradients`, the backward pass
    /// (gradients are ACCUMULATED; call `zeroGradients()` first).
    /// - Parameters:
    ///   - training: dropout on (drawn from `rng`) when true.
    ///   - gumbelNoise: [B*N*V] noise added to the generator logits before the argmax; nil draws
    ///     it from `rng` (Gumbel(0, 1) as ELECTRA: -log(-log(u + 1e-9) + 1e-9)).
    public func step(_ inputs: ElectraInputs, training: Bool, computeGradients: Bool,
                     rng: inout Xoshiro256, gumbelNoise: [Float]? = nil) -> StepResult {
        precondition(inputs.batchSize == batchSize && inputs.seqLength == seqLength && inputs.maxPredictions == maxPredictions,
                     "batch shape differs from the one the model was built for")
        let B = batchSize, L = seqLength, N = maxPredictions, V = config.vocabSize, E = config.embeddingSize
        let M = B * L, P = B * N
        let w = parameters, g = gradients
        let dropP: Float = training ? config.dropout : 0
        var t = DispatchTime.now().uptimeNanoseconds

        // Rows of the masked positions; the original input (masked positions restored).
        var rows = [Int](repeating: 0, count: P)
        var original = inputs.inputIDs
        for b in 0..<B {
            for k in 0..<N {
                let slot = b * N + k
                rows[slot] = b * L + Int(inputs.maskedPositions[slot])
                if inputs.maskedWeights[slot] > 0 { original[rows[slot]] = inputs.maskedOriginalIDs[slot] }
            }
        }

        // ---- Generator forward: encoder on the masked input, head at the masked positions only.
        let genOut = generator.forward(ids: inputs.inputIDs, segments: inputs.segmentIDs, attention: inputs.attentionMask,
                                       shared: shared, config: config, w: w, dropout: dropP,
                                       keepForBackward: computeGradients, rng: &rng)
        lap("generator encoder forward", &t)
        let h = head
        gatherRowsForward(h.genGathered, genOut, rows, generator.shape.H)
        // Dense + GELU with the bias added in the GELU pass; with gradients, GELU's derivative
        // replaces the pre-activation (the backward needs nothing else of it).
        linearForward(h.genDense, h.genGathered, w + h.genDenseW, nil, P, generator.shape.H, E)
        biasGeluForward(h.genAct, h.genDense, w + h.genDenseB, P, E, derivative: computeGradients ? h.genDense : nil)
        layerNormForward(h.genLN, h.genLNMean, h.genLNRstd, h.genAct, w + h.genLNW, w + h.genLNB, P, E, eps: config.layerNormEps)
        linearForward(h.genLogits, h.genLN, w + shared.word, w + h.lmBias, P, E, V)
        let genLoss = softmaxCrossEntropy(computeGradients ? h.dGenLogits : nil, h.genLogits, inputs.maskedOriginalIDs,
                                          inputs.maskedWeights, P, V)

        lap("generator head forward", &t)
        // ---- Sampling (no gradient). Gumbel-max, argmax(logits + G) with G ~ Gumbel(0, 1), draws
        // exactly from softmax(logits); without given noise we draw from that distribution by
        // inverting its CDF (one uniform per row instead of V Gumbel draws).
        var predictions = [Int32](repeating: 0, count: P)
        var sampled = [Int32](repeating: 0, count: P)
        // One uniform per row, drawn in row order before the rows are spread over the threads.
        let uniforms = gumbelNoise == nil ? (0..<P).map { _ in rng.nextDouble() } : []
        // The rows' exponentials go to a per-thread row.
        let logits = h.genLogits
        predictions.withUnsafeMutableBufferPointer { predictions in
            sampled.withUnsafeMutableBufferPointer { sampled in
                parallelChunksIndexed(P, minimumPerThread: 8) { range, thread in
                    for p in range {
                        let row = logits + p * V
                        let bestValue = vectorMax(row, V)
                        var best = 0
                        while row[best] != bestValue { best += 1 }
                        predictions[p] = Int32(best)
                        if let gumbelNoise {
                            var bestNoisy = 0
                            var bestNoisyValue = -Float.infinity
                            for v in 0..<V where row[v] + gumbelNoise[p * V + v] > bestNoisyValue {
                                bestNoisyValue = row[v] + gumbelNoise[p * V + v]
                                bestNoisy = v
                            }
                            sampled[p] = Int32(bestNoisy)
                        } else {
                            let e = h.sampleRows + thread * V
                            let mv = SIMD8<Float>(repeating: bestValue)
                            map8(e, row, V) { exp8($0 - mv) }
                            var total: Double = 0
                            for v in 0..<V { total += Double(e[v]) }
                            var target = uniforms[p] * total
                            var choice = V - 1
                            for v in 0..<V {
                                target -= Double(e[v])
                                if target < 0 { choice = v; break }
                            }
                            sampled[p] = Int32(choice)
                        }
                    }
                }
            }
        }
        lap("sampling", &t)

        // ---- Discriminator input and labels: 1 where the sample differs from the original.
        var discIDs = original
        var labels = [Float](repeating: 0, count: M)
        for slot in 0..<P where inputs.maskedWeights[slot] > 0 {
            discIDs[rows[slot]] = sampled[slot]
            labels[rows[slot]] = sampled[slot] != inputs.maskedOriginalIDs[slot] ? 1 : 0
        }
        let weights = inputs.attentionMask.map { Float($0) }
        let discOut = discriminator.forward(ids: discIDs, segments: inputs.segmentIDs, attention: inputs.attentionMask,
                                            shared: shared, config: config, w: w, dropout: dropP,
                                       keepForBackward: computeGradients, rng: &rng)
        lap("discriminator encoder forward", &t)
        let H = discriminator.shape.H
        linearForward(h.discDense, discOut, w + h.discDenseW, nil, M, H, H)
        biasGeluForward(h.discAct, h.discDense, w + h.discDenseB, M, H, derivative: computeGradients ? h.discDense : nil)
        linearForward(h.discLogits, h.discAct, w + h.discOutW, w + h.discOutB, M, H, 1)
        let discLoss = sigmoidCrossEntropy(computeGradients ? h.dDiscLogits : nil, h.discLogits, labels, weights, M,
                                           dloss: config.discriminatorWeight)
        let total = genLoss + config.discriminatorWeight * discLoss
        lap("discriminator head forward", &t)

        if computeGradients {
            // ---- Discriminator backward (reverse of its forward).
            linearBackward(h.dDiscAct, g + h.discOutW, g + h.discOutB, h.dDiscLogits, h.discAct, w + h.discOutW, M, H, 1,
                           overwrite: true)
            geluBackwardSaved(h.dDiscAct, h.discDense, M * H)   // h.discDense holds gelu'
            let dDiscOut = discriminator.outputGradient
            linearBackward(dDiscOut, g + h.discDenseW, g + h.discDenseB, h.dDiscAct, discOut, w + h.discDenseW, M, H, H,
                           overwrite: true)
            lap("discriminator head backward", &t)
            discriminator.backward(ids: discIDs, segments: inputs.segmentIDs, attention: inputs.attentionMask,
                                   shared: shared, config: config, w: w, g: g)
            lap("discriminator encoder backward", &t)

            // ---- Generator backward: head (the tied word embeddings get the logits' gradient), encoder.
            let Hg = generator.shape.H
            linearBackward(h.dGenLN, g + shared.word, g + h.lmBias, h.dGenLogits, h.genLN, w + shared.word, P, E, V,
                           overwrite: true)
            layerNormBackward(h.dGenAct, g + h.genLNW, g + h.genLNB, h.dGenLN, h.genAct, w + h.genLNW,
                              h.genLNMean, h.genLNRstd, P, E, overwrite: true)
            geluBackwardSaved(h.dGenAct, h.genDense, P * E)     // h.genDense holds gelu'
            linearBackward(h.dGenGathered, g + h.genDenseW, g + h.genDenseB, h.dGenAct, h.genGathered, w + h.genDenseW, P, Hg, E,
                           overwrite: true)
            let dGenOut = generator.outputGradient
            dGenOut.update(repeating: 0, count: M * Hg)
            gatherRowsBackward(dGenOut, h.dGenGathered, rows, Hg)
            lap("generator head backward", &t)
            generator.backward(ids: inputs.inputIDs, segments: inputs.segmentIDs, attention: inputs.attentionMask,
                               shared: shared, config: config, w: w, g: g)
            lap("generator encoder backward", &t)
        }
        return StepResult(totalLoss: total, generatorLoss: genLoss, discriminatorLoss: discLoss,
                          generatorPredictions: predictions, sampledTokens: sampled,
                          discriminatorLogits: Array(UnsafeBufferPointer(start: h.discLogits, count: M)),
                          discriminatorLabels: labels)
    }

    /// Adds the time since `t` to `KernelProfile.seconds["phase: NAME"]` when profiling is on
    /// (bench-model's breakdown of a step by phase).
    @inline(__always) private func lap(_ name: String, _ t: inout UInt64) {
        guard KernelProfile.enabled else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        KernelProfile.seconds["phase: " + name, default: 0] += Double(now - t) / 1e9
        t = now
    }

    /// Training FLOPs per token (forward + backward = 3 x forward), generator head at the
    /// masked positions only: the figure of the ELECTRA paper's appendix (about 70 MFLOP for Small).
    public var trainingFLOPsPerToken: Double {
        func encoder(_ H: Int, _ F: Int, _ layers: Int, _ projects: Bool) -> Double {
            let perLayer = 2.0 * Double(4 * H * H + 2 * H * F) + 4.0 * Double(seqLength * H)
            return Double(layers) * perLayer + (projects ? 2.0 * Double(config.embeddingSize * H) : 0)
        }
        let E = config.embeddingSize, H = config.hiddenSize, Hg = config.generatorHiddenSize, V = config.vocabSize
        let disc = encoder(H, config.intermediateSize, config.numLayers, E != H) + 2.0 * Double(H * H + H)
        let gen = encoder(Hg, config.generatorIntermediateSize, config.generatorLayers, E != Hg)
            + Double(maxPredictions) / Double(seqLength) * 2.0 * Double(Hg * E + E * V)
        return 3 * (disc + gen)
    }

    /// The discriminator alone (dropout off): one logit per position, > 0 meaning "replaced".
    /// Rows are the model's batch shape; shorter inputs are padded by the caller.
    public func discriminatorLogits(ids: [Int32], segments: [Int32], attention: [Int32]) -> [Float] {
        var rng = Xoshiro256(seed: 0)
        let M = batchSize * seqLength, H = discriminator.shape.H, h = head, w = parameters
        let out = discriminator.forward(ids: ids, segments: segments, attention: attention, shared: shared,
                                        config: config, w: w, dropout: 0, keepForBackward: false, rng: &rng)
        linearForward(h.discDense, out, w + h.discDenseW, w + h.discDenseB, M, H, H)
        geluForward(h.discAct, h.discDense, M * H)
        linearForward(h.discLogits, h.discAct, w + h.discOutW, w + h.discOutB, M, H, 1)
        return Array(UnsafeBufferPointer(start: h.discLogits, count: M))
    }

    /// Copies the given tensors (our names) into the parameters; unknown names or wrong shapes
    /// are errors naming the tensor. Returns how many tensors were copied.
    @discardableResult
    public func assignParameters(_ tensors: [String: (shape: [Int], values: [Float])], source: String) throws -> Int {
        var copied = 0
        for (name, t) in tensors {
            guard let info = parameterTable.first(where: { $0.name == name }) else {
                throw ModelError.mismatch("\(source): tensor \(name) does not exist in this model configuration")
            }
            guard info.shape == t.shape else {
                throw ModelError.mismatch("\(source): tensor \(name) has shape \(t.shape), the model expects \(info.shape)")
            }
            _ = UnsafeMutableBufferPointer(start: parameters + info.offset, count: info.count).update(from: t.values)
            copied += 1
        }
        return copied
    }

    /// Generator logits at the B*N masked slots of the last step ([B*N, V]).
    public var lastGeneratorLogits: UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(start: head.genLogits, count: batchSize * maxPredictions * config.vocabSize)
    }
}

/// A standard normal draw (Box-Muller).
func gaussian(_ rng: inout Xoshiro256) -> Float {
    let u1 = max(rng.nextDouble(), 1e-300), u2 = rng.nextDouble()
    return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
}

/// Lays out the parameter table.
struct TableBuilder {
    var entries: [ParameterInfo] = []
    var total = 0
    mutating func add(_ name: String, _ shape: [Int], decays: Bool = true) -> Int {
        let offset = total
        entries.append(ParameterInfo(name: name, shape: shape, offset: offset, decays: decays))
        total += shape.reduce(1, *)
        return offset
    }
}

/// Offsets of the shared embedding tensors.
struct SharedEmbeddings {
    let word: Int, position: Int, tokenType: Int, lnWeight: Int, lnBias: Int
}

/// Sizes of one transformer encoder.
struct EncoderShape {
    let H: Int, NH: Int, F: Int, layers: Int, E: Int
    var projects: Bool { E != H }
}

/// Offsets of one encoder's tensors in the parameter arena.
struct EncoderOffsets {
    struct Layer {
        let q: Int, qb: Int, k: Int, kb: Int, v: Int, vb: Int, ao: Int, aob: Int, ln1w: Int, ln1b: Int
        let i: Int, ib: Int, o: Int, ob: Int, ln2w: Int, ln2b: Int
    }
    let projection: Int?, projectionBias: Int?
    let layers: [Layer]

    init(prefix: String, shape s: EncoderShape, table: inout TableBuilder) {
        if s.projects {
            projection = table.add(prefix + "embeddings_project.weight", [s.H, s.E])
            projectionBias = table.add(prefix + "embeddings_project.bias", [s.H], decays: false)
        } else {
            projection = nil
            projectionBias = nil
        }
        layers = (0..<s.layers).map { l in
            let p = prefix + "encoder.layer.\(l)."
            // q, k, v weights next to each other, then their biases: one [3H, H] product.
            let q = table.add(p + "attention.self.query.weight", [s.H, s.H])
            let k = table.add(p + "attention.self.key.weight", [s.H, s.H])
            let v = table.add(p + "attention.self.value.weight", [s.H, s.H])
            let qb = table.add(p + "attention.self.query.bias", [s.H], decays: false)
            let kb = table.add(p + "attention.self.key.bias", [s.H], decays: false)
            let vb = table.add(p + "attention.self.value.bias", [s.H], decays: false)
            precondition(k == q + s.H * s.H && v == k + s.H * s.H && kb == qb + s.H && vb == kb + s.H)
            return Layer(
                q: q, qb: qb, k: k, kb: kb, v: v, vb: vb,
                ao: table.add(p + "attention.output.dense.weight", [s.H, s.H]),
                aob: table.add(p + "attention.output.dense.bias", [s.H], decays: false),
                ln1w: table.add(p + "attention.output.LayerNorm.weight", [s.H], decays: false),
                ln1b: table.add(p + "attention.output.LayerNorm.bias", [s.H], decays: false),
                i: table.add(p + "intermediate.dense.weight", [s.F, s.H]),
                ib: table.add(p + "intermediate.dense.bias", [s.F], decays: false),
                o: table.add(p + "output.dense.weight", [s.H, s.F]),
                ob: table.add(p + "output.dense.bias", [s.H], decays: false),
                ln2w: table.add(p + "output.LayerNorm.weight", [s.H], decays: false),
                ln2b: table.add(p + "output.LayerNorm.bias", [s.H], decays: false))
        }
    }
}

/// A bump allocator over one allocation: activations are views carved out of it once.
final class Arena {
    private let base: UnsafeMutablePointer<Float>
    private let capacity: Int
    private var used = 0
    init(floats: Int) {
        capacity = floats
        base = .allocate(capacity: floats)
        base.initialize(repeating: 0, count: floats)
    }
    deinit { base.deallocate() }
    func take(_ count: Int) -> UnsafeMutablePointer<Float> {
        precondition(used + count <= capacity, "arena overflow")
        defer { used += count }
        return base + used
    }
}
