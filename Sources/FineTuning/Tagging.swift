// Token tagging (transformers' run_ner, google-research/electra's tagging tasks): each word is
// tokenized on its own (as BertTokenizerFast with is_split_into_words), [CLS] words [SEP], cut
// to the run's maximum length; a word's label sits on its first sub-token, every other position
// gets -100 (ignored by the loss). A word's prediction is the argmax at its first sub-token; a
// word with no token (nothing left after cleaning) or cut off by the maximum length is "O".
// The metric is entity-level F1 over all the words of the file (EntityMetrics.swift).
import Foundation
import Model
import Randomness
import Tokenization

/// One tokenized sentence.
public struct TaggingFeature: Equatable, Sendable {
    public var ids: [Int32]
    /// The class of each token's word on its first sub-token, -100 elsewhere ([CLS], [SEP], later sub-tokens).
    public var labels: [Int32]
    /// The token index of each word's first sub-token; -1 for a word without a token in the sequence.
    public var wordStarts: [Int]

    public init(ids: [Int32], labels: [Int32], wordStarts: [Int]) {
        self.ids = ids; self.labels = labels; self.wordStarts = wordStarts
    }
}

/// Tokenizes sentences with the model's vocabulary and options.
public struct TaggingEncoder {
    public let vocabulary: Vocabulary
    public let maxLength: Int
    private var tokenizer: BertTokenizer

    public init(vocabulary: Vocabulary, options: TokenizerOptions, maxLength: Int) {
        precondition(maxLength >= 2)
        self.vocabulary = vocabulary
        self.maxLength = maxLength
        tokenizer = BertTokenizer(vocabulary: vocabulary, options: options)
    }

    /// The feature of one sentence; tags map to their index in `labels` (a sentence without tags, or a
    /// tag not in `labels`, gets -100).
    public mutating func encode(_ s: TaggedSentence, labels: [String]) -> TaggingFeature {
        let index = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($0.element, Int32($0.offset)) })
        var ids: [Int32] = [Int32(vocabulary.clsID)], y: [Int32] = [ignoredLabel], starts: [Int] = []
        let room = maxLength - 1   // [SEP]
        for (w, word) in s.words.enumerated() {
            let pieces = tokenizer.encode(word)
            guard !pieces.isEmpty, ids.count < room else { starts.append(-1); continue }
            starts.append(ids.count)
            for (i, id) in pieces.enumerated() where ids.count < room {
                ids.append(Int32(id))
                y.append(i == 0 ? (s.tags.flatMap { index[$0[w]] } ?? ignoredLabel) : ignoredLabel)
            }
        }
        ids.append(Int32(vocabulary.sepID))
        y.append(ignoredLabel)
        return TaggingFeature(ids: ids, labels: y, wordStarts: starts)
    }
}

/// Rows `indices` of `features` as one batch of `batchSize` x `seqLength`; missing rows are
/// filler ([CLS] [SEP], no label).
public func makeTokenBatch(_ features: [TaggingFeature], _ indices: ArraySlice<Int>, batchSize: Int, seqLength: Int,
                           padID: Int32, clsID: Int32, sepID: Int32) -> TokenBatch {
    let L = seqLength
    var ids = [Int32](repeating: padID, count: batchSize * L)
    var attention = [Int32](repeating: 0, count: batchSize * L)
    var labels = [Int32](repeating: ignoredLabel, count: batchSize * L)
    for row in 0..<batchSize {
        let f = row < indices.count ? features[indices[indices.startIndex + row]]
            : TaggingFeature(ids: [clsID, sepID], labels: [ignoredLabel, ignoredLabel], wordStarts: [])
        for (t, id) in f.ids.prefix(L).enumerated() {
            ids[row * L + t] = id
            attention[row * L + t] = 1
            labels[row * L + t] = f.labels[t]
        }
    }
    return TokenBatch(ids: ids, segments: [Int32](repeating: 0, count: batchSize * L), attention: attention, targets: labels,
                      rows: indices.count)
}

/// The logits of every token of every feature (dropout off), [L x K] per feature, in batches of the model's shape.
public func tokenLogits(_ model: TokenClassifier, _ features: [TaggingFeature], ids: (pad: Int32, cls: Int32, sep: Int32))
    -> (logits: [[Float]], loss: Double) {
    var rng = Xoshiro256(seed: 0)
    var out: [[Float]] = []
    let B = model.batchSize, L = model.seqLength, K = model.head.outputs
    var start = 0, lossSum = 0.0, labelled = 0
    let all = Array(features.indices)
    while start < features.count {
        let rows = all[start..<min(start + B, features.count)]
        let batch = makeTokenBatch(features, rows, batchSize: B, seqLength: L, padID: ids.pad, clsID: ids.cls, sepID: ids.sep)
        let result = model.step(batch, training: false, computeGradients: false, rng: &rng)
        let n = batch.targets.prefix(rows.count * L).filter { $0 >= 0 }.count
        lossSum += Double(result.loss) * Double(n)
        labelled += n
        for r in 0..<rows.count { out.append(Array(result.logits[(r * L * K)..<((r + 1) * L * K)])) }
        start += B
    }
    return (out, lossSum / Double(max(labelled, 1)))
}

/// Each word's predicted tag: the argmax at its first sub-token, "O" for a word without one.
public func predictedTags(_ logits: [Float], feature: TaggingFeature, labels: [String]) -> [String] {
    let K = labels.count
    return feature.wordStarts.map { t in
        guard t >= 0 else { return "O" }
        return labels[argmax(Array(logits[(t * K)..<((t + 1) * K)]))]
    }
}

/// Token tagging (TokenClassifier over `TaggingFeature`s); the dev metric is entity F1.
public final class TaggingWorkload: FineTuningWorkload {
    public let classifier: TokenClassifier
    public var model: any EncoderTaskModel { classifier }
    let setup: FineTuneSetup
    let train: [TaggingFeature], dev: [TaggingFeature]
    let devSentences: [TaggedSentence]
    let ids: (pad: Int32, cls: Int32, sep: Int32)

    public init(setup: FineTuneSetup, train: [TaggingFeature], dev: [TaggingFeature], devSentences: [TaggedSentence],
                specialIDs: (pad: Int32, cls: Int32, sep: Int32)) throws {
        precondition(dev.count == devSentences.count)
        self.setup = setup
        self.train = train
        self.dev = dev
        self.devSentences = devSentences
        ids = specialIDs
        var config = setup.config
        config.dropout = setup.options.dropout
        classifier = try TokenClassifier(config: config, head: .tagging(labels: setup.task.labels.count),
                                         batchSize: setup.options.batchSize, seqLength: setup.seqLength, seed: setup.options.seed)
    }

    public var trainingRows: Int { train.count }
    public var hasDev: Bool { !dev.isEmpty }

    public func trainStep(_ rows: ArraySlice<Int>, rng: inout Xoshiro256) -> (loss: Float, tokens: Int) {
        let batch = makeTokenBatch(train, rows, batchSize: setup.options.batchSize, seqLength: setup.seqLength, padID: ids.pad,
                                   clsID: ids.cls, sepID: ids.sep)
        let result = classifier.step(batch, training: true, computeGradients: true, rng: &rng)
        return (result.loss, rows.reduce(0) { $0 + train[$1].ids.count })
    }

    public func evaluateDev() -> DevEvaluation {
        let (logits, loss) = tokenLogits(classifier, dev, ids: ids)
        let predicted = zip(logits, dev).map { predictedTags($0.0, feature: $0.1, labels: setup.task.labels) }
        let s = entityScores(gold: devSentences.map { $0.tags ?? [] }, predicted: predicted)
        return DevEvaluation(values: [("f1", s.f1), ("precision", s.precision), ("recall", s.recall)], main: s.f1, loss: loss)
    }
}
