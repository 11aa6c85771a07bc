// The objectives besides ELECTRA against PyTorch (tools/reference_mlm.py):
// - BERT's (`.mlm`): one step of the discriminator-sized encoder + masked-LM head against
//   transformers' ElectraForMaskedLM: the logits at the masked slots, the loss, the gradient of
//   every parameter and every parameter after one AdamW update, within 1e-4;
// - ELECTRA 15% (`.electra15`): the discriminator's loss at the masked positions only, on the
//   ELECTRA reference's weights and inputs, against a NumPy transcription.
// Also BERT's 80/10/10 replacement of the masked positions.
import Foundation
import Interop
import Kernels
import Masking
import Model
import Randomness
import TestSupport
import XCTest

final class ObjectiveReferenceTests: XCTestCase {
    func testMaskedLMStepAndUpdateMatchTransformers() throws {
        let file = try SafetensorsFile(contentsOf: fixtureURL("model/mlm.safetensors"))
        var config = ElectraConfig(vocabSize: 60, embeddingSize: 16, hiddenSize: 32, numLayers: 2, numHeads: 2,
                                   intermediateSize: 64, maxPositions: 16)
        config.dropout = 0
        config.objective = .mlm
        let (B, L, N) = (3, 12, 4)
        let model = try ElectraModel(config: config, batchSize: B, seqLength: L, maxPredictions: N, seed: 0)
        // The masked LM's tensors are exactly transformers' (the tied output weight aside).
        let referenceNames = Set(file.tensors.keys.filter { $0.hasPrefix("param/") }.map { String($0.dropFirst(6)) })
        XCTAssertEqual(Set(model.parameterTable.map(\.name)), referenceNames)
        XCTAssertNil(model.parameterInfo("generator.generator_lm_head.bias"))
        XCTAssertNil(model.parameterInfo("discriminator.discriminator_predictions.dense.weight"))
        for p in model.parameterTable {
            XCTAssertEqual(file.tensors["param/" + p.name]?.shape, p.shape, p.name)
            _ = model.parameter(p.name)!.update(from: try file.floats("param/" + p.name))
        }
        let ints = { (name: String) in try file.floats(name).map { Int32($0) } }
        var inputs = MaskedBatch(batchSize: B, seqLength: L, maxPredictions: N)
        inputs.inputIDs = try ints("input/ids")
        inputs.segmentIDs = try ints("input/segments")
        inputs.attentionMask = try ints("input/attention")
        inputs.maskedPositions = try ints("input/positions")
        inputs.maskedOriginalIDs = try ints("input/originals")
        inputs.maskedWeights = try file.floats("input/weights")
        model.zeroGradients()
        let result = model.step(inputs, training: false, computeGradients: true, keys: StepKeys(key: 1))

        assertClose(Array(model.lastGeneratorLogits), try file.floats("out/logits"), "logits at the masked slots")
        assertClose([result.totalLoss], try file.floats("out/loss"), rtol: 1e-4, atol: 1e-5, "masked-LM loss")
        XCTAssertEqual(result.generatorLoss, result.totalLoss)
        XCTAssertTrue(result.discriminatorLogits.isEmpty && result.sampledTokens.isEmpty)
        var worst = (name: "", diff: Float(0))
        for p in model.parameterTable {
            let ours = Array(model.gradient(p.name)!), reference = try file.floats("grad/" + p.name)
            let diff = zip(ours, reference).map { abs($0 - $1) }.max() ?? 0
            if diff > worst.diff { worst = (p.name, diff) }
            assertClose(ours, reference, rtol: 1e-4, atol: 1e-5, "gradient of \(p.name)")
        }
        print("largest gradient difference: \(worst.diff) (\(worst.name))")

        var options = AdamWOptions()
        options.learningRate = 1e-3
        options.warmupSteps = 0
        options.totalSteps = 10
        let optimizer = AdamW(model: model, options: options)
        let (norm, lr) = optimizer.update(model)
        assertClose([norm], try file.floats("out/gradient_norm"), rtol: 1e-4, atol: 1e-5, "gradient norm")
        XCTAssertEqual(lr, 1e-3)
        var moved = 0
        for p in model.parameterTable {
            let before = try file.floats("param/" + p.name), after = try file.floats("after/" + p.name)
            let ours = Array(model.parameter(p.name)!)
            assertClose(ours, after, rtol: 1e-4, atol: 1e-5, "\(p.name) after one update")
            moved += zip(before, after).filter { abs($0 - $1) > 1e-4 }.count
        }
        XCTAssertGreaterThan(moved, 1000, "the update moves the weights by more than the tolerance")
    }

    func testElectra15LossIsTheDiscriminatorsAtTheMaskedPositions() throws {
        struct Expected: Decodable { var discriminator_loss: Double; var generator_loss: Double; var total_loss: Double
                                     var all_positions_discriminator_loss: Double }
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: fixtureURL("model/electra15.json")))
        let file = try SafetensorsFile(contentsOf: fixtureURL("model/reference.safetensors"))
        var losses: [PretrainingObjective: StepResult] = [:]
        for objective in [PretrainingObjective.electra, .electra15] {
            var config = ElectraConfig(vocabSize: 60, embeddingSize: 16, hiddenSize: 32, numLayers: 2, numHeads: 2,
                                       intermediateSize: 64, generatorFraction: 0.5, maxPositions: 16)
            config.generatorHeads = 1
            config.generatorIntermediateSize = 32
            config.dropout = 0
            config.objective = objective
            let (B, L, N) = (3, 12, 4)
            let model = try ElectraModel(config: config, batchSize: B, seqLength: L, maxPredictions: N, seed: 0)
            for p in model.parameterTable { _ = model.parameter(p.name)!.update(from: try file.floats("param/" + p.name)) }
            let ints = { (name: String) in try file.floats(name).map { Int32($0) } }
            var inputs = MaskedBatch(batchSize: B, seqLength: L, maxPredictions: N)
            inputs.inputIDs = try ints("input/ids")
            inputs.segmentIDs = try ints("input/segments")
            inputs.attentionMask = try ints("input/attention")
            inputs.maskedPositions = try ints("input/positions")
            inputs.maskedOriginalIDs = try ints("input/originals")
            inputs.maskedWeights = try file.floats("input/weights")
            model.zeroGradients()
            losses[objective] = model.step(inputs, training: false, computeGradients: true, keys: StepKeys(key: 1),
                                           gumbelNoise: try file.floats("input/noise"))
        }
        let fifteen = try XCTUnwrap(losses[.electra15]), electra = try XCTUnwrap(losses[.electra])
        assertClose([fifteen.discriminatorLoss], [Float(expected.discriminator_loss)], rtol: 1e-4, atol: 1e-6, "ELECTRA 15% discriminator loss")
        assertClose([fifteen.totalLoss], [Float(expected.total_loss)], rtol: 1e-4, atol: 1e-5, "ELECTRA 15% total loss")
        assertClose([electra.discriminatorLoss], [Float(expected.all_positions_discriminator_loss)], rtol: 1e-4, atol: 1e-6, "ELECTRA")
        XCTAssertEqual(fifteen.generatorLoss, electra.generatorLoss)
        XCTAssertEqual(fifteen.discriminatorLogits, electra.discriminatorLogits, "the same networks, only the loss differs")
    }

    func testBERTReplacementKeepsPositionsAndDrawsEightyTenTen() {
        let (B, L, N, V) = (64, 32, 5, 1000)
        var batch = MaskedBatch(batchSize: B, seqLength: L, maxPredictions: N)
        for i in 0..<(B * L) { batch.inputIDs[i] = Int32(5 + i % 900); batch.attentionMask[i] = 1 }
        for row in 0..<B {
            for k in 0..<N {
                let slot = row * N + k, position = 1 + 3 * k
                batch.maskedPositions[slot] = Int32(position)
                batch.maskedOriginalIDs[slot] = batch.inputIDs[row * L + position]
                batch.maskedWeights[slot] = k < 4 ? 1 : 0          // one padding slot per row
                if k < 4 { batch.inputIDs[row * L + position] = 4 } // what ELECTRA's masker left
            }
        }
        let original = batch.originalInputIDs
        var replaced = batch
        replaced.replaceForMaskedLM(maskID: 4, vocabularySize: V, key: 99)
        var mask = 0, kept = 0, other = 0
        for row in 0..<B {
            for k in 0..<4 {
                let i = row * L + Int(batch.maskedPositions[row * N + k])
                if replaced.inputIDs[i] == 4 { mask += 1 } else if replaced.inputIDs[i] == original[i] { kept += 1 } else { other += 1 }
            }
        }
        let changed = Set((0..<(B * L)).filter { replaced.inputIDs[$0] != batch.inputIDs[$0] }.map { $0 % L })
        XCTAssertTrue(changed.isSubset(of: [1, 4, 7, 10]), "only the masked positions change: \(changed)")
        XCTAssertEqual(mask + kept + other, 256)
        XCTAssertEqual(Double(mask) / 256, 0.8, accuracy: 0.08)
        XCTAssertEqual(Double(kept) / 256, 0.1, accuracy: 0.06)
        XCTAssertEqual(Double(other) / 256, 0.1, accuracy: 0.06)
        // Keyed by the global row: rows 32..<64 alone, as a second micro-batch, get the same input.
        var second = batch.rows(32..<64)
        second.replaceForMaskedLM(maskID: 4, vocabularySize: V, key: 99, firstRow: 32)
        XCTAssertEqual(second.inputIDs, replaced.rows(32..<64).inputIDs)
        var again = batch
        again.replaceForMaskedLM(maskID: 4, vocabularySize: V, key: 100)
        XCTAssertNotEqual(again.inputIDs, replaced.inputIDs, "another key, other draws")
    }
}
