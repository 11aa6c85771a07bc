// How one global batch is computed by N processes (ranks) and K micro-batches each: the split,
// the gradient sum (an accumulation buffer for K > 1, the GradientReducer over ranks), the
// step's metrics gathered over the whole global batch, and the parameter checksum that catches
// a rank that diverged. Randomness and loss normalisers are keyed to the global batch
// (StepKeys), so N ranks x K micro-batches give the same step for every N x K; N = 2, K = 1 and
// N = 1, K = 2 give the same bits (the two partial gradients are summed once, a + b, either way).
import Distributed
import Foundation
import Masking
import Model

/// How a run splits its global batch (none of this is stored in checkpoints: a run may resume
/// with another split).
public struct ParallelOptions {
    /// The processes of the job (`SingleProcess` without mpirun).
    public var communicator: Communicator = SingleProcess()
    /// Micro-batches per rank and step whose gradients are summed before the update.
    public var accumulate = 1
    /// Sum gradients over ranks while the backward pass goes on (false: all at the end).
    public var overlap = true
    /// Compare a parameter checksum over ranks every so many steps (0: never).
    public var checksumEvery = 200

    public init() {}
}

/// The sums of one step's metrics (over the rows of one rank, then over all ranks) and the
/// (logit, label) pairs of its real positions, for the AUC of the whole global batch.
struct StepTally {
    /// totalLoss, generatorLoss, discriminatorLoss, maskedSlots, generatorCorrect, sampledCorrect,
    /// positions, discriminatorCorrect, replaced, truePositive, predictedPositive.
    var sums = [Double](repeating: 0, count: 11)
    /// logit, label, logit, label, ... of every real position, in row order.
    var scored: [Float] = []

    /// Adds a (micro-)batch: its partial losses (normalised by the global batch's counts) and
    /// counts; `rows` limits the rows counted (evaluation batches may repeat rows).
    mutating func add(_ r: StepResult, batch: MaskedBatch, rows: Int? = nil) {
        sums[0] += Double(r.totalLoss); sums[1] += Double(r.generatorLoss); sums[2] += Double(r.discriminatorLoss)
        let B = rows ?? batch.batchSize, N = batch.maxPredictions, L = batch.seqLength
        for slot in 0..<(B * N) where batch.maskedWeights[slot] > 0 {
            sums[3] += 1
            if r.generatorPredictions[slot] == batch.maskedOriginalIDs[slot] { sums[4] += 1 }
            if !r.sampledTokens.isEmpty && r.sampledTokens[slot] == batch.maskedOriginalIDs[slot] { sums[5] += 1 }
        }
        // BERT's objective has no replaced-token head (no logits): no positions counted.
        for m in 0..<(B * L) where batch.attentionMask[m] != 0 && !r.discriminatorLogits.isEmpty {
            let positive = r.discriminatorLogits[m] > 0, label = r.discriminatorLabels[m] > 0.5
            sums[6] += 1
            if positive == label { sums[7] += 1 }
            if label { sums[8] += 1 }
            if positive { sums[10] += 1; if label { sums[9] += 1 } }
            scored.append(r.discriminatorLogits[m]); scored.append(label ? 1 : 0)
        }
    }

    /// The tally of the whole global batch: sums over ranks, pairs gathered in rank order.
    func global(_ communicator: Communicator) throws -> StepTally {
        guard communicator.size > 1 else { return self }
        return StepTally(sums: try communicator.sum(sums), scored: try communicator.allGatherV(scored))
    }

    /// The AUC of the discriminator over the tallied positions.
    var auc: Double {
        let n = scored.count / 2
        return areaUnderROC(scores: (0..<n).map { scored[2 * $0] }, labels: (0..<n).map { scored[2 * $0 + 1] > 0.5 })
    }
}

extension MetricSums {
    /// Adds one step's global tally.
    mutating func add(_ t: StepTally, gradientNorm: Float = 0) {
        steps += 1
        totalLoss += t.sums[0]; generatorLoss += t.sums[1]; discriminatorLoss += t.sums[2]
        maskedSlots += t.sums[3]; generatorCorrect += t.sums[4]; sampledCorrect += t.sums[5]
        positions += t.sums[6]; discriminatorCorrect += t.sums[7]; replaced += t.sums[8]
        truePositive += t.sums[9]; predictedPositive += t.sums[10]
        aucSum += t.auc
        self.gradientNorm += Double(gradientNorm)
    }
}

/// A 64-bit hash of a float buffer's bits (FNV-1a over 64-bit words, then mixed).
func checksum(_ values: UnsafePointer<Float>, _ count: Int) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    let words = count / 2
    UnsafeRawPointer(values).withMemoryRebound(to: UInt64.self, capacity: words) { w in
        for i in 0..<words { h = (h ^ w[i]) &* 0x100_0000_01B3 }
    }
    if count % 2 == 1 { h = (h ^ UInt64(values[count - 1].bitPattern)) &* 0x100_0000_01B3 }
    return h ^ (h >> 29)
}

/// The gradient arena of one micro-batch added into a buffer of its own: acc = g0, then acc += gk
/// in micro-batch order (the same sum MPI makes of two ranks' buffers).
final class GradientAccumulator {
    let count: Int
    let buffer: UnsafeMutablePointer<Float>

    init(count: Int) {
        self.count = count
        buffer = .allocate(capacity: count)
        buffer.initialize(repeating: 0, count: count)
    }

    deinit { buffer.deallocate() }

    func add(_ g: UnsafePointer<Float>, first: Bool) {
        if first { buffer.update(from: g, count: count); return }
        for i in 0..<count { buffer[i] += g[i] }
    }
}
