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

        var imported = try readHuggingFaceFolder(dir.appendingPathComponent("discriminator"), part: .discriminator)
        for (k, v) in try readHuggingFaceFolder(dir.appendingPathComponent("generator"), part: .generator)
        where !k.hasPrefix("embeddings.") { imported[k] = v }
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
