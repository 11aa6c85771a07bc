// Finite-difference check of the whole step WITH DROPOUT ON (the PyTorch reference test runs
// with it off): a model with one encoder layer per side, both heads, embedding dropout,
// attention dropout and the fused dropout + residual kernels (the discriminator's rows are a
// multiple of 4 wide, the generator's are not: both code paths). The dropout masks are
// regenerated from per-site seeds derived from the step key drawn from the generator, so with it
// reseeded before every step the loss is a fixed, smooth function of the parameters and
// central differences apply. The sampling is pinned by large Gumbel noise.
import Masking
import Model
import Randomness
import XCTest

final class DropoutGradientCheckTests: XCTestCase {
    func testEveryTensorOfOneLayerModelsAndBothHeadsWithDropout() throws {
        var config = ElectraConfig(vocabSize: 20, embeddingSize: 8, hiddenSize: 12, numLayers: 1, numHeads: 2,
                                   intermediateSize: 16, generatorFraction: 0.5, maxPositions: 8)
        config.dropout = 0.3
        config.discriminatorWeight = 2
        XCTAssertEqual(config.generatorHiddenSize, 6)
        let (B, L, N, V) = (2, 6, 2, 20)
        let model = try ElectraModel(config: config, batchSize: B, seqLength: L, maxPredictions: N, seed: 1)
        // Parameters of order one (the N(0, 0.02) initialization makes every gradient tiny).
        var draw = Xoshiro256(seed: 2)
        for p in model.parameterTable {
            let values = model.parameter(p.name)!
            let centre: Float = p.name.hasSuffix("LayerNorm.weight") ? 1 : 0
            for i in values.indices { values[i] = centre + (draw.nextFloat() - 0.5) * 0.8 }
        }

        var batch = MaskedBatch(batchSize: B, seqLength: L, maxPredictions: N)
        batch.inputIDs = [2, 7, 4, 9, 12, 3, 2, 15, 4, 3, 0, 0]          // [MASK] = 4, second row padded
        batch.segmentIDs = [0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0]
        batch.attentionMask = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]
        batch.maskedPositions = [2, 4, 2, 0]
        batch.maskedOriginalIDs = [11, 12, 8, 0]
        batch.maskedWeights = [1, 1, 1, 0]
        // Samples: slot 0 draws its original (label 0), slots 1 and 2 other tokens (label 1).
        var noise = [Float](repeating: 0, count: B * N * V)
        for (slot, token) in [(0, 11), (1, 5), (2, 13), (3, 6)] { noise[slot * V + token] = 30 }

        func loss(training: Bool = true) -> Float {
            var rng = Xoshiro256(seed: 3)
            return model.step(batch, training: training, computeGradients: false, rng: &rng, gumbelNoise: noise).totalLoss
        }
        XCTAssertNotEqual(loss(), loss(training: false), "dropout is on")
        XCTAssertEqual(loss(), loss(), "the same seed gives the same masks")

        model.zeroGradients()
        var rng = Xoshiro256(seed: 3)
        let result = model.step(batch, training: true, computeGradients: true, rng: &rng, gumbelNoise: noise)
        XCTAssertEqual(result.discriminatorLabels, [0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0])

        let eps: Float = 1e-2
        var checked = 0
        var failures: [String] = []
        for p in model.parameterTable {
            let values = model.parameter(p.name)!, analytic = Array(model.gradient(p.name)!)
            // Up to five entries per tensor, spread over it.
            for i in Set((0..<5).map { $0 * p.count / 5 }).sorted() {
                let saved = values[i]
                values[i] = saved + eps; let up = loss()
                values[i] = saved - eps; let down = loss()
                values[i] = saved
                let numeric = (up - down) / (2 * eps)
                if abs(numeric - analytic[i]) > 3e-3 + 2e-2 * abs(numeric) {
                    failures.append("\(p.name)[\(i)]: numeric \(numeric), backward \(analytic[i])")
                }
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 200)
        XCTAssertEqual(failures, [], "gradients that differ from finite differences")
    }
}
