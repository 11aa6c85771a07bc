// The official SQuAD evaluations (evaluate-v1.1.py, evaluate-v2.0.py), ported: normalize_answer
// (Python's str.lower() with its final-sigma rule, string.punctuation removed, the articles
// a/an/the removed where `\b` holds on both sides, Python's str.split() whitespace), exact match
// and token-overlap F1 as max over the gold answers; v1.1 averages over every question (one
// without a prediction scores 0); v2.0 counts a gold answer that normalizes to "" as none, an
// empty prediction is right only for an unanswerable question, and it reports HasAns/NoAns and,
// with no-answer probabilities, the best thresholds. Sums run in the scripts' order, so the
// numbers are theirs to the last bit (Tests/Fixtures/qa/squad-eval.json).

/// normalize_answer of the official scripts.
public func squadNormalize(_ s: String) -> String {
    let lower = pythonLower(Array(s.unicodeScalars))
    let punctuation = Set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".unicodeScalars)
    let noPunctuation = lower.filter { !punctuation.contains($0) }
    let noArticles = removingArticles(noPunctuation)
    return pythonSplit(noArticles).joined(separator: " ")
}

/// The normalized answer's tokens (v2.0's get_tokens: nothing for an empty string).
public func squadTokens(_ s: String) -> [String] { s.isEmpty ? [] : pythonSplit(Array(squadNormalize(s).unicodeScalars)) }

/// Python's str.lower(): full lower-case mappings; a capital sigma is final (ς) after a cased
/// character and not before one (case-ignorable characters skipped both ways).
func pythonLower(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
    var out: [Unicode.Scalar] = []
    out.reserveCapacity(s.count)
    for (i, c) in s.enumerated() {
        if c == "\u{03A3}" {
            var j = i - 1
            while j >= 0 && s[j].properties.isCaseIgnorable { j -= 1 }
            var final = j >= 0 && s[j].properties.isCased
            if final {
                var k = i + 1
                while k < s.count && s[k].properties.isCaseIgnorable { k += 1 }
                final = k == s.count || !s[k].properties.isCased
            }
            out.append(final ? "\u{03C2}" : "\u{03C3}")
            continue
        }
        out.append(contentsOf: c.properties.lowercaseMapping.unicodeScalars)
    }
    return out
}

/// Python's `\w` for str patterns: str.isalnum() (letters, and characters with a numeric value) or "_".
func isPythonWord(_ c: Unicode.Scalar) -> Bool {
    if c == "_" { return true }
    switch c.properties.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
    default: return c.properties.numericType != nil
    }
}

/// re.sub(r'\b(a|an|the)\b', ' ', text): left to right, the alternatives in order, `\b` on the original text.
func removingArticles(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
    func word(_ i: Int) -> Bool { i >= 0 && i < s.count && isPythonWord(s[i]) }
    func boundary(_ i: Int) -> Bool { word(i - 1) != word(i) }
    let articles: [[Unicode.Scalar]] = [["a"], ["a", "n"], ["t", "h", "e"]]
    var out: [Unicode.Scalar] = []
    var i = 0
    outer: while i < s.count {
        if boundary(i) {
            for a in articles where i + a.count <= s.count && Array(s[i..<(i + a.count)]) == a && boundary(i + a.count) {
                out.append(" ")
                i += a.count
                continue outer
            }
        }
        out.append(s[i])
        i += 1
    }
    return out
}

/// Python's str.split() with no argument: runs of Python whitespace separate, none kept at the ends.
func pythonSplit(_ s: [Unicode.Scalar]) -> [String] {
    var parts: [String] = [], current = String.UnicodeScalarView()
    for c in s {
        if isPythonWhitespace(c) {
            if !current.isEmpty { parts.append(String(current)); current = String.UnicodeScalarView() }
        } else {
            current.append(c)
        }
    }
    if !current.isEmpty { parts.append(String(current)) }
    return parts
}

/// Py_UNICODE_ISSPACE: bidirectional WS, B, S or category Zs (so \x1c-\x1f are, U+200B is not).
func isPythonWhitespace(_ c: Unicode.Scalar) -> Bool {
    switch c.value {
    case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: return true
    default: return false
    }
}

/// v1.1's f1_score(prediction, ground_truth).
func squadF1V1(_ prediction: String, _ gold: String) -> Double {
    overlapF1(pred: pythonSplit(Array(squadNormalize(prediction).unicodeScalars)), gold: pythonSplit(Array(squadNormalize(gold).unicodeScalars)),
              emptyRule: false)
}

/// v2.0's compute_f1(a_gold, a_pred).
public func squadF1(gold: String, prediction: String) -> Double {
    overlapF1(pred: squadTokens(prediction), gold: squadTokens(gold), emptyRule: true)
}

/// v2.0's compute_exact (and v1.1's exact_match_score).
public func squadExact(gold: String, prediction: String) -> Double {
    squadNormalize(gold) == squadNormalize(prediction) ? 1 : 0
}

private func overlapF1(pred: [String], gold: [String], emptyRule: Bool) -> Double {
    if emptyRule && (gold.isEmpty || pred.isEmpty) { return gold == pred ? 1 : 0 }
    var counts: [String: Int] = [:]
    for t in gold { counts[t, default: 0] += 1 }
    var same = 0
    for t in pred where (counts[t] ?? 0) > 0 { counts[t]! -= 1; same += 1 }
    if same == 0 { return 0 }
    let precision = 1.0 * Double(same) / Double(pred.count)
    let recall = 1.0 * Double(same) / Double(gold.count)
    return (2 * precision * recall) / (precision + recall)
}

/// One question of a SQuAD file as the evaluations see it.
public struct SquadGold: Equatable, Sendable {
    public var id: String
    /// The gold answer texts (empty: unanswerable).
    public var answers: [String]

    public init(id: String, answers: [String]) { self.id = id; self.answers = answers }
}

/// evaluate-v1.1.py: EM and F1 (x100) over every question, a missing prediction scoring 0.
public func squadV1Evaluate(_ questions: [SquadGold], predictions: [String: String]) -> (exactMatch: Double, f1: Double) {
    var exact = 0, f1 = 0.0, total = 0
    for q in questions {
        total += 1
        guard let p = predictions[q.id] else { continue }
        exact += q.answers.contains { squadNormalize(p) == squadNormalize($0) } ? 1 : 0
        f1 += q.answers.map { squadF1V1(p, $0) }.max() ?? 0
    }
    return (100.0 * Double(exact) / Double(total), 100.0 * f1 / Double(total))
}

/// evaluate-v2.0.py's output.
public struct SquadV2Evaluation: Equatable, Sendable {
    public var exact: Double, f1: Double, total: Int
    public var hasAns: (exact: Double, f1: Double, total: Int)?
    public var noAns: (exact: Double, f1: Double, total: Int)?
    /// With no-answer probabilities: the best EM and F1 over thresholds, and those thresholds.
    public var best: (exact: Double, exactThreshold: Double, f1: Double, f1Threshold: Double)?

    public static func == (a: SquadV2Evaluation, b: SquadV2Evaluation) -> Bool {
        a.exact == b.exact && a.f1 == b.f1 && a.total == b.total && a.hasAns.map { [$0.exact, $0.f1, Double($0.total)] } == b.hasAns.map { [$0.exact, $0.f1, Double($0.total)] }
            && a.noAns.map { [$0.exact, $0.f1, Double($0.total)] } == b.noAns.map { [$0.exact, $0.f1, Double($0.total)] }
            && a.best.map { [$0.exact, $0.exactThreshold, $0.f1, $0.f1Threshold] } == b.best.map { [$0.exact, $0.exactThreshold, $0.f1, $0.f1Threshold] }
    }
}

/// Every question's raw (EM, F1) as get_raw_scores computes them, in question order (questions without a prediction left out).
public func squadRawScores(_ questions: [SquadGold], predictions: [String: String]) -> [(id: String, exact: Double, f1: Double)] {
    questions.compactMap { q in
        guard let p = predictions[q.id] else { return nil }
        var gold = q.answers.filter { !squadNormalize($0).isEmpty }
        if gold.isEmpty { gold = [""] }
        return (q.id, gold.map { squadExact(gold: $0, prediction: p) }.max()!, gold.map { squadF1(gold: $0, prediction: p) }.max()!)
    }
}

/// evaluate-v2.0.py's main(): `naProbs` in the order of the na_prob file (ties in the best-threshold
/// search keep it), nil as without --na-prob-file; `threshold` is --na-prob-thresh (1.0).
/// Every question needs a prediction, as the official script does (a missing one is a KeyError there).
public func squadV2Evaluate(_ questions: [SquadGold], predictions: [String: String], naProbs: [(String, Double)]? = nil,
                            threshold: Double = 1.0) -> SquadV2Evaluation {
    let raw = squadRawScores(questions, predictions: predictions)
    let probs = Dictionary(naProbs ?? predictions.keys.map { ($0, 0.0) }, uniquingKeysWith: { $1 })
    let hasAnswer = Dictionary(questions.map { ($0.id, !$0.answers.isEmpty) }, uniquingKeysWith: { $1 })
    let thresholded = raw.map { r -> (id: String, exact: Double, f1: Double) in
        (probs[r.id] ?? 0) > threshold ? (r.id, hasAnswer[r.id]! ? 0 : 1, hasAnswer[r.id]! ? 0 : 1) : r
    }
    let byID = Dictionary(thresholded.map { ($0.id, $0) }, uniquingKeysWith: { $1 })
    func summary(_ ids: [String]?) -> (Double, Double, Int) {
        let rows = ids.map { $0.map { byID[$0]! } } ?? thresholded
        return (100.0 * rows.reduce(0.0) { $0 + $1.exact } / Double(rows.count), 100.0 * rows.reduce(0.0) { $0 + $1.f1 } / Double(rows.count), rows.count)
    }
    let all = summary(nil)
    var result = SquadV2Evaluation(exact: all.0, f1: all.1, total: all.2)
    let has = questions.filter { hasAnswer[$0.id]! }.map(\.id), no = questions.filter { !hasAnswer[$0.id]! }.map(\.id)
    if !has.isEmpty { let s = summary(has); result.hasAns = (s.0, s.1, s.2) }
    if !no.isEmpty { let s = summary(no); result.noAns = (s.0, s.1, s.2) }
    if let naProbs {
        let rawByID = Dictionary(raw.map { ($0.id, $0) }, uniquingKeysWith: { $1 })
        func bestThreshold(_ score: (String) -> Double?) -> (Double, Double) {
            var current = Double(questions.filter { !hasAnswer[$0.id]! }.count)
            var best = current, bestThreshold = 0.0
            // sorted(na_probs, key=...) is stable: ties keep the file's order.
            let order = naProbs.enumerated().sorted { $0.element.1 < $1.element.1 || ($0.element.1 == $1.element.1 && $0.offset < $1.offset) }
            for (_, (id, p)) in order {
                guard let s = score(id) else { continue }
                let diff: Double = hasAnswer[id]! ? s : (predictions[id]!.isEmpty ? 0 : -1)
                current += diff
                if current > best { best = current; bestThreshold = p }
            }
            return (100.0 * best / Double(raw.count), bestThreshold)
        }
        let e = bestThreshold { rawByID[$0]?.exact }, f = bestThreshold { rawByID[$0]?.f1 }
        result.best = (e.0, e.1, f.0, f.1)
    }
    return result
}
