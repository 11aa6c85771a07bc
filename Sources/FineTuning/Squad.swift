// Extractive question answering: SQuAD JSON files (v1.1 and v2.0, told apart by `is_impossible`)
// and their features as transformers' run_qa.py builds them: [CLS] question [SEP] context window
// [SEP], the question cut to max_query_length (64) tokens (google-research/electra's rule), the
// context in windows of the sequence length that overlap by doc_stride tokens (the tokenizer's
// `stride`, as run_qa and pipeline("question-answering") use it; google-research/electra's
// doc_stride is the step between window starts instead), each window labelled with the answer's
// first and last token, or [CLS] (0, 0) when the answer is not wholly inside it or there is none.
// Character positions are Python string indices (Unicode scalars), as SQuAD's answer_start is.
import Foundation
import Model
import Randomness
import Tokenization

/// One question with its context.
public struct SquadExample: Equatable, Sendable {
    public var id: String
    public var question: String
    public var context: String
    /// Reference answers: text and start in the context's Unicode scalars (empty: unanswerable).
    public var answers: [SquadAnswer]

    public init(id: String, question: String, context: String, answers: [SquadAnswer]) {
        self.id = id; self.question = question; self.context = context; self.answers = answers
    }
}

public struct SquadAnswer: Equatable, Sendable {
    public var text: String
    public var start: Int

    public init(text: String, start: Int) { self.text = text; self.start = start }
}

public enum SquadVersion: String, Codable, Sendable {
    case v1 = "1.1", v2 = "2.0"
}

/// A question left out and why, named by its id (or its position when it has none).
public struct SquadProblem: Equatable, Sendable, CustomStringConvertible {
    public var question: String, problem: String
    public var description: String { "question \(question): \(problem)" }
}

/// The usable questions of a SQuAD file and the refused ones.
public struct SquadFile {
    public var path: String
    public var version: SquadVersion
    public var examples: [SquadExample]
    public var problems: [SquadProblem]
}

/// Reads a SQuAD v1.1 or v2.0 file (v2.0 when any question has `is_impossible`). A question whose
/// answer text is not at its answer_start, that lacks a field, or whose paragraph has an empty
/// context is counted and named (with `strict`, the file is refused). Errors for the whole file:
/// unreadable, not JSON, not SQuAD's layout, no usable question.
public func readSquadFile(_ path: String, strict: Bool = false, requireAnswers: Bool = true) throws -> SquadFile {
    guard let data = FileManager.default.contents(atPath: path) else { throw TaskDataError.unreadable(path) }
    let notSquad = "not a SQuAD file (a JSON object with data[].paragraphs[].{context, qas[]})"
    guard let root = try? JSONSerialization.jsonObject(with: data) else {
        throw TaskDataError.badFile(file: path, problem: "not JSON; \(notSquad)")
    }
    guard let object = root as? [String: Any], let articles = object["data"] as? [[String: Any]],
          articles.allSatisfy({ $0["paragraphs"] is [[String: Any]] }) else {
        throw TaskDataError.badFile(file: path, problem: notSquad)
    }
    var version = SquadVersion.v1
    for a in articles { for p in a["paragraphs"] as! [[String: Any]] { for q in (p["qas"] as? [[String: Any]]) ?? [] where q["is_impossible"] != nil { version = .v2 } } }
    var examples: [SquadExample] = [], problems: [SquadProblem] = []
    var position = 0
    for (ai, article) in articles.enumerated() {
        for (pi, paragraph) in (article["paragraphs"] as! [[String: Any]]).enumerated() {
            guard let qas = paragraph["qas"] as? [[String: Any]] else {
                problems.append(SquadProblem(question: "data[\(ai)].paragraphs[\(pi)]", problem: "no qas list"))
                continue
            }
            let context = paragraph["context"] as? String
            let scalars = context.map { Array($0.unicodeScalars) } ?? []
            for qa in qas {
                position += 1
                let name = (qa["id"] as? String) ?? "#\(position) (data[\(ai)].paragraphs[\(pi)], no id)"
                func refuse(_ problem: String) { problems.append(SquadProblem(question: name, problem: problem)) }
                guard qa["id"] is String else { refuse("no id"); continue }
                guard let context else { refuse("its paragraph has no context"); continue }
                guard !context.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { refuse("its paragraph's context is empty"); continue }
                guard let question = qa["question"] as? String, !question.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                    refuse("no question text"); continue
                }
                let impossible = (qa["is_impossible"] as? Bool) ?? false
                var answers: [SquadAnswer] = []
                if !impossible {
                    guard let list = qa["answers"] as? [[String: Any]] else {
                        if requireAnswers { refuse("no answers list") } else {
                            examples.append(SquadExample(id: name, question: question, context: context, answers: []))
                        }
                        continue
                    }
                    var bad: String?
                    for a in list {
                        guard let text = a["text"] as? String, let start = (a["answer_start"] as? NSNumber)?.intValue else {
                            bad = "an answer without text or answer_start"; break
                        }
                        let t = Array(text.unicodeScalars)
                        guard start >= 0, start + t.count <= scalars.count, Array(scalars[start..<(start + t.count)]) == t else {
                            let found = start >= 0 && start < scalars.count
                                ? String(String.UnicodeScalarView(scalars[start..<min(scalars.count, start + t.count)])) : "(outside the context)"
                            bad = "answer \"\(text)\" is not at answer_start \(start) (the context has \"\(found)\" there)"; break
                        }
                        answers.append(SquadAnswer(text: text, start: start))
                    }
                    if let bad { refuse(bad); continue }
                    if answers.isEmpty && requireAnswers && version == .v1 { refuse("no answer (a SQuAD v1.1 question needs one)"); continue }
                }
                examples.append(SquadExample(id: name, question: question, context: context, answers: answers))
            }
        }
    }
    if strict, let first = problems.first {
        throw TaskDataError.badFile(file: path, problem: "\(problems.count) bad question(s) (--strict), first: \(first)")
    }
    guard !examples.isEmpty else {
        throw TaskDataError.badFile(file: path, problem: "no usable question" + (problems.first.map { " (first: \($0))" } ?? ""))
    }
    return SquadFile(path: path, version: version, examples: examples, problems: problems)
}

/// One window of one question.
public struct SquadFeature: Equatable, Sendable {
    /// The example (question) it belongs to.
    public var example: Int
    public var ids: [Int32], segments: [Int32]
    /// Each token's (start, end) in the context's scalars; nil outside the context window.
    public var offsets: [Range<Int>?]
    /// The answer's first and last token in this window, (0, 0) for none.
    public var start: Int32, end: Int32

    public init(example: Int, ids: [Int32], segments: [Int32], offsets: [Range<Int>?], start: Int32, end: Int32) {
        self.example = example; self.ids = ids; self.segments = segments; self.offsets = offsets; self.start = start; self.end = end
    }
}

/// The sizes of the windows (run_qa / configure_finetuning.py defaults: 384 there, ELECTRA's 512 here).
public struct SquadWindowing: Codable, Equatable, Sendable {
    public var maxSeqLength = 512
    public var maxQueryLength = 64
    public var docStride = 128
    public init(maxSeqLength: Int = 512, maxQueryLength: Int = 64, docStride: Int = 128) {
        self.maxSeqLength = maxSeqLength; self.maxQueryLength = maxQueryLength; self.docStride = docStride
    }
}

public enum SquadFeatureError: Error, CustomStringConvertible, Equatable {
    case noRoomForContext(question: String, questionTokens: Int, maxSeqLength: Int)
    case strideTooLarge(docStride: Int, window: Int, question: String)

    public var description: String {
        switch self {
        case .noRoomForContext(let q, let n, let m):
            return "question \(q): \(n) question tokens leave no room for the context in --max-seq-length \(m)"
        case .strideTooLarge(let s, let w, let q):
            return "question \(q): --doc-stride \(s) is not smaller than the \(w) context tokens a window holds; lower it or raise --max-seq-length"
        }
    }
}

/// The windows of every example (training labels from the first reference answer).
public func squadFeatures(_ examples: [SquadExample], tokenizer: inout BertTokenizer, windowing w: SquadWindowing) throws -> [SquadFeature] {
    let v = tokenizer.vocabulary
    let cls = Int32(v.clsID), sep = Int32(v.sepID)
    var out: [SquadFeature] = []
    for (index, e) in examples.enumerated() {
        let question = tokenizer.encode(e.question).prefix(w.maxQueryLength).map { Int32($0) }
        let context = tokenizer.encodeWithOffsets(e.context)
        let room = w.maxSeqLength - question.count - 3
        guard room > 0 else { throw SquadFeatureError.noRoomForContext(question: e.id, questionTokens: question.count, maxSeqLength: w.maxSeqLength) }
        guard context.count <= room || w.docStride < room else {
            throw SquadFeatureError.strideTooLarge(docStride: w.docStride, window: room, question: e.id)
        }
        let answer = e.answers.first.map { ($0.start, $0.start + $0.text.unicodeScalars.count) }
        var start = 0
        while true {
            let end = min(start + room, context.count)
            let window = context[start..<end]
            var ids = [cls] + question + [sep]
            var segments = [Int32](repeating: 0, count: ids.count)
            var offsets = [Range<Int>?](repeating: nil, count: ids.count)
            let first = ids.count
            for t in window {
                ids.append(Int32(t.id)); segments.append(1); offsets.append(t.start..<t.end)
            }
            ids.append(sep); segments.append(1); offsets.append(nil)
            var label: (Int32, Int32) = (0, 0)
            if let (s, e) = answer, !window.isEmpty, window.first!.start <= s, window.last!.end >= e {
                // run_qa: the last token starting at or before the answer, the first ending at or after it.
                var a = first
                while a < first + window.count && offsets[a]!.lowerBound <= s { a += 1 }
                var b = first + window.count - 1
                while b >= first && offsets[b]!.upperBound >= e { b -= 1 }
                label = (Int32(a - 1), Int32(b + 1))
            }
            out.append(SquadFeature(example: index, ids: ids, segments: segments, offsets: offsets, start: label.0, end: label.1))
            if end == context.count { break }
            start = end - w.docStride
        }
    }
    return out
}

/// Rows `indices` of `features` as one batch; missing rows are filler ([CLS] [SEP], no loss).
public func makeSpanBatch(_ features: [SquadFeature], _ indices: ArraySlice<Int>, batchSize: Int, seqLength: Int,
                          padID: Int32, clsID: Int32, sepID: Int32) -> TokenBatch {
    let L = seqLength
    var ids = [Int32](repeating: padID, count: batchSize * L)
    var segments = [Int32](repeating: 0, count: batchSize * L)
    var attention = [Int32](repeating: 0, count: batchSize * L)
    var targets = [Int32](repeating: -1, count: 2 * batchSize)
    for row in 0..<batchSize {
        guard row < indices.count else {
            ids[row * L] = clsID; ids[row * L + 1] = sepID; attention[row * L] = 1; attention[row * L + 1] = 1
            continue
        }
        let f = features[indices[indices.startIndex + row]]
        for (t, id) in f.ids.prefix(L).enumerated() {
            ids[row * L + t] = id; segments[row * L + t] = f.segments[t]; attention[row * L + t] = 1
        }
        targets[2 * row] = f.start
        targets[2 * row + 1] = f.end
    }
    return TokenBatch(ids: ids, segments: segments, attention: attention, targets: targets, rows: indices.count)
}

/// One question's answer after post-processing.
public struct SquadPrediction: Equatable, Sendable {
    public var id: String
    /// The answer ("" when v2.0 predicts none).
    public var text: String
    /// v2.0: null score minus the best non-null span's score (the official script's "null odds").
    public var nullOdds: Double?
    /// The n best answers: text, start and end logit, probability (softmax over their scores).
    public var nBest: [(text: String, startLogit: Float, endLogit: Float, probability: Double)]

    public static func == (a: SquadPrediction, b: SquadPrediction) -> Bool {
        a.id == b.id && a.text == b.text && a.nullOdds == b.nullOdds && a.nBest.map(\.text) == b.nBest.map(\.text)
    }
}

/// transformers' postprocess_qa_predictions (utils_qa.py): per question, over all its windows, the
/// n_best_size best start and end tokens, pairs inside the context with start <= end and at most
/// max_answer_length tokens, scored start + end logit; v2.0 adds the lowest [CLS] score of its
/// windows as the null answer and predicts "" when null score - best span score > `nullThreshold`.
/// `logits[f]` holds feature f's (start, end) logit pairs, [L x 2].
public func squadPredictions(_ examples: [SquadExample], _ features: [SquadFeature], logits: [[Float]], version: SquadVersion,
                             nBestSize: Int = 20, maxAnswerLength: Int = 30, nullThreshold: Double = 0) -> [SquadPrediction] {
    var byExample = [[Int]](repeating: [], count: examples.count)
    for (i, f) in features.enumerated() { byExample[f.example].append(i) }
    return examples.enumerated().map { index, example in
        let context = Array(example.context.unicodeScalars)
        var prelim: [(range: Range<Int>?, score: Float, start: Float, end: Float)] = []
        var null: (score: Float, start: Float, end: Float)?
        for fi in byExample[index] {
            let f = features[fi], z = logits[fi]
            let L = min(f.offsets.count, z.count / 2)
            let startLogits = (0..<L).map { z[2 * $0] }, endLogits = (0..<L).map { z[2 * $0 + 1] }
            let nullScore = startLogits[0] + endLogits[0]
            if null == nil || null!.score > nullScore { null = (nullScore, startLogits[0], endLogits[0]) }
            let starts = topIndices(startLogits, nBestSize), ends = topIndices(endLogits, nBestSize)
            for s in starts {
                for e in ends {
                    guard let a = f.offsets[s], let b = f.offsets[e], e >= s, e - s + 1 <= maxAnswerLength else { continue }
                    prelim.append((a.lowerBound..<max(a.lowerBound, b.upperBound), startLogits[s] + endLogits[e], startLogits[s], endLogits[e]))
                }
            }
        }
        if version == .v2, let null { prelim.append((nil, null.score, null.start, null.end)) }
        // sorted(..., reverse=True) is stable: equal scores keep their order.
        var best = prelim.enumerated().sorted { $0.element.score > $1.element.score || ($0.element.score == $1.element.score && $0.offset < $1.offset) }
            .prefix(nBestSize).map(\.element)
        if version == .v2, let null, !best.contains(where: { $0.range == nil }) { best.append((nil, null.score, null.start, null.end)) }
        var texts = best.map { $0.range.map { String(String.UnicodeScalarView(context[$0])) } ?? "" }
        if best.isEmpty || (best.count == 1 && texts[0].isEmpty) {
            best.insert((nil, 0, 0, 0), at: 0)
            texts.insert("empty", at: 0)
        }
        let m = best.map { Double($0.score) }.max()!
        let exps = best.map { exp(Double($0.score) - m) }, total = exps.reduce(0, +)
        let nBest = best.indices.map { (texts[$0], best[$0].start, best[$0].end, exps[$0] / total) }
        guard version == .v2, let null else {
            return SquadPrediction(id: example.id, text: texts[0], nullOdds: nil, nBest: nBest)
        }
        let i = texts.firstIndex { !$0.isEmpty } ?? 0
        let odds = Double(null.score) - Double(best[i].start) - Double(best[i].end)
        return SquadPrediction(id: example.id, text: odds > nullThreshold ? "" : texts[i], nullOdds: odds, nBest: nBest)
    }
}

/// The indices of the `k` largest values, largest first (ties: the later index first, as numpy's argsort reversed).
func topIndices(_ x: [Float], _ k: Int) -> [Int] {
    Array(x.indices.sorted { x[$0] > x[$1] || (x[$0] == x[$1] && $0 > $1) }.prefix(k))
}

/// The reference answers of examples, for the evaluations.
public func squadGold(_ examples: [SquadExample]) -> [SquadGold] {
    examples.map { SquadGold(id: $0.id, answers: $0.answers.map(\.text)) }
}

/// Question answering (TokenClassifier with the span head over `SquadFeature`s); the dev metric
/// is the official evaluation's F1 (v2.0: at the best null threshold on dev, as it reports it).
public final class QuestionAnsweringWorkload: FineTuningWorkload {
    public let classifier: TokenClassifier
    public var model: any EncoderTaskModel { classifier }
    let setup: FineTuneSetup
    let train: [SquadFeature], dev: [SquadFeature]
    let devExamples: [SquadExample]
    let version: SquadVersion
    let ids: (pad: Int32, cls: Int32, sep: Int32)

    public init(setup: FineTuneSetup, train: [SquadFeature], dev: [SquadFeature], devExamples: [SquadExample], version: SquadVersion,
                specialIDs: (pad: Int32, cls: Int32, sep: Int32)) throws {
        self.setup = setup
        self.train = train
        self.dev = dev
        self.devExamples = devExamples
        self.version = version
        ids = specialIDs
        var config = setup.config
        config.dropout = setup.options.dropout
        classifier = try TokenClassifier(config: config, head: .span, batchSize: setup.options.batchSize, seqLength: setup.seqLength,
                                         seed: setup.options.seed)
    }

    public var trainingRows: Int { train.count }
    public var hasDev: Bool { !dev.isEmpty }

    public func trainStep(_ rows: ArraySlice<Int>, rng: inout Xoshiro256) -> (loss: Float, tokens: Int) {
        let batch = makeSpanBatch(train, rows, batchSize: setup.options.batchSize, seqLength: setup.seqLength, padID: ids.pad,
                                  clsID: ids.cls, sepID: ids.sep)
        let result = classifier.step(batch, training: true, computeGradients: true, rng: &rng)
        return (result.loss, rows.reduce(0) { $0 + train[$1].ids.count })
    }

    public func evaluateDev() -> DevEvaluation {
        let (logits, loss) = spanLogits(classifier, dev, ids: ids)
        let predictions = squadPredictions(devExamples, dev, logits: logits, version: version)
        return squadEvaluation(devExamples, predictions, version: version, loss: loss)
    }
}

/// The official evaluation of predictions as the loop logs it: v1.1 exact and f1; v2.0 exact, f1,
/// HasAns/NoAns and the best EM/F1 over null thresholds (main: best_f1).
public func squadEvaluation(_ examples: [SquadExample], _ predictions: [SquadPrediction], version: SquadVersion, loss: Double) -> DevEvaluation {
    let gold = squadGold(examples)
    let texts = Dictionary(predictions.map { ($0.id, $0.text) }, uniquingKeysWith: { a, _ in a })
    switch version {
    case .v1:
        let r = squadV1Evaluate(gold, predictions: texts)
        return DevEvaluation(values: [("f1", r.f1), ("exact", r.exactMatch)], main: r.f1, loss: loss)
    case .v2:
        let r = squadV2Evaluate(gold, predictions: texts, naProbs: predictions.map { ($0.id, $0.nullOdds ?? 0) })
        var values: [(String, Double)] = [("best_f1", r.best!.f1), ("best_exact", r.best!.exact), ("best_f1_thresh", r.best!.f1Threshold),
                                          ("f1", r.f1), ("exact", r.exact)]
        if let h = r.hasAns { values += [("HasAns_f1", h.f1), ("HasAns_exact", h.exact)] }
        if let n = r.noAns { values += [("NoAns_f1", n.f1), ("NoAns_exact", n.exact)] }
        return DevEvaluation(values: values, main: r.best!.f1, loss: loss)
    }
}

/// The (start, end) logits of every feature, [L x 2] each, and the mean loss (dropout off).
public func spanLogits(_ model: TokenClassifier, _ features: [SquadFeature], ids: (pad: Int32, cls: Int32, sep: Int32))
    -> (logits: [[Float]], loss: Double) {
    var rng = Xoshiro256(seed: 0)
    var out: [[Float]] = []
    let B = model.batchSize, L = model.seqLength
    var start = 0, lossSum = 0.0
    let all = Array(features.indices)
    while start < features.count {
        let rows = all[start..<min(start + B, features.count)]
        let batch = makeSpanBatch(features, rows, batchSize: B, seqLength: L, padID: ids.pad, clsID: ids.cls, sepID: ids.sep)
        let result = model.step(batch, training: false, computeGradients: false, rng: &rng)
        lossSum += Double(result.loss) * Double(rows.count)
        for r in 0..<rows.count { out.append(Array(result.logits[(r * L * 2)..<((r + 1) * L * 2)])) }
        start += B
    }
    return (out, lossSum / Double(max(features.count, 1)))
}
