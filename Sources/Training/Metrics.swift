// The metrics of a training or evaluation step, as ELECTRA's run_pretraining.py metric_fn
// logs them: generator MLM loss and accuracy, sampled-token accuracy, discriminator loss,
// accuracy, AUC, precision, recall, and the fraction of positions replaced.
import Masking
import Model

/// Sums over steps, turned into averages by `values`.
struct MetricSums: Codable, Equatable {
    var steps = 0
    var totalLoss: Double = 0, generatorLoss: Double = 0, discriminatorLoss: Double = 0
    var maskedSlots: Double = 0, generatorCorrect: Double = 0, sampledCorrect: Double = 0
    var positions: Double = 0, discriminatorCorrect: Double = 0, replaced: Double = 0
    var truePositive: Double = 0, predictedPositive: Double = 0
    /// AUC of each step, averaged (pooling scores across steps would mix models).
    var aucSum: Double = 0
    var gradientNorm: Double = 0

    /// Adds one step; `rows` limits the rows counted (evaluation batches may repeat rows).
    mutating func add(_ r: StepResult, batch: MaskedBatch, rows: Int? = nil, gradientNorm: Float = 0) {
        steps += 1
        totalLoss += Double(r.totalLoss)
        generatorLoss += Double(r.generatorLoss)
        discriminatorLoss += Double(r.discriminatorLoss)
        self.gradientNorm += Double(gradientNorm)
        let B = rows ?? batch.batchSize, N = batch.maxPredictions, L = batch.seqLength
        for slot in 0..<(B * N) where batch.maskedWeights[slot] > 0 {
            maskedSlots += 1
            if r.generatorPredictions[slot] == batch.maskedOriginalIDs[slot] { generatorCorrect += 1 }
            if !r.sampledTokens.isEmpty && r.sampledTokens[slot] == batch.maskedOriginalIDs[slot] { sampledCorrect += 1 }
        }
        guard !r.discriminatorLogits.isEmpty else { return }   // BERT's objective: no replaced-token head
        var scores: [Float] = [], labels: [Bool] = []
        for m in 0..<(B * L) where batch.attentionMask[m] != 0 {
            let positive = r.discriminatorLogits[m] > 0
            let label = r.discriminatorLabels[m] > 0.5
            positions += 1
            if positive == label { discriminatorCorrect += 1 }
            if label { replaced += 1 }
            if positive { predictedPositive += 1; if label { truePositive += 1 } }
            scores.append(r.discriminatorLogits[m])
            labels.append(label)
        }
        aucSum += areaUnderROC(scores: scores, labels: labels)
    }

    /// Averages, in the order metrics.jsonl writes them.
    func values() -> [(String, Double)] {
        let n = Double(max(steps, 1))
        if positions == 0 && maskedSlots > 0 {   // BERT's objective: the masked LM's alone
            return [("loss", totalLoss / n), ("generator_loss", generatorLoss / n),
                    ("generator_accuracy", generatorCorrect / max(maskedSlots, 1)), ("gradient_norm", gradientNorm / n)]
        }
        return [
            ("loss", totalLoss / n),
            ("generator_loss", generatorLoss / n),
            ("generator_accuracy", generatorCorrect / max(maskedSlots, 1)),
            ("sampled_accuracy", sampledCorrect / max(maskedSlots, 1)),
            ("discriminator_loss", discriminatorLoss / n),
            ("discriminator_accuracy", discriminatorCorrect / max(positions, 1)),
            ("discriminator_auc", aucSum / n),
            ("discriminator_precision", truePositive / max(predictedPositive, 1)),
            ("discriminator_recall", truePositive / max(replaced, 1)),
            ("replaced_fraction", replaced / max(positions, 1)),
            ("gradient_norm", gradientNorm / n),
        ]
    }
}

/// The area under the ROC curve: the probability that a random positive scores above a random
/// negative (Mann-Whitney U, ties counted half). 0.5 when one class is missing.
/// - Complexity: O(n log n).
public func areaUnderROC(scores: [Float], labels: [Bool]) -> Double {
    let positives = labels.filter { $0 }.count, negatives = labels.count - positives
    guard positives > 0, negatives > 0 else { return 0.5 }
    let order = scores.indices.sorted { scores[$0] < scores[$1] }
    var rankSum = 0.0
    var i = 0
    while i < order.count {
        var j = i
        while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
        let averageRank = Double(i + j) / 2 + 1
        for k in i...j where labels[order[k]] { rankSum += averageRank }
        i = j + 1
    }
    let u = rankSum - Double(positives) * Double(positives + 1) / 2
    return u / (Double(positives) * Double(negatives))
}
