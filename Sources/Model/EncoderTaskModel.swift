// What the fine-tuned models (SequenceClassifier, TokenClassifier) share: the discriminator's
// encoder under HuggingFace's `electra.*` names, a task head, one parameter and one gradient
// allocation, and HuggingFace's initialization. The optimizer and the fine-tuning loop see a
// model only through `EncoderTaskModel`.
import Kernels
import Randomness

/// A discriminator encoder with a task head, as the fine-tuning optimizer and loop see it.
public protocol EncoderTaskModel: AnyObject {
    var config: ElectraConfig { get }
    /// HuggingFace names: `electra.*` for the encoder, the head's own (`classifier.*`, `qa_outputs.*`).
    var parameterTable: [ParameterInfo] { get }
    var parameterCount: Int { get }
    var parameters: UnsafeMutablePointer<Float> { get }
    var gradients: UnsafeMutablePointer<Float> { get }
}

extension EncoderTaskModel {
    /// Sets every gradient to zero (backward passes accumulate).
    public func zeroGradients() { gradients.update(repeating: 0, count: parameterCount) }

    /// The encoder layer a parameter belongs to: 0 for the embeddings (and their projection),
    /// l + 1 for `electra.encoder.layer.l`, layers + 2 for the head (everything outside
    /// `electra.`; the depths of google-research/electra model/optimization.py `_get_layer_lrs`).
    public func depth(of p: ParameterInfo) -> Int {
        if !p.name.hasPrefix("electra.") { return config.numLayers + 2 }
        let prefix = "electra.encoder.layer."
        if p.name.hasPrefix(prefix), let l = Int(p.name.dropFirst(prefix.count).prefix { $0 != "." }) { return l + 1 }
        return 0
    }

    /// The parameters as (name, shape, values) under their HuggingFace names.
    public func parameterTensors(prefix: String = "") -> [(name: String, shape: [Int], values: UnsafeBufferPointer<Float>)] {
        parameterTable.map { (prefix + $0.name, $0.shape, UnsafeBufferPointer(start: parameters + $0.offset, count: $0.count)) }
    }

    /// Copies the tensors present in `tensors` (names with `prefix`) into the parameters; a tensor
    /// of the wrong shape is an error naming it. Returns the names of the tensors it did NOT find.
    @discardableResult
    public func assign(_ tensors: [String: (shape: [Int], values: [Float])], prefix: String = "", source: String) throws -> [String] {
        var missing: [String] = []
        for p in parameterTable {
            guard let t = tensors[prefix + p.name] else { missing.append(p.name); continue }
            guard t.shape == p.shape else {
                throw ModelError.mismatch("\(source): tensor \(prefix + p.name) has shape \(t.shape), the model expects \(p.shape)")
            }
            _ = UnsafeMutableBufferPointer(start: parameters + p.offset, count: p.count).update(from: t.values)
        }
        return missing
    }

    /// A buffer (parameters, gradients, moments) of one tensor by name.
    public func view(_ base: UnsafeMutablePointer<Float>, _ name: String) -> UnsafeMutableBufferPointer<Float>? {
        guard let info = parameterTable.first(where: { $0.name == name }) else { return nil }
        return UnsafeMutableBufferPointer(start: base + info.offset, count: info.count)
    }
}

/// The encoder part of a task model's parameter table: the embeddings, then the layers, under `electra.`.
func addEncoderParameters(_ config: ElectraConfig, to table: inout ParameterTableBuilder)
    -> (shared: SharedEmbeddings, shape: EncoderShape, offsets: EncoderOffsets) {
    let V = config.vocabSize, E = config.embeddingSize, H = config.hiddenSize
    let shared = SharedEmbeddings(
        word: table.add("electra.embeddings.word_embeddings.weight", [V, E]),
        position: table.add("electra.embeddings.position_embeddings.weight", [config.maxPositions, E]),
        tokenType: table.add("electra.embeddings.token_type_embeddings.weight", [config.typeVocabSize, E]),
        normWeight: table.add("electra.embeddings.LayerNorm.weight", [E], decays: false),
        normBias: table.add("electra.embeddings.LayerNorm.bias", [E], decays: false))
    let shape = EncoderShape(H: H, NH: config.numHeads, F: config.intermediateSize, layers: config.numLayers, E: E)
    let offsets = EncoderOffsets(prefix: "electra.", shape: shape, table: &table)
    return (shared, shape, offsets)
}

/// HuggingFace's initialization, drawn with `seed` in table order: N(0, initializerRange) for
/// weights, LayerNorm weights 1, biases 0, the padding row of the word embeddings 0.
func initializeTaskParameters(_ parameters: UnsafeMutablePointer<Float>, table: [ParameterInfo], config: ElectraConfig, seed: UInt64) {
    var rng = Xoshiro256(seed: seed, stream: 0x696E_6974)   // "init"
    let E = config.embeddingSize
    for p in table {
        let x = parameters + p.offset
        if p.name.hasSuffix("LayerNorm.weight") {
            for i in 0..<p.count { x[i] = 1 }
        } else if !p.name.hasSuffix(".bias") {
            for i in 0..<p.count { x[i] = gaussian(&rng) * config.initializerRange }
            if p.name == "electra.embeddings.word_embeddings.weight" {
                for e in 0..<E { x[Int(config.padID) * E + e] = 0 }
            }
        }
    }
}

/// Checks a task model's sizes: at least one output, a sequence length the positions cover.
func validateTaskModel(_ config: ElectraConfig, outputs: Int, seqLength: Int) throws {
    try config.validate()
    guard outputs >= 1 else { throw ModelError.badConfiguration("a task head needs at least one output") }
    guard seqLength >= 2, seqLength <= config.maxPositions else {
        throw ModelError.badConfiguration("sequence length \(seqLength) is not in 2...\(config.maxPositions) (the model's max positions)")
    }
}
