// electra-train predict: a fine-tuned model's prediction for each row of a file, in the form of
// GLUE's test-set submissions (index<TAB>prediction, one row per line), with the probability of
// the predicted class (or nothing more for regression).
import ArgumentParser
import CommandLineSupport
import FineTuning
import Foundation
import Kernels
import Model
import Tokenization

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Predict labels (or scores) for the rows of a file with a fine-tuned model.",
        discussion: "Tagging: the CoNLL file written back with the predicted tag as a last column (and, when the file has tags, entity precision, recall and F1 on standard error).")

    @Option(help: "A fine-tuning run (runs/NAME-TASK) or its export (electra-train export RUN --out DIR).") var model: String
    @Argument(help: "The file to predict (the task's layout; a label column is not needed).") var file: String
    @Option(help: "Write here instead of standard output.") var out: String?
    @Flag(help: "Only index and prediction (GLUE's submission format), no probability column.") var glue = false
    @Option(help: "squad v2.0: predict no answer when null score - best span score exceeds this (default: the best threshold on dev, or 0).") var nullThreshold: Double?
    @Flag(help: "Also write every class's logit (tagging: every tag's, at each word's first sub-token).") var logits = false
    @Option(help: "Rows per forward pass.") var batchSize = 32
    @Option(help: "Threads for matrix products.") var threads = ProcessInfo.processInfo.activeProcessorCount

    func run() throws {
        setComputeThreads(threads)
        let source = try loadEncoderSource(model)
        guard let setup = source.setup else {
            throw ValidationError("\(model) is not a fine-tuned model (pass a run of electra-train finetune, or its export)")
        }
        if setup.task.metric == .entityF1 { return try predictTags(source, setup) }
        if setup.task.metric == .squad { return try predictAnswers(source, setup) }
        let data = try readTaskFile(file, spec: setup.task, requireLabel: false)
        for row in data.badRows.prefix(10) { FileHandle.standardError.write(Data("warning: skipped \(row)\n".utf8)) }
        if data.badRows.count > 10 { FileHandle.standardError.write(Data("warning: ... and \(counted(data.badRows.count - 10, "more bad row"))\n".utf8)) }
        let vocabulary = try Vocabulary(tokens: source.vocabulary)
        var encoder = FeatureEncoder(vocabulary: vocabulary, options: source.tokenizer, maxLength: setup.options.maxLength)
        let features = data.examples.map { encoder.encode($0, labels: setup.task.labels, regression: setup.task.regression) }
        let L = max(2, min(setup.options.maxLength, features.map(\.ids.count).max() ?? 2))
        var config = setup.config
        config.dropout = 0
        let classifier = try SequenceClassifier(config: config, numLabels: setup.numLabels, batchSize: batchSize, seqLength: L, seed: 0)
        let missing = try classifier.assign(source.tensors, source: model)
        guard missing.isEmpty else { throw ValidationError("\(model): tensor \(missing[0]) is missing") }
        let outputs = FineTuning.predict(classifier, features, seqLength: L,
                                         ids: (Int32(vocabulary.padID), Int32(vocabulary.clsID), Int32(vocabulary.sepID)))
        var text = glue ? "index\tprediction\n" : (setup.task.regression ? "index\tprediction" : "index\tprediction\tprobability")
            + (logits && !glue ? (0..<setup.numLabels).map { "\tlogit_\($0)" }.joined() : "") + (glue ? "" : "\n")
        for (example, z) in zip(data.examples, outputs) {
            var line = example.id + "\t"
            if setup.task.regression {
                line += String(format: "%.6f", z[0])
            } else {
                let k = argmax(z), m = z.max()!
                let sum = z.reduce(0.0) { $0 + Double(expf($1 - m)) }
                line += setup.task.labels[k]
                if !glue { line += String(format: "\t%.6f", 1 / sum) }
            }
            if logits && !glue { line += z.map { String(format: "\t%.6f", $0) }.joined() }
            text += line + "\n"
        }
        if let out {
            try Data(text.utf8).write(to: URL(fileURLWithPath: out), options: .atomic)
            FileHandle.standardError.write(Data("wrote \(outputs.count) predictions to \(out)\n".utf8))
        } else {
            print(text, terminator: "")
        }
    }

    /// Question answering: the predictions file the official scripts read (question id -> answer),
    /// with --out also FILE.nbest.json and, for v2.0, FILE.null_odds.json beside it; EM and F1 on
    /// standard error when the file has answers.
    func predictAnswers(_ source: EncoderSource, _ setup: FineTuneSetup) throws {
        let data = try readSquadFile(file, requireAnswers: false)
        for p in data.problems.prefix(10) { FileHandle.standardError.write(Data("warning: skipped \(p)\n".utf8)) }
        if data.problems.count > 10 { FileHandle.standardError.write(Data("warning: ... and \(data.problems.count - 10) more bad questions\n".utf8)) }
        let vocabulary = try Vocabulary(tokens: source.vocabulary)
        var tokenizer = BertTokenizer(vocabulary: vocabulary, options: source.tokenizer)
        let features = try squadFeatures(data.examples, tokenizer: &tokenizer, windowing: setup.task.windowing ?? SquadWindowing())
        let L = max(2, features.map(\.ids.count).max() ?? 2)
        var config = setup.config
        config.dropout = 0
        let reader = try TokenClassifier(config: config, head: .span, batchSize: batchSize, seqLength: L, seed: 0)
        let missing = try reader.assign(source.tensors, source: model)
        guard missing.isEmpty else { throw ValidationError("\(model): tensor \(missing[0]) is missing") }
        let (logits, _) = spanLogits(reader, features, ids: (Int32(vocabulary.padID), Int32(vocabulary.clsID), Int32(vocabulary.sepID)))
        let version: SquadVersion = data.version == .v2 || setup.task.squadVersion == .v2 ? .v2 : .v1
        let threshold = nullThreshold ?? setup.task.nullThreshold ?? bestNullThreshold(URL(fileURLWithPath: model)) ?? 0
        let predictions = squadPredictions(data.examples, features, logits: logits, version: version, nullThreshold: threshold)
        func json(_ object: Any) throws -> Data {
            try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]) + Data("\n".utf8)
        }
        let answers = try json(Dictionary(predictions.map { ($0.id, $0.text) }, uniquingKeysWith: { a, _ in a }))
        if let out {
            let base = URL(fileURLWithPath: out)
            let stem = base.deletingPathExtension()
            try answers.write(to: base, options: .atomic)
            let nBest = Dictionary(predictions.map { p in
                (p.id, p.nBest.map { ["text": $0.text, "start_logit": Double($0.startLogit), "end_logit": Double($0.endLogit), "probability": $0.probability] as [String: Any] })
            }, uniquingKeysWith: { a, _ in a })
            try json(nBest).write(to: stem.appendingPathExtension("nbest.json"), options: .atomic)
            if version == .v2 {
                try json(Dictionary(predictions.map { ($0.id, $0.nullOdds ?? 0) }, uniquingKeysWith: { a, _ in a }))
                    .write(to: stem.appendingPathExtension("null_odds.json"), options: .atomic)
            }
            FileHandle.standardError.write(Data("wrote \(predictions.count) answers to \(out) (n-best: \(stem.path).nbest.json\(version == .v2 ? ", null odds: \(stem.path).null_odds.json" : ""))\n".utf8))
        } else {
            FileHandle.standardOutput.write(answers)
        }
        if data.examples.contains(where: { !$0.answers.isEmpty }) {
            let gold = squadGold(data.examples)
            let texts = Dictionary(predictions.map { ($0.id, $0.text) }, uniquingKeysWith: { a, _ in a })
            if version == .v1 {
                let r = squadV1Evaluate(gold, predictions: texts)
                FileHandle.standardError.write(Data(String(format: "SQuAD v1.1: exact %.4f  f1 %.4f  (%d questions)\n", r.exactMatch, r.f1, gold.count).utf8))
            } else {
                let r = squadV2Evaluate(gold, predictions: texts, naProbs: predictions.map { ($0.id, $0.nullOdds ?? 0) })
                FileHandle.standardError.write(Data(String(format: "SQuAD v2.0 (null threshold %.4f): exact %.4f  f1 %.4f; best over thresholds: exact %.4f (%.4f)  f1 %.4f (%.4f)\n",
                                                           threshold, r.exact, r.f1, r.best!.exact, r.best!.exactThreshold, r.best!.f1, r.best!.f1Threshold).utf8))
            }
        }
    }

    /// Tagging: every sentence's lines with the predicted tag appended, a blank line after each sentence.
    func predictTags(_ source: EncoderSource, _ setup: FineTuneSetup) throws {
        let data = try readConllFile(file, layout: setup.task.layout ?? ConllLayout(), requireTags: false)
        if !data.badLines.isEmpty {
            warnBadLines(data, what: "left out of the output")
        }
        let vocabulary = try Vocabulary(tokens: source.vocabulary)
        var encoder = TaggingEncoder(vocabulary: vocabulary, options: source.tokenizer, maxLength: setup.options.maxLength)
        let features = data.sentences.map { encoder.encode($0, labels: setup.task.labels) }
        let L = max(2, features.map(\.ids.count).max() ?? 2)
        var config = setup.config
        config.dropout = 0
        let tagger = try TokenClassifier(config: config, head: .tagging(labels: setup.numLabels), batchSize: batchSize, seqLength: L, seed: 0)
        let missing = try tagger.assign(source.tensors, source: model)
        guard missing.isEmpty else { throw ValidationError("\(model): tensor \(missing[0]) is missing") }
        let (logits, _) = tokenLogits(tagger, features, ids: (Int32(vocabulary.padID), Int32(vocabulary.clsID), Int32(vocabulary.sepID)))
        let predicted = zip(logits, features).map { predictedTags($0.0, feature: $0.1, labels: setup.task.labels) }
        let separator = data.sentenceLines.first?.first?.contains("\t") == false ? " " : "\t"
        var text = ""
        let K = setup.numLabels
        for ((lines, tags), (z, feature)) in zip(zip(data.sentenceLines, predicted), zip(logits, features)) {
            for ((line, tag), start) in zip(zip(lines, tags), feature.wordStarts) {
                text += line + separator + tag
                if self.logits {   // every tag's logit at the word's first sub-token ("-" for a word without one)
                    text += start < 0 ? String(repeating: separator + "-", count: K)
                        : (0..<K).map { separator + String(format: "%.6f", z[start * K + $0]) }.joined()
                }
                text += "\n"
            }
            text += "\n"
        }
        if let out {
            try Data(text.utf8).write(to: URL(fileURLWithPath: out), options: .atomic)
            FileHandle.standardError.write(Data("wrote the tags of \(data.sentences.count) sentences to \(out)\n".utf8))
        } else {
            print(text, terminator: "")
        }
        if data.sentences.allSatisfy({ $0.tags != nil }) {
            let s = entityScores(gold: data.sentences.map { $0.tags! }, predicted: predicted)
            FileHandle.standardError.write(Data(String(format: "entities: precision %.4f  recall %.4f  F1 %.4f  (%d gold, %d predicted, %d right)\n",
                                                       s.precision, s.recall, s.f1, s.goldChunks, s.predictedChunks, s.correctChunks).utf8))
        }
    }
}
