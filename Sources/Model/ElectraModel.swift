// The ELECTRA generator + discriminator pair, following google-research/electra
// run_pretraining.py (PretrainingModel) with HuggingFace's module layout
// (models/electra/modeling_electra.py) so that parameters map one to one onto
// ElectraForMaskedLM / ElectraForPreTraining. Shared: word, position and token-type embeddings
// and the embedding LayerNorm. Each model has its own embeddings_project when sizes differ.
// Parameters and gradients each live in one allocation laid out by the parameter table
// (ParameterTable.swift); activations in arenas owned by the encoders and heads (llm.c style).
// The training step is in ElectraModel+Step.swift.
import Foundation
import Kernels
import Randomness

/// What one step computed: the losses and what the metrics need.
public struct StepResult {
    public var totalLoss: Float
    public var generatorLoss: Float
    public var discriminatorLoss: Float
    /// Generator argmax predictions and sampled tokens at the B*N slots.
    public var generatorPredictions: [Int32]
    public var sampledTokens: [Int32]
    /// Discriminator logits and labels (1 = replaced) at the B*L positions.
    public var discriminatorLogits: [Float]
    public var discriminatorLabels: [Float]
    /// Evaluation only (no dropout, no gradients): per hidden unit, the sum and the sum of
    /// squares of the discriminator's last-layer output over the real positions, and their
    /// count; `HiddenSpread` turns them into the spread that shows a collapsed encoder.
    public var discriminatorHidden: HiddenSpread?
}

/// The spread of an encoder's output over positions: per hidden unit, the standard deviation
/// over every real position seen, averaged over the units. A collapsed encoder gives (nearly)
/// the same vector at every position of every text: its spread is near 0 (a live tiny
/// discriminator's is about 0.1-0.5, a collapsed one's under 0.001).
public struct HiddenSpread: Sendable, Equatable {
    public var sums: [Double]
    public var squares: [Double]
    public var count = 0

    public init(units: Int) {
        sums = [Double](repeating: 0, count: units)
        squares = [Double](repeating: 0, count: units)
    }

    /// Adds the rows of `output` (rows x units) whose `mask` is not 0.
    public mutating func add(_ output: UnsafePointer<Float>, rows: Int, mask: [Int32]) {
        let H = sums.count
        for r in 0..<rows where mask[r] != 0 {
            let row = output + r * H
            for j in 0..<H {
                let x = Double(row[j])
                sums[j] += x
                squares[j] += x * x
            }
            count += 1
        }
    }

    public mutating func add(_ other: HiddenSpread) {
        for j in sums.indices { sums[j] += other.sums[j]; squares[j] += other.squares[j] }
        count += other.count
    }

    /// The mean over units of the standard deviation over positions (0 when nothing was added).
    public var value: Double {
        guard count > 1 else { return 0 }
        let n = Double(count)
        var total = 0.0
        for j in sums.indices {
            let mean = sums[j] / n
            total += max(0, squares[j] / n - mean * mean).squareRoot()
        }
        return total / Double(sums.count)
    }
}

/// The generator and discriminator with their parameter, gradient and activation memory.
public final class ElectraModel {
    public let config: ElectraConfig
    public let batchSize: Int, seqLength: Int, maxPredictions: Int
    public let parameterTable: [ParameterInfo]
    public let parameterCount: Int
    /// Parameters and gradients: one allocation each, `parameterCount` floats.
    public let parameters: UnsafeMutablePointer<Float>
    public let gradients: UnsafeMutablePointer<Float>
    /// Times the step's phases and the encoders' kernels when set (bench-model); nil: nothing is timed.
    public var profile: StepProfile? {
        didSet { generator?.profile = profile; discriminator.profile = profile }
    }

    /// Position of each tensor in `parameterTable`, by name.
    private let tableIndex: [String: Int]
    let shared: SharedEmbeddings
    /// nil for BERT's objective (`.mlm`), whose `discriminator` is the masked LM's encoder and
    /// `generatorHead` its masked-LM head at the encoder's size.
    let generator: Encoder?
    let generatorHead: GeneratorHead
    let sampler: Sampler?
    let discriminator: Encoder
    let discriminatorHead: DiscriminatorHead?
    /// The pieces of the gradient buffer the backward finishes one after another.
    let gradientBuckets: [GradientBucket: Range<Int>]

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
        let E = config.embeddingSize
        let disc = EncoderShape(H: config.hiddenSize, NH: config.numHeads, F: config.intermediateSize,
                                layers: config.numLayers, E: E)
        let gen = EncoderShape(H: config.generatorHiddenSize, NH: config.generatorHeads,
                               F: config.generatorIntermediateSize, layers: config.generatorLayers, E: E)
        let layout = ParameterLayout(config: config, discriminator: disc, generator: gen)
        parameterTable = layout.table
        parameterCount = layout.count
        tableIndex = Dictionary(uniqueKeysWithValues: layout.table.enumerated().map { ($1.name, $0) })
        parameters = .allocate(capacity: parameterCount)
        gradients = .allocate(capacity: parameterCount)
        parameters.initialize(repeating: 0, count: parameterCount)
        gradients.initialize(repeating: 0, count: parameterCount)
        let B = batchSize, L = seqLength, N = maxPredictions
        shared = layout.shared
        generator = layout.generator.map { Encoder(shape: gen, offsets: $0, B: B, L: L) }
        let headInput = layout.generator == nil ? disc.H : gen.H   // BERT's head reads the encoder
        generatorHead = GeneratorHead(offsets: layout.generatorHead, B: B, L: L, N: N, V: config.vocabSize, E: E, Hg: headInput)
        sampler = layout.generator == nil ? nil : Sampler(P: B * N, V: config.vocabSize)
        discriminator = Encoder(shape: disc, offsets: layout.discriminator, B: B, L: L)
        discriminatorHead = layout.discriminatorHead.map { DiscriminatorHead(offsets: $0, M: B * L, H: disc.H) }
        gradientBuckets = GradientBucket.ranges(table: layout.table, discriminatorLayers: disc.layers,
                                                generatorLayers: gen.layers)
        initializeParameters(seed: seed)
    }

    deinit {
        parameters.deallocate()
        gradients.deallocate()
    }

    /// The table entry of one tensor, by name.
    public func parameterInfo(_ name: String) -> ParameterInfo? {
        tableIndex[name].map { parameterTable[$0] }
    }

    /// The parameters of one tensor, by name.
    public func parameter(_ name: String) -> UnsafeMutableBufferPointer<Float>? {
        guard let info = parameterInfo(name) else { return nil }
        return UnsafeMutableBufferPointer(start: parameters + info.offset, count: info.count)
    }

    /// The gradient of one tensor, by name.
    public func gradient(_ name: String) -> UnsafeMutableBufferPointer<Float>? {
        guard let info = parameterInfo(name) else { return nil }
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
    /// Calls `body` with the discriminator's output (B*L, H) of the last step, valid only inside it.
    public func lastDiscriminatorOutput(_ body: (UnsafePointer<Float>) -> Void) {
        body(UnsafePointer(discriminator.lastOutput))
    }

    public func zeroGradients() {
        gradients.update(repeating: 0, count: parameterCount)
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
        let out = discriminator.forward(ids: ids, segments: segments, attention: attention, shared: shared,
                                        config: config, w: parameters, dropout: 0, keepForBackward: false, dropoutKey: 0)
        guard let discriminatorHead else { preconditionFailure("a masked-LM model (objective mlm) has no replaced-token head") }
        discriminatorHead.forward(out, w: parameters, keepForBackward: false)
        return Array(UnsafeBufferPointer(start: discriminatorHead.logits, count: batchSize * seqLength))
    }

    /// Copies the given tensors (our names) into the parameters; unknown names or wrong shapes
    /// are errors naming the tensor. Returns how many tensors were copied.
    @discardableResult
    public func assignParameters(_ tensors: [String: (shape: [Int], values: [Float])], source: String) throws -> Int {
        var copied = 0
        for (name, t) in tensors {
            guard let info = parameterInfo(name) else {
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
        UnsafeBufferPointer(start: generatorHead.logits, count: batchSize * maxPredictions * config.vocabSize)
    }
}
