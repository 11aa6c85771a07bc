// The llm.c-style reference test: load the state written by tools/reference_model.py (PyTorch +
// transformers), run our forward and backward on the same weights and inputs, and compare the
// logits, the losses and the gradient of EVERY parameter, reporting the largest differences.
import Foundation
import Interop
import Kernels
import Masking
import Model
import Randomness
import TestSupport
import XCTest

final class ReferenceTests: XCTestCase {
    func testForwardAndBackwardMatchPyTorch() throws {
        // One compute thread, then two: the parallel kernels must give the same numbers.
        for threads in [1, 2] {
            setComputeThreads(threads)
            try compareWithReference()
        }
        setComputeThreads(1)
    }

    private func compareWithReference() throws {
        let file = try SafetensorsFile(contentsOf: fixtureURL("model/reference.safetensors"))
        var config = ElectraConfig(vocabSize: 60, embeddingSize: 16, hiddenSize: 32, numLayers: 2, numHeads: 2,
                                   intermediateSize: 64, generatorFraction: 0.5, maxPositions: 16)
        config.generatorHeads = 1
        config.generatorIntermediateSize = 32
        config.dropout = 0
        XCTAssertEqual(config.generatorHiddenSize, 16)
        let (B, L, N) = (3, 12, 4)
        let model = try ElectraModel(config: config, batchSize: B, seqLength: L, maxPredictions: N, seed: 0)

        // Same parameter set, same shapes, then the reference weights.
        let referenceNames = Set(file.tensors.keys.filter { $0.hasPrefix("param/") }.map { String($0.dropFirst(6)) })
        XCTAssertEqual(Set(model.parameterTable.map(\.name)), referenceNames)
        for p in model.parameterTable {
            XCTAssertEqual(file.tensors["param/" + p.name]?.shape.reduce(1, *), p.count, p.name)
            let values = try file.floats("param/" + p.name)
            _ = model.parameter(p.name)!.update(from: values)
        }
        let ints = { (name: String) in try file.floats(name).map { Int32($0) } }
        var inputs = MaskedBatch(batchSize: B, seqLength: L, maxPredictions: N)
        inputs.inputIDs = try ints("input/ids")
        inputs.segmentIDs = try ints("input/segments")
        inputs.attentionMask = try ints("input/attention")
        inputs.maskedPositions = try ints("input/positions")
        inputs.maskedOriginalIDs = try ints("input/originals")
        inputs.maskedWeights = try file.floats("input/weights")
        var rng = Xoshiro256(seed: 0)
        model.zeroGradients()
        let result = model.step(inputs, training: false, computeGradients: true, rng: &rng,
                                gumbelNoise: try file.floats("input/noise"))

        assertClose(Array(model.lastGeneratorLogits), try file.floats("out/gen_logits"), "generator logits")
        XCTAssertEqual(result.sampledTokens, try ints("out/sampled"), "Gumbel-max samples")
        XCTAssertEqual(result.discriminatorLabels, try file.floats("out/labels"), "replaced-token labels")
        assertClose(result.discriminatorLogits, try file.floats("out/disc_logits"), "discriminator logits")
        assertClose([result.generatorLoss], try file.floats("out/gen_loss"), "generator loss")
        assertClose([result.discriminatorLoss], try file.floats("out/disc_loss"), "discriminator loss")
        assertClose([result.totalLoss], try file.floats("out/total"), "total loss")
        var report: [String] = []
        for p in model.parameterTable {
            let ours = Array(model.gradient(p.name)!), reference = try file.floats("grad/" + p.name)
            let maxAbs = zip(ours, reference).map { abs($0 - $1) }.max() ?? 0
            report.append(String(format: "%-75@ max |diff| %.2e", p.name as NSString, maxAbs))
            assertClose(ours, reference, rtol: 1e-4, atol: 1e-5, "gradient of \(p.name)")
        }
        print(report.joined(separator: "\n"))
    }
}

final class StepConsistencyTests: XCTestCase {
    /// The outputs a step reports do not depend on whether gradients were computed.
    func testReportedOutputsAreTheForwardPassOnes() throws {
        var config = ElectraConfig(vocabSize: 50, embeddingSize: 8, hiddenSize: 16, numLayers: 2, numHeads: 2,
                                   generatorFraction: 0.5, maxPositions: 16)
        config.dropout = 0
        let (B, L, N) = (2, 10, 3)
        let model = try ElectraModel(config: config, batchSize: B, seqLength: L, maxPredictions: N, seed: 3)
        var ids = [Int32](repeating: 7, count: B * L)
        for i in 0..<(B * L) { ids[i] = Int32(5 + (i * 7) % 45) }
        var inputs = MaskedBatch(batchSize: B, seqLength: L, maxPredictions: N)
        inputs.inputIDs = ids
        inputs.attentionMask = [Int32](repeating: 1, count: B * L)
        inputs.maskedPositions = [1, 4, 6, 2, 3, 8]
        inputs.maskedOriginalIDs = [9, 10, 11, 12, 13, 14]
        inputs.maskedWeights = [1, 1, 1, 1, 1, 0]
        var a = Xoshiro256(seed: 1), b = Xoshiro256(seed: 1)
        model.zeroGradients()
        let withGradients = model.step(inputs, training: false, computeGradients: true, rng: &a)
        let without = model.step(inputs, training: false, computeGradients: false, rng: &b)
        XCTAssertEqual(withGradients.discriminatorLogits, without.discriminatorLogits)
        XCTAssertEqual(withGradients.sampledTokens, without.sampledTokens)
        XCTAssertEqual(withGradients.totalLoss, without.totalLoss)
    }
}
