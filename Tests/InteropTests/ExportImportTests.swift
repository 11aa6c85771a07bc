import Foundation
import Interop
import Masking
import Model
import Randomness
import TestSupport
import Tokenization
import XCTest

final class ExportImportTests: XCTestCase {
    /// Export to HuggingFace folders, import back (--init-from's path): every tensor identical and the
    /// first step's loss on the same batch equal to the exported model's.
    func testExportThenImportGivesTheSameModelAndLoss() throws {
        var config = ElectraConfig(vocabSize: 30, embeddingSize: 8, hiddenSize: 16, numLayers: 2, numHeads: 2,
                                   generatorFraction: 0.5, maxPositions: 16)
        config.dropout = 0
        let (B, L, N) = (2, 8, 2)
        let source = try ElectraModel(config: config, batchSize: B, seqLength: L, maxPredictions: N, seed: 11)
        var parameters: [String: (shape: [Int], values: [Float])] = [:]
        for p in source.parameterTable { parameters[p.name] = (p.shape, Array(source.parameter(p.name)!)) }
        let dir = try makeTemporaryDirectory(in: self)
        let vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + (5..<30).map { "w\($0)" }
        for part in [ElectraPart.discriminator, .generator] {
            try writeHuggingFaceFolder(dir.appendingPathComponent(part.rawValue), part: part, config: config,
                                       parameters: parameters, vocabulary: vocabulary, tokenizer: TokenizerOptions())
        }
        let hfConfig = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("generator/config.json"))) as! [String: Any]
        XCTAssertEqual(hfConfig["hidden_size"] as? Int, 8)
        XCTAssertEqual(hfConfig["architectures"] as? [String], ["ElectraForMaskedLM"])
        XCTAssertNoThrow(try Vocabulary(contentsOf: dir.appendingPathComponent("discriminator/vocab.txt")))

        // The export folder and its discriminator folder name the same pair; config.json of both
        // parts reads back as the configuration that was exported.
        let pair = try HuggingFacePair(dir, requireGenerator: true)
        XCTAssertEqual(pair.discriminator.lastPathComponent, "discriminator")
        XCTAssertEqual(try HuggingFacePair(dir.appendingPathComponent("discriminator")).generator, pair.generator)
        XCTAssertEqual(try pair.config(), config)
        let imported = try pair.tensors()
        XCTAssertEqual(Set(imported.keys), Set(parameters.keys))
        let target = try ElectraModel(config: config, batchSize: B, seqLength: L, maxPredictions: N, seed: 99)
        XCTAssertEqual(try target.assignParameters(imported, source: dir.path), parameters.count)
        for p in source.parameterTable {
            XCTAssertEqual(Array(target.parameter(p.name)!), Array(source.parameter(p.name)!), p.name)
        }
        var inputs = MaskedBatch(batchSize: B, seqLength: L, maxPredictions: N)
        inputs.inputIDs = [2, 4, 7, 8, 3, 0, 0, 0, 2, 9, 4, 11, 12, 3, 0, 0]
        inputs.attentionMask = [1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0]
        inputs.maskedPositions = [1, 0, 2, 0]
        inputs.maskedOriginalIDs = [6, 0, 10, 0]
        inputs.maskedWeights = [1, 0, 1, 0]
        var a = Xoshiro256(seed: 1), b = Xoshiro256(seed: 1)
        let before = source.step(inputs, training: false, computeGradients: false, rng: &a)
        let after = target.step(inputs, training: false, computeGradients: false, rng: &b)
        XCTAssertEqual(after.totalLoss, before.totalLoss)

        // A tensor of the wrong shape is refused, naming it.
        var wrong = imported
        wrong["embeddings.word_embeddings.weight"] = ([31, 8], [Float](repeating: 0, count: 248))
        XCTAssertThrowsError(try target.assignParameters(wrong, source: "x")) {
            XCTAssertTrue("\($0)".contains("embeddings.word_embeddings.weight"), "\($0)")
        }
    }
}

final class HuggingFaceConfigTests: XCTestCase {
    /// Every size and setting a config.json carries survives ElectraConfig -> config.json -> ElectraConfig,
    /// layer_norm_eps included; a folder without its config, or a config without a size, is an error naming the file.
    func testConfigRoundTripAndErrors() throws {
        var config = ElectraConfig(vocabSize: 50, embeddingSize: 12, hiddenSize: 24, numLayers: 3, numHeads: 3,
                                   intermediateSize: 40, generatorFraction: 0.5, maxPositions: 64)
        config.layerNormEps = 1e-5
        config.dropout = 0.2
        config.generatorLayers = 2
        let dir = try makeTemporaryDirectory(in: self)
        for part in [ElectraPart.discriminator, .generator] {
            let folder = dir.appendingPathComponent(part.rawValue)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try JSONSerialization.data(withJSONObject: huggingFaceConfig(config, part: part))
                .write(to: folder.appendingPathComponent("config.json"))
        }
        let read = try readElectraConfig(discriminator: dir.appendingPathComponent("discriminator"),
                                         generator: dir.appendingPathComponent("generator"))
        XCTAssertEqual(read, config)

        XCTAssertThrowsError(try readElectraConfig(discriminator: dir.appendingPathComponent("none"))) {
            XCTAssertTrue("\($0)".contains("none/config.json"), "\($0)")
        }
        let broken = dir.appendingPathComponent("broken")
        try FileManager.default.createDirectory(at: broken, withIntermediateDirectories: true)
        try Data(#"{"vocab_size": 50, "num_hidden_layers": 2, "num_attention_heads": 2}"#.utf8)
            .write(to: broken.appendingPathComponent("config.json"))
        XCTAssertThrowsError(try readElectraConfig(discriminator: broken)) {
            XCTAssertTrue("\($0)".contains("broken/config.json") && "\($0)".contains("hidden_size"), "\($0)")
        }
        XCTAssertThrowsError(try HuggingFacePair(broken)) {
            XCTAssertTrue("\($0)".contains("model.safetensors"), "\($0)")
        }
    }
}
