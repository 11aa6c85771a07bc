// A run of BERT's objective exports as one ElectraForMaskedLM folder at the encoder's size: the
// tensor names are exactly transformers' (those of tools/reference_mlm.py's ElectraForMaskedLM,
// the tied output weight included), config.json has the encoder's sizes, and the folder reads
// back into the model's own parameter names.
import Foundation
import Interop
import Model
import TestSupport
import Tokenization
import XCTest

final class MaskedLMExportTests: XCTestCase {
    func testMaskedLMExportHasTransformersNamesAndReadsBack() throws {
        var config = ElectraConfig(vocabSize: 60, embeddingSize: 16, hiddenSize: 32, numLayers: 2, numHeads: 2,
                                   intermediateSize: 64, maxPositions: 16)
        config.objective = .mlm
        XCTAssertEqual(ElectraPart.exported(for: .mlm), [.maskedLM])
        XCTAssertEqual(ElectraPart.exported(for: .electra15), [.discriminator, .generator])
        let model = try ElectraModel(config: config, batchSize: 1, seqLength: 8, maxPredictions: 2, seed: 3)
        var parameters: [String: (shape: [Int], values: [Float])] = [:]
        for p in model.parameterTable { parameters[p.name] = (p.shape, Array(model.parameter(p.name)!)) }
        let dir = try makeTemporaryDirectory(in: self).appendingPathComponent("mlm")
        let vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + (5..<60).map { "w\($0)" }
        try writeHuggingFaceFolder(dir, part: .maskedLM, config: config, parameters: parameters, vocabulary: vocabulary,
                                   tokenizer: TokenizerOptions())
        let written = try SafetensorsFile(contentsOf: dir.appendingPathComponent("model.safetensors"))
        // transformers' ElectraForMaskedLM state dict at these sizes (the reference fixture's
        // parameters, named back to transformers', plus the tied generator_lm_head.weight).
        let reference = try SafetensorsFile(contentsOf: fixtureURL("model/mlm.safetensors"))
        var expected = Set(reference.tensors.keys.filter { $0.hasPrefix("param/") }.map { name -> String in
            let ours = String(name.dropFirst("param/".count))
            return ours.hasPrefix("embeddings.") ? "electra." + ours : String(ours.dropFirst("discriminator.".count))
        })
        expected.insert("generator_lm_head.weight")
        XCTAssertEqual(Set(written.tensors.keys), expected)
        XCTAssertEqual(try written.floats("generator_lm_head.weight"), parameters["embeddings.word_embeddings.weight"]!.values)
        let hf = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("config.json"))) as! [String: Any]
        XCTAssertEqual(hf["architectures"] as? [String], ["ElectraForMaskedLM"])
        XCTAssertEqual(hf["hidden_size"] as? Int, 32)
        XCTAssertEqual(hf["num_attention_heads"] as? Int, 2)
        XCTAssertEqual(hf["embedding_size"] as? Int, 16)
        let back = try readHuggingFaceFolder(dir, part: .maskedLM)
        XCTAssertEqual(Set(back.keys), Set(parameters.keys))
        for (name, t) in back { XCTAssertEqual(t.values, parameters[name]!.values, name) }
    }
}
