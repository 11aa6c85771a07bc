// GLUE's metrics, as the benchmark reports them (and as sklearn/scipy compute them): accuracy;
// F1 of the positive class with accuracy (MRPC, QQP); Matthews correlation (CoLA); Pearson and
// Spearman correlation (STS-B).
import Foundation

/// The metrics of predictions against gold labels, by name; `main` is the one the best checkpoint
/// is chosen by (MCC, the mean of F1 and accuracy, the mean of Pearson and Spearman, or accuracy).
/// A gold class of -1 (a label the task lacks, `--unknown-dev-labels wrong`) makes every
/// prediction of that row wrong: never equal for accuracy; for F1 and MCC a false positive when
/// the prediction is 1, else a false negative.
public func taskMetrics(_ metric: TaskMetric, predictions: [Double], gold: [Double]) -> (values: [(String, Double)], main: Double) {
    precondition(predictions.count == gold.count)
    switch metric {
    case .accuracy:
        let a = accuracy(predictions, gold)
        return ([("accuracy", a)], a)
    case .f1Accuracy:
        let a = accuracy(predictions, gold), f = f1(predictions, gold)
        return ([("f1", f), ("accuracy", a)], (a + f) / 2)
    case .matthews:
        let m = matthews(predictions, gold)
        return ([("mcc", m), ("accuracy", accuracy(predictions, gold))], m)
    case .correlation:
        let p = pearson(predictions, gold), s = spearman(predictions, gold)
        return ([("pearson", p), ("spearman", s)], (p + s) / 2)
    case .entityF1, .squad:
        preconditionFailure("entity F1 and SQuAD's EM/F1 are computed over sequences and spans (entityScores, squadEvaluation), not per row")
    }
}

public func accuracy(_ p: [Double], _ g: [Double]) -> Double {
    guard !p.isEmpty else { return 0 }
    return Double(zip(p, g).filter { $0 == $1 }.count) / Double(p.count)
}

/// F1 of class 1 (0 when nothing is predicted or present, as sklearn with zero_division=0).
public func f1(_ p: [Double], _ g: [Double]) -> Double {
    var tp = 0.0, fp = 0.0, fn = 0.0
    for (x, y) in zip(p, g) {
        if x == 1 && y == 1 { tp += 1 } else if x == 1 { fp += 1 } else if y == 1 || y < 0 { fn += 1 }
    }
    return tp == 0 ? 0 : 2 * tp / (2 * tp + fp + fn)
}

/// Matthews correlation of binary predictions (0 when a margin is empty, as sklearn).
public func matthews(_ p: [Double], _ g: [Double]) -> Double {
    var tp = 0.0, tn = 0.0, fp = 0.0, fn = 0.0
    for (x, y) in zip(p, g) {
        switch (x == 1, y == 1 || (y < 0 && x != 1)) {   // gold -1: always an error
        case (true, true): tp += 1
        case (false, false): tn += 1
        case (true, false): fp += 1
        case (false, true): fn += 1
        }
    }
    let d = ((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)).squareRoot()
    return d == 0 ? 0 : (tp * tn - fp * fn) / d
}

public func pearson(_ x: [Double], _ y: [Double]) -> Double {
    let n = Double(x.count)
    guard n > 1 else { return 0 }
    let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
    var sxy = 0.0, sxx = 0.0, syy = 0.0
    for (a, b) in zip(x, y) { sxy += (a - mx) * (b - my); sxx += (a - mx) * (a - mx); syy += (b - my) * (b - my) }
    return sxx == 0 || syy == 0 ? 0 : sxy / (sxx * syy).squareRoot()
}

/// Pearson correlation of the ranks (ties get their average rank, as scipy).
public func spearman(_ x: [Double], _ y: [Double]) -> Double { pearson(ranks(x), ranks(y)) }

func ranks(_ x: [Double]) -> [Double] {
    let order = x.indices.sorted { x[$0] < x[$1] }
    var r = [Double](repeating: 0, count: x.count)
    var i = 0
    while i < order.count {
        var j = i
        while j + 1 < order.count && x[order[j + 1]] == x[order[i]] { j += 1 }
        for k in i...j { r[order[k]] = Double(i + j) / 2 + 1 }
        i = j + 1
    }
    return r
}
