// Examples as model inputs, as BERT/ELECTRA build them: [CLS] A [SEP] (B [SEP]), segment 0 up to
// and including the first [SEP], 1 after; a pair too long loses tokens from its longer side
// first (_truncate_seq_pair); batches padded with [PAD] to the run's sequence length.
import Model
import Tokenization

/// One tokenized example.
public struct Feature: Equatable, Sendable {
    public var ids: [Int32]
    public var segments: [Int32]
    /// Class index, or the target value for regression (0 when the example has no label, or a
    /// label the task lacks).
    public var label: Float
    /// The example's label is not one of the task's (a dev row kept by `--unknown-dev-labels
    /// wrong`): every prediction of it is wrong. The model sees class 0 (its loss there is unused).
    public var unknownLabel: Bool

    public init(ids: [Int32], segments: [Int32], label: Float, unknownLabel: Bool = false) {
        self.ids = ids; self.segments = segments; self.label = label; self.unknownLabel = unknownLabel
    }
}

/// Tokenizes examples with the model's vocabulary and options.
public struct FeatureEncoder {
    public let vocabulary: Vocabulary
    public let maxLength: Int
    private var tokenizer: BertTokenizer

    public init(vocabulary: Vocabulary, options: TokenizerOptions, maxLength: Int) {
        self.vocabulary = vocabulary
        self.maxLength = maxLength
        tokenizer = BertTokenizer(vocabulary: vocabulary, options: options)
    }

    /// The feature of one example; `labelIndex` maps a class name to its index (nil: regression).
    public mutating func encode(_ e: RawExample, labels: [String], regression: Bool) -> Feature {
        var a = tokenizer.encode(e.text).map { Int32($0) }
        var b = e.pair.map { tokenizer.encode($0).map { Int32($0) } }
        if var second = b {
            while a.count + second.count > maxLength - 3 {
                if a.count > second.count { a.removeLast() } else { second.removeLast() }
            }
            b = second
        } else if a.count > maxLength - 2 {
            a.removeLast(a.count - (maxLength - 2))
        }
        let cls = Int32(vocabulary.clsID), sep = Int32(vocabulary.sepID)
        var ids = [cls] + a + [sep]
        var segments = [Int32](repeating: 0, count: ids.count)
        if let b {
            ids += b + [sep]
            segments += [Int32](repeating: 1, count: b.count + 1)
        }
        var y: Float = 0, unknown = false
        if let label = e.label {
            if regression {
                y = Float(Double(label) ?? 0)
            } else if let k = labels.firstIndex(of: label) {
                y = Float(k)
            } else {
                unknown = true
            }
        }
        return Feature(ids: ids, segments: segments, label: y, unknownLabel: unknown)
    }
}

/// Rows `indices` of `features` as one batch of `batchSize` x `seqLength`; missing rows are
/// filler ([CLS] [SEP], no loss).
public func makeBatch(_ features: [Feature], _ indices: ArraySlice<Int>, batchSize: Int, seqLength: Int, padID: Int32,
                      clsID: Int32, sepID: Int32) -> ClassificationBatch {
    let L = seqLength
    var ids = [Int32](repeating: padID, count: batchSize * L)
    var segments = [Int32](repeating: 0, count: batchSize * L)
    var attention = [Int32](repeating: 0, count: batchSize * L)
    var labels = [Float](repeating: 0, count: batchSize)
    for row in 0..<batchSize {
        let f: Feature
        if row < indices.count {
            f = features[indices[indices.startIndex + row]]
        } else {
            f = Feature(ids: [clsID, sepID], segments: [0, 0], label: 0)
        }
        for (t, id) in f.ids.prefix(L).enumerated() {
            ids[row * L + t] = id
            segments[row * L + t] = f.segments[t]
            attention[row * L + t] = 1
        }
        labels[row] = f.label
    }
    return ClassificationBatch(ids: ids, segments: segments, attention: attention, labels: labels, rows: indices.count)
}
