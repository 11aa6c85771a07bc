// config.json <-> ElectraConfig: the one place that knows the HuggingFace ElectraConfig keys.
// A pair (discriminator + generator) shares vocabulary, embeddings and positions; each part's
// config.json carries its own hidden size, layers, heads and intermediate size.
import Durability
import Foundation
import Model

/// Problems of a HuggingFace folder, each naming the file and what to do.
public enum InteropError: Error, CustomStringConvertible, Equatable {
    /// A file that is missing or cannot be read.
    case unreadable(path: String, reason: String, remedy: String)
    /// A config.json that is not an ELECTRA configuration.
    case badConfig(path: String, problem: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason, let remedy): return "\(path): \(reason); \(remedy)"
        case .badConfig(let path, let problem):
            return "\(path): \(problem); pass a folder written by electra-train export or a HuggingFace ELECTRA model"
        }
    }
}

/// The HuggingFace config.json of one part.
public func huggingFaceConfig(_ c: ElectraConfig, part: ElectraPart) -> [String: Any] {
    let generator = part == .generator
    return [
        "architectures": [part.architecture],
        "model_type": "electra",
        "vocab_size": c.vocabSize,
        "embedding_size": c.embeddingSize,
        "hidden_size": generator ? c.generatorHiddenSize : c.hiddenSize,
        "num_hidden_layers": generator ? c.generatorLayers : c.numLayers,
        "num_attention_heads": generator ? c.generatorHeads : c.numHeads,
        "intermediate_size": generator ? c.generatorIntermediateSize : c.intermediateSize,
        "hidden_act": "gelu",
        "hidden_dropout_prob": Double(c.dropout),
        "attention_probs_dropout_prob": Double(c.dropout),
        "max_position_embeddings": c.maxPositions,
        "type_vocab_size": c.typeVocabSize,
        "initializer_range": Double(c.initializerRange),
        "layer_norm_eps": Double(c.layerNormEps),
        "pad_token_id": Int(c.padID),
        "position_embedding_type": "absolute",
        "tie_word_embeddings": true,
        "torch_dtype": "float32",
    ]
}

/// The ElectraConfig of a discriminator folder's config.json and, when given, of its generator
/// folder's (without one, the generator sizes are the `ElectraConfig` initializer's, a quarter of
/// the discriminator's). Required keys: vocab_size, hidden_size, num_hidden_layers,
/// num_attention_heads; the others default as our exports write them (embedding_size:
/// hidden_size, intermediate_size: 4 x hidden_size, max_position_embeddings 512,
/// type_vocab_size 2, layer_norm_eps 1e-12, hidden_dropout_prob 0.1, initializer_range 0.02,
/// pad_token_id 0).
/// - Throws: `InteropError` naming the config.json that is missing, unreadable or incomplete.
public func readElectraConfig(discriminator: URL, generator: URL? = nil) throws -> ElectraConfig {
    let dURL = discriminator.appendingPathComponent("config.json")
    let d = try readJSONObject(dURL)
    func int(_ c: [String: Any], _ key: String, _ file: URL) throws -> Int {
        guard let v = c[key] as? Int, v > 0 else {
            throw InteropError.badConfig(path: file.path, problem: "lacks a positive integer \(key)")
        }
        return v
    }
    let hidden = try int(d, "hidden_size", dURL)
    var config = ElectraConfig(vocabSize: try int(d, "vocab_size", dURL),
                               embeddingSize: d["embedding_size"] as? Int ?? hidden, hiddenSize: hidden,
                               numLayers: try int(d, "num_hidden_layers", dURL),
                               numHeads: try int(d, "num_attention_heads", dURL),
                               intermediateSize: d["intermediate_size"] as? Int,
                               maxPositions: d["max_position_embeddings"] as? Int ?? 512)
    config.typeVocabSize = d["type_vocab_size"] as? Int ?? config.typeVocabSize
    config.layerNormEps = Float(d["layer_norm_eps"] as? Double ?? Double(config.layerNormEps))
    config.dropout = Float(d["hidden_dropout_prob"] as? Double ?? Double(config.dropout))
    config.initializerRange = Float(d["initializer_range"] as? Double ?? Double(config.initializerRange))
    config.padID = Int32(d["pad_token_id"] as? Int ?? Int(config.padID))
    if let generator {
        let gURL = generator.appendingPathComponent("config.json")
        let g = try readJSONObject(gURL)
        config.generatorHiddenSize = try int(g, "hidden_size", gURL)
        config.generatorHeads = try int(g, "num_attention_heads", gURL)
        config.generatorIntermediateSize = g["intermediate_size"] as? Int ?? 4 * config.generatorHiddenSize
        config.generatorLayers = try int(g, "num_hidden_layers", gURL)
    }
    return config
}

/// A JSON file holding an object.
func readJSONObject(_ url: URL) throws -> [String: Any] {
    let data: Data
    do {
        data = try Data(contentsOf: url)
    } catch {
        throw InteropError.unreadable(path: url.path, reason: "cannot be read (\(fileErrorReason(error, writing: false)))",
                                      remedy: "pass a folder written by electra-train export")
    }
    guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
        throw InteropError.badConfig(path: url.path, problem: "is not a JSON object")
    }
    return object
}
