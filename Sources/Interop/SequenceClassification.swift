// HuggingFace folders for fine-tuning: reading an ELECTRA discriminator folder (ElectraForPreTraining,
// ElectraForSequenceClassification, ElectraForTokenClassification or ElectraForQuestionAnswering:
// config.json, model.safetensors, vocab.txt, tokenizer_config.json) and writing a fine-tuned one
// (config.json with num_labels, id2label, label2id and, for classification, problem_type).
import Durability
import Foundation
import Model
import Tokenization

/// An ELECTRA encoder folder read back: sizes, tensors under their HuggingFace names, tokenizer.
public struct ElectraFolder {
    public var config: ElectraConfig
    public var tensors: [String: (shape: [Int], values: [Float])]
    public var vocabulary: [String]
    public var tokenizer: TokenizerOptions
    /// id2label of a sequence-classification folder (nil for a pre-training one).
    public var labels: [String]?
    public var regression: Bool
}

/// The discriminator's sizes from a HuggingFace ELECTRA config.json (the generator fields, unused
/// by a classifier, are set to the smallest valid values).
public func electraConfig(fromHuggingFace hf: [String: Any], file: String) throws -> ElectraConfig {
    guard let vocabSize = hf["vocab_size"] as? Int, let hidden = hf["hidden_size"] as? Int,
          let layers = hf["num_hidden_layers"] as? Int, let heads = hf["num_attention_heads"] as? Int else {
        throw ModelError.badConfiguration("\(file) is not an ELECTRA config.json (vocab_size, hidden_size, num_hidden_layers or num_attention_heads missing)")
    }
    if let act = hf["hidden_act"] as? String, act != "gelu" {
        throw ModelError.badConfiguration("\(file): hidden_act \(act) is not supported (only gelu)")
    }
    var c = ElectraConfig(vocabSize: vocabSize, embeddingSize: hf["embedding_size"] as? Int ?? hidden, hiddenSize: hidden,
                          numLayers: layers, numHeads: heads, intermediateSize: hf["intermediate_size"] as? Int,
                          maxPositions: hf["max_position_embeddings"] as? Int ?? 512)
    c.generatorHiddenSize = 1; c.generatorHeads = 1; c.generatorIntermediateSize = 1; c.generatorLayers = 1
    c.typeVocabSize = hf["type_vocab_size"] as? Int ?? 2
    c.layerNormEps = Float(hf["layer_norm_eps"] as? Double ?? 1e-12)
    c.initializerRange = Float(hf["initializer_range"] as? Double ?? 0.02)
    c.dropout = Float(hf["hidden_dropout_prob"] as? Double ?? 0.1)
    c.padID = Int32(hf["pad_token_id"] as? Int ?? 0)
    return c
}

/// Reads an ELECTRA folder (an exported discriminator or a fine-tuned classifier).
public func readElectraFolder(_ directory: URL) throws -> ElectraFolder {
    let configURL = directory.appendingPathComponent("config.json")
    guard let data = FileManager.default.contents(atPath: configURL.path) else {
        throw ModelError.mismatch("\(configURL.path): missing (pass a folder written by electra-train export, or an ELECTRA model folder)")
    }
    guard let hf = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        throw ModelError.mismatch("\(configURL.path): not JSON")
    }
    let config = try electraConfig(fromHuggingFace: hf, file: configURL.path)
    let file = try SafetensorsFile(contentsOf: directory.appendingPathComponent("model.safetensors"))
    var tensors: [String: (shape: [Int], values: [Float])] = [:]
    for (name, t) in file.tensors where name.hasPrefix("electra.") || name.hasPrefix("classifier.") || name.hasPrefix("qa_outputs.") {
        tensors[name] = (t.shape, try file.floats(name))
    }
    let vocabulary = try Vocabulary(contentsOf: directory.appendingPathComponent("vocab.txt")).tokens
    var options = TokenizerOptions()
    if let data = FileManager.default.contents(atPath: directory.appendingPathComponent("tokenizer_config.json").path),
       let t = try JSONSerialization.jsonObject(with: data) as? [String: Any] {
        options.lowercase = t["do_lower_case"] as? Bool ?? true
        options.stripAccents = t["strip_accents"] as? Bool
        options.handleChineseChars = t["tokenize_chinese_chars"] as? Bool ?? true
    }
    var labels: [String]?
    if let architectures = hf["architectures"] as? [String],
       architectures.contains("ElectraForSequenceClassification") || architectures.contains("ElectraForTokenClassification"),
       let id2label = hf["id2label"] as? [String: Any] {
        labels = (0..<id2label.count).map { id2label["\($0)"].map { "\($0)" } ?? "LABEL_\($0)" }
    }
    return ElectraFolder(config: config, tensors: tensors, vocabulary: vocabulary, tokenizer: options, labels: labels,
                         regression: hf["problem_type"] as? String == "regression")
}

/// Pre-training parameter names (ElectraModel's table) -> the classifier's (`electra.*`); the
/// generator and the discriminator's replaced-token head are dropped.
public func classifierTensors(fromPretraining parameters: [String: (shape: [Int], values: [Float])])
    -> [String: (shape: [Int], values: [Float])] {
    var out: [String: (shape: [Int], values: [Float])] = [:]
    for (name, t) in parameters {
        if name.hasPrefix("embeddings.") { out["electra." + name] = t }
        if name.hasPrefix("discriminator.electra.") { out[String(name.dropFirst("discriminator.".count))] = t }
    }
    return out
}

/// Writes an ElectraForSequenceClassification folder: config.json (num_labels, id2label,
/// label2id, problem_type), model.safetensors and the tokenizer files; each file atomically.
public func writeSequenceClassificationFolder(_ directory: URL, config: ElectraConfig, labels: [String], regression: Bool,
                                              tensors: [(name: String, shape: [Int], values: [Float])],
                                              vocabulary: [String], tokenizer: TokenizerOptions) throws {
    try writeTaskFolder(directory, architecture: "ElectraForSequenceClassification", config: config,
                        labels: regression ? ["LABEL_0"] : labels,
                        problemType: regression ? "regression" : "single_label_classification",
                        tensors: tensors, vocabulary: vocabulary, tokenizer: tokenizer)
}

/// Writes a fine-tuned model folder for transformers' `architecture` (ElectraForSequenceClassification,
/// ElectraForTokenClassification, ElectraForQuestionAnswering): config.json (num_labels, id2label,
/// label2id, problem_type when given), model.safetensors and the tokenizer files; each file atomically.
public func writeTaskFolder(_ directory: URL, architecture: String, config: ElectraConfig, labels: [String], problemType: String?,
                            tensors: [(name: String, shape: [Int], values: [Float])],
                            vocabulary: [String], tokenizer: TokenizerOptions) throws {
    // The tokenizer files and the base config are the discriminator export's.
    try writeHuggingFaceFolder(directory, part: .discriminator, config: config, parameters: [:], vocabulary: vocabulary,
                               tokenizer: tokenizer)
    try writeSafetensors(tensors.map { SafetensorsTensor(name: $0.name, shape: $0.shape, values: $0.values) },
                         metadata: ["format": "pt"], to: directory.appendingPathComponent("model.safetensors"))
    var hf = huggingFaceConfig(config, part: .discriminator)
    hf["architectures"] = [architecture]
    hf["tie_word_embeddings"] = false
    hf["num_labels"] = labels.count
    hf["id2label"] = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ("\($0.offset)", $0.element) })
    hf["label2id"] = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($0.element, $0.offset) })
    if let problemType { hf["problem_type"] = problemType }
    let data = try JSONSerialization.data(withJSONObject: hf, options: [.prettyPrinted, .sortedKeys])
    try writeFileAtomically(data + Data("\n".utf8), to: directory.appendingPathComponent("config.json"))
}
