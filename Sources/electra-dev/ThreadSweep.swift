// electra-dev bench-model --thread-sweep: the same training step at 1, 2, 4, ... threads, with
// the sgemm rate at each count, to show what scales and what does not.
import Foundation
import Kernels
import Masking
import Model
import Randomness

/// Times `steps` training steps of one model at each thread count in `counts`; prints tokens/s,
/// the speed-up over the first count, the step's GFLOP/s against sgemm's at the same count, and
/// (from one profiled step) the share of the step in the encoders' matrix products.
func runThreadSweep(preset: String, batchSize: Int, seqLength: Int, vocabSize: Int, steps: Int, counts: [Int]) throws {
    guard var config = ElectraConfig.preset(preset, vocabSize: vocabSize) else { throw SweepError.unknownPreset(preset) }
    config.maxPositions = max(config.maxPositions, seqLength)
    let N = Int((0.15 + 0.005) * Double(seqLength))
    let model = try ElectraModel(config: config, batchSize: batchSize, seqLength: seqLength, maxPredictions: N, seed: 1)
    var adam = AdamWOptions()
    adam.warmupSteps = 0
    let optimizer = AdamW(model: model, options: adam)
    var rng = Xoshiro256(seed: 2)
    let M = batchSize * seqLength
    var ids = (0..<M).map { _ in Int32(5 + rng.uniform(below: vocabSize - 5)) }
    let positions = (0..<(batchSize * N)).map { Int32(1 + ($0 % N) * (seqLength - 2) / N) }
    let originals = (0..<(batchSize * N)).map { ids[($0 / N) * seqLength + Int(positions[$0])] }
    for (slot, p) in positions.enumerated() { ids[(slot / N) * seqLength + Int(p)] = 4 }
    var inputs = MaskedBatch(batchSize: batchSize, seqLength: seqLength, maxPredictions: N)
    inputs.inputIDs = ids
    inputs.attentionMask = [Int32](repeating: 1, count: M)
    inputs.maskedPositions = positions
    inputs.maskedOriginalIDs = originals
    inputs.maskedWeights = [Float](repeating: 1, count: batchSize * N)
    func step() {
        model.zeroGradients()
        _ = model.step(inputs, training: true, computeGradients: true, rng: &rng)
        optimizer.update(model)
    }
    func seconds(_ body: () -> Void) -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    }
    print(String(format: "thread sweep: preset %@, batch %d x %d, %d timed steps per count, %d cores online",
                 preset, batchSize, seqLength, steps, ProcessInfo.processInfo.activeProcessorCount))
    print("threads  tokens/s  speed-up  step GFLOP/s  sgemm GFLOP/s  share of sgemm  products in step")
    var first: Double?
    for threads in counts {
        setComputeThreads(threads)
        step()  // warm-up at this count
        let perStep = seconds { for _ in 0..<steps { step() } } / Double(steps)
        let profile = StepProfile()
        model.profile = profile
        let profiled = seconds { step() }
        model.profile = nil
        let products = profile.kernels.filter { $0.key.hasPrefix("linear") }.values.reduce(0, +)
        let sgemm = blasReport(size: 2048, repeats: 2).sgemmGFLOPs
        let tokens = Double(M) / perStep
        let achieved = tokens * model.trainingFLOPsPerToken / 1e9
        first = first ?? tokens
        print(String(format: "%7d  %8.0f  %7.2fx  %12.1f  %13.1f  %13.0f%%  %15.0f%%",
                     threads, tokens, tokens / first!, achieved, sgemm, 100 * achieved / sgemm, 100 * products / profiled))
        fflush(stdout)
    }
}

enum SweepError: Error, CustomStringConvertible {
    case unknownPreset(String)
    var description: String {
        switch self { case .unknownPreset(let p): "unknown preset \(p): choose one of \(ElectraConfig.presetNames.joined(separator: ", "))" }
    }
}
