// The training step bench-model and its thread sweep time: a model of a preset, AdamW, and one
// fixed batch of random tokens with 15% of the positions masked (no data, no I/O).
import Foundation
import Masking
import Model
import Randomness

final class BenchStepper {
    let model: ElectraModel
    /// Tokens of one step (batch x sequence length).
    let tokensPerStep: Int
    private let optimizer: AdamW
    private let batch: MaskedBatch
    private var rng: Xoshiro256

    init(preset: String, batchSize: Int, seqLength: Int, vocabSize: Int) throws {
        guard var config = ElectraConfig.preset(preset, vocabSize: vocabSize) else { throw BenchError.unknownPreset(preset) }
        config.maxPositions = max(config.maxPositions, seqLength)
        let N = Int((0.15 + 0.005) * Double(seqLength))
        model = try ElectraModel(config: config, batchSize: batchSize, seqLength: seqLength, maxPredictions: N, seed: 1)
        var adam = AdamWOptions()
        adam.warmupSteps = 0
        optimizer = AdamW(model: model, options: adam)
        let M = batchSize * seqLength
        tokensPerStep = M
        var draw = Xoshiro256(seed: 2)   // the tokens first, then the steps' dropout and sampling
        var ids = (0..<M).map { _ in Int32(5 + draw.uniform(below: vocabSize - 5)) }
        rng = draw
        let positions = (0..<(batchSize * N)).map { Int32(1 + ($0 % N) * (seqLength - 2) / N) }
        let originals = (0..<(batchSize * N)).map { ids[($0 / N) * seqLength + Int(positions[$0])] }
        for (slot, p) in positions.enumerated() { ids[(slot / N) * seqLength + Int(p)] = 4 }
        var batch = MaskedBatch(batchSize: batchSize, seqLength: seqLength, maxPredictions: N)
        batch.inputIDs = ids
        batch.attentionMask = [Int32](repeating: 1, count: M)
        batch.maskedPositions = positions
        batch.maskedOriginalIDs = originals
        batch.maskedWeights = [Float](repeating: 1, count: batchSize * N)
        self.batch = batch
    }

    /// One training step: forward, backward, AdamW.
    func step() {
        model.zeroGradients()
        _ = model.step(batch, training: true, computeGradients: true, rng: &rng)
        optimizer.update(model)
    }
}

enum BenchError: Error, CustomStringConvertible {
    case unknownPreset(String)
    var description: String {
        switch self { case .unknownPreset(let p): "unknown preset \(p): choose one of \(ElectraConfig.presetNames.joined(separator: ", "))" }
    }
}
