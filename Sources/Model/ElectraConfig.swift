// Model sizes: the paper's presets (ELECTRA-Small/Base/Large, Clark et al. 2020, table 6) and a
// tiny one for 2-core machines. The generator is the same transformer at a fraction of the
// discriminator's hidden size; heads = hidden / 64 (at least 1), FFN = 4 x hidden.

/// Every size of an ELECTRA generator + discriminator pair.
public struct ElectraConfig: Codable, Equatable, Sendable {
    public var vocabSize: Int
    public var embeddingSize: Int
    public var hiddenSize: Int
    public var numLayers: Int
    public var numHeads: Int
    public var intermediateSize: Int
    public var generatorHiddenSize: Int
    public var generatorLayers: Int
    public var generatorHeads: Int
    public var generatorIntermediateSize: Int
    public var maxPositions = 512
    public var typeVocabSize = 2
    /// Hidden and attention-probability dropout (BERT/ELECTRA: 0.1).
    public var dropout: Float = 0.1
    public var layerNormEps: Float = 1e-12
    public var initializerRange: Float = 0.02
    /// Weight of the discriminator loss in the total (ELECTRA: 50).
    public var discriminatorWeight: Float = 50
    public var padID: Int32 = 0
    /// What the run learns from; nil is ELECTRA (and keeps configurations written before the
    /// field existed, and ELECTRA runs' files, as they were).
    public var objective: PretrainingObjective?

    /// `objective`, ELECTRA when nil.
    public var trainingObjective: PretrainingObjective { objective ?? .electra }

    /// A configuration from the discriminator's sizes and the generator's hidden-size fraction.
    public init(vocabSize: Int, embeddingSize: Int, hiddenSize: Int, numLayers: Int, numHeads: Int? = nil,
                intermediateSize: Int? = nil, generatorFraction: Double = 0.25, maxPositions: Int = 512) {
        self.vocabSize = vocabSize
        self.embeddingSize = embeddingSize
        self.hiddenSize = hiddenSize
        self.numLayers = numLayers
        self.numHeads = numHeads ?? max(1, hiddenSize / 64)
        self.intermediateSize = intermediateSize ?? 4 * hiddenSize
        generatorHiddenSize = Int((Double(hiddenSize) * generatorFraction).rounded())
        generatorLayers = numLayers
        generatorHeads = max(1, generatorHiddenSize / 64)
        generatorIntermediateSize = 4 * generatorHiddenSize
        self.maxPositions = maxPositions
    }

    /// The named presets: small, base, large (the paper) and tiny (minutes on 2 cores).
    public static func preset(_ name: String, vocabSize: Int) -> ElectraConfig? {
        switch name {
        case "tiny":
            return ElectraConfig(vocabSize: vocabSize, embeddingSize: 64, hiddenSize: 128, numLayers: 4,
                                 numHeads: 2, generatorFraction: 0.25, maxPositions: 128)
        case "small":
            return ElectraConfig(vocabSize: vocabSize, embeddingSize: 128, hiddenSize: 256, numLayers: 12)
        case "base":
            return ElectraConfig(vocabSize: vocabSize, embeddingSize: 768, hiddenSize: 768, numLayers: 12,
                                 generatorFraction: 1.0 / 3.0)
        case "large":
            return ElectraConfig(vocabSize: vocabSize, embeddingSize: 1024, hiddenSize: 1024, numLayers: 24)
        default:
            return nil
        }
    }

    public static let presetNames = ["tiny", "small", "base", "large"]

    /// The peak learning rate a preset trains with by default: the paper's for small (5e-4), base
    /// and large (2e-4, at batch 128-2048 with 10,000 warm-up steps), and small's 5e-4 for tiny.
    /// Tiny's was 1e-3 (with 50 warm-up steps): its discriminator collapsed, the same vector at
    /// every position, within 100 steps in every run we made, PyTorch's in about half (issue 28;
    /// docs/ARCHITECTURE.md, "Default recipe"). 5e-4 behind the default warm-up (a fifth of the
    /// run, TrainingOptions.defaultWarmupSteps) keeps it live, and still learns the corpus fast
    /// enough to help fine-tuning (1e-4 did not: below random initialization after 4,000 steps).
    public static func presetLearningRate(_ name: String) -> Float? {
        ["tiny": 5e-4, "small": 5e-4, "base": 2e-4, "large": 2e-4][name]
    }

    /// Checks that the sizes fit together; the message names the size to change.
    public func validate() throws {
        func check(_ ok: Bool, _ message: String) throws {
            if !ok { throw ModelError.badConfiguration(message) }
        }
        try check(vocabSize > 5, "vocabulary size \(vocabSize) is too small")
        try check(hiddenSize % numHeads == 0, "hidden size \(hiddenSize) is not a multiple of the \(numHeads) heads")
        try check(generatorHiddenSize >= 1 && generatorHiddenSize % generatorHeads == 0,
                  "generator hidden size \(generatorHiddenSize) is not a positive multiple of its \(generatorHeads) heads")
        try check(numLayers >= 1 && generatorLayers >= 1, "layers must be at least 1")
        try check(embeddingSize >= 1 && intermediateSize >= 1 && generatorIntermediateSize >= 1, "sizes must be positive")
        try check(dropout >= 0 && dropout < 1, "dropout must be in [0, 1)")
    }
}

/// Problems of the model and its files.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case badConfiguration(String)
    case badCheckpoint(file: String, problem: String)
    case mismatch(String)

    public var description: String {
        switch self {
        case .badConfiguration(let why): return "invalid model configuration: \(why)"
        case .badCheckpoint(let file, let problem): return "\(file): \(problem)"
        case .mismatch(let why): return why
        }
    }
}
