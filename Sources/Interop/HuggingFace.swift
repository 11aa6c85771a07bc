// HuggingFace transformers layout for ELECTRA (models/electra): ElectraForPreTraining (the
// discriminator) and ElectraForMaskedLM (the generator) folders with config.json,
// model.safetensors, vocab.txt, tokenizer.json, tokenizer_config.json and special_tokens_map.json.
import Durability
import Foundation
import Model
import Tokenization

/// Which of the pair a folder holds.
public enum ElectraPart: String, Sendable {
    case discriminator, generator
    /// A run of BERT's objective (`--objective mlm`): the discriminator-sized encoder with its
    /// masked-LM head, as ElectraForMaskedLM (our `discriminator.*` tensors; folder OUT/mlm).
    case maskedLM = "mlm"

    var architecture: String { self == .discriminator ? "ElectraForPreTraining" : "ElectraForMaskedLM" }
    /// The prefix of this part's tensors among our parameter names.
    var ourPrefix: String { self == .generator ? "generator." : "discriminator." }
    /// Whether the folder holds generator_lm_head.weight (tied to the word embeddings).
    var hasTiedOutput: Bool { self != .discriminator }
    /// The parts `electra-train export` writes for a run of `objective`.
    public static func exported(for objective: PretrainingObjective) -> [ElectraPart] {
        objective == .mlm ? [.maskedLM] : [.discriminator, .generator]
    }
}

/// Our parameter names -> HuggingFace tensor names of `part` (shared embeddings go in both).
public func huggingFaceName(_ ours: String, part: ElectraPart) -> String? {
    if ours.hasPrefix("embeddings.") { return "electra." + ours }
    let prefix = part.ourPrefix
    return ours.hasPrefix(prefix) ? String(ours.dropFirst(prefix.count)) : nil
}

/// Writes one HuggingFace folder (atomically per file) from our parameters.
public func writeHuggingFaceFolder(_ directory: URL, part: ElectraPart, config: ElectraConfig,
                                   parameters: [String: (shape: [Int], values: [Float])],
                                   vocabulary: [String], tokenizer: TokenizerOptions) throws {
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    var tensors: [SafetensorsTensor] = []
    for (name, t) in parameters.sorted(by: { $0.key < $1.key }) {
        guard let hf = huggingFaceName(name, part: part) else { continue }
        tensors.append(SafetensorsTensor(name: hf, shape: t.shape, values: t.values))
    }
    if part.hasTiedOutput, let word = parameters["embeddings.word_embeddings.weight"] {
        tensors.append(SafetensorsTensor(name: "generator_lm_head.weight", shape: word.shape, values: word.values))
    }
    try writeSafetensors(tensors, metadata: ["format": "pt"], to: directory.appendingPathComponent("model.safetensors"))
    func json(_ object: Any, _ name: String) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        try writeFileAtomically(data + Data("\n".utf8), to: directory.appendingPathComponent(name))
    }
    try json(huggingFaceConfig(config, part: part), "config.json")
    // tokenizer_config.json and special_tokens_map.json: the one codec (Tokenization), as build-vocab writes them.
    let tokenizerConfig = TokenizerConfigFile(options: tokenizer, modelMaxLength: config.maxPositions)
    try writeFileAtomically(try tokenizerConfig.jsonData(), to: directory.appendingPathComponent(TokenizerConfigFile.fileName))
    try writeFileAtomically(try TokenizerConfigFile.specialTokensMapData(),
                            to: directory.appendingPathComponent("special_tokens_map.json"))
    try writeFileAtomically(Data((vocabulary.joined(separator: "\n") + "\n").utf8), to: directory.appendingPathComponent("vocab.txt"))
    // tokenizer.json: the fast tokenizer, so that tokenizers and AutoTokenizer load it as it is.
    try writeFileAtomically(try tokenizerJSON(vocabulary: vocabulary, options: tokenizer),
                            to: directory.appendingPathComponent("tokenizer.json"))
}

/// Reads a HuggingFace ELECTRA folder back into our parameter names: the discriminator folder
/// gives the shared embeddings and `discriminator.*`; a generator folder gives `generator.*`.
public func readHuggingFaceFolder(_ directory: URL, part: ElectraPart) throws -> [String: (shape: [Int], values: [Float])] {
    let file = try SafetensorsFile(contentsOf: directory.appendingPathComponent("model.safetensors"))
    var out: [String: (shape: [Int], values: [Float])] = [:]
    for (name, t) in file.tensors {
        if name == "generator_lm_head.weight" { continue }
        let ours: String
        if name.hasPrefix("electra.embeddings.") { ours = String(name.dropFirst("electra.".count)) } else { ours = part.ourPrefix + name }
        out[ours] = (t.shape, try file.floats(name))
    }
    return out
}
