// A batch computed as micro-batches (what --accumulate K and N ranks do) is the batch computed
// at once: with dropout on and the sample drawn by the model, each micro-batch keyed by its first
// row in the whole batch and normalised by the whole batch's counts gets the whole batch's
// dropout masks, samples and losses, and its gradients add up to the whole batch's.
import Masking
import Model
import Randomness
import XCTest

final class MicroBatchTests: XCTestCase {
    func testMicroBatchesAddUpToTheWholeBatchWithDropoutAndSampling() throws {
        var config = ElectraConfig(vocabSize: 24, embeddingSize: 8, hiddenSize: 12, numLayers: 2, numHeads: 2,
                                   intermediateSize: 16, generatorFraction: 0.5, maxPositions: 8)
        config.dropout = 0.2
        let (B, L, N) = (4, 8, 2)
        let whole = try ElectraModel(config: config, batchSize: B, seqLength: L, maxPredictions: N, seed: 5)
        let half = try ElectraModel(config: config, batchSize: B / 2, seqLength: L, maxPredictions: N, seed: 5)
        var batch = MaskedBatch(batchSize: B, seqLength: L, maxPredictions: N)
        var draw = Xoshiro256(seed: 9)
        for row in 0..<B {
            let length = L - row   // rows of 8, 7, 6, 5 real tokens
            for i in 0..<L {
                batch.inputIDs[row * L + i] = i >= length ? 0 : i == 0 ? 2 : i == length - 1 ? 3 : Int32(5 + draw.uniform(below: 19))
                batch.attentionMask[row * L + i] = i < length ? 1 : 0
            }
            for k in 0..<N where row != 3 || k == 0 {   // row 3 has one prediction
                let position = 1 + k * 2
                batch.maskedPositions[row * N + k] = Int32(position)
                batch.maskedOriginalIDs[row * N + k] = batch.inputIDs[row * L + position]
                batch.maskedWeights[row * N + k] = 1
                batch.inputIDs[row * L + position] = 4
            }
        }
        let (masked, real) = batch.lossNormalizers
        var keys = StepKeys.training(seed: 7, step: 3)
        whole.zeroGradients()
        let reference = whole.step(batch, training: true, computeGradients: true, keys: keys)

        var sampled: [Int32] = [], labels: [Float] = []
        var loss: Float = 0
        var summed = [Float](repeating: 0, count: half.parameterCount)
        for first in [0, B / 2] {
            keys.firstRow = first; keys.maskedTokens = masked; keys.realTokens = real
            half.zeroGradients()
            let part = half.step(batch.rows(first..<(first + B / 2)), training: true, computeGradients: true, keys: keys)
            sampled += part.sampledTokens; labels += part.discriminatorLabels
            loss += part.totalLoss
            for i in summed.indices { summed[i] += half.gradients[i] }
        }
        XCTAssertEqual(sampled, reference.sampledTokens, "the same samples")
        XCTAssertEqual(labels, reference.discriminatorLabels)
        XCTAssertEqual(loss, reference.totalLoss, accuracy: 1e-5 * abs(reference.totalLoss))
        var worst: Float = 0, scale: Float = 0
        for i in summed.indices {
            worst = max(worst, abs(summed[i] - whole.gradients[i]))
            scale = max(scale, abs(whole.gradients[i]))
        }
        XCTAssertGreaterThan(scale, 0)
        XCTAssertLessThan(worst, 1e-5 * scale, "micro-batch gradients add up to the whole batch's")

        // The second half keyed as if it were the start of the batch gets other dropout masks and samples.
        keys.firstRow = 0
        half.zeroGradients()
        let misplaced = half.step(batch.rows(B / 2..<B), training: true, computeGradients: true, keys: keys)
        keys.firstRow = B / 2
        half.zeroGradients()
        let placed = half.step(batch.rows(B / 2..<B), training: true, computeGradients: true, keys: keys)
        XCTAssertNotEqual(misplaced.totalLoss, placed.totalLoss, "dropout and samples are keyed by the row in the whole batch")
    }
}
