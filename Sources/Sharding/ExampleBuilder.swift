// Packs tokenized sentences into ELECTRA pre-training examples. Ports the ExampleBuilder class of
// google-research/electra build_pretraining_dataset.py (add_line, _create_example,
// _make_tf_example) with the same rules and the same order of random draws, from a seeded
// generator instead of Python's unseeded `random`. Padding is left to the reader.

/// One packed pre-training example: `[CLS] A [SEP]` then `B [SEP]` when B exists, unpadded.
public struct PackedSequence: Equatable, Sendable {
    /// `[CLS] A [SEP] (B [SEP])`, no padding.
    public var tokens: [UInt32]
    /// Index of the first token of segment B; `tokens.count` when there is no B.
    public var segmentBStart: Int
    /// How the packing drew this example (kept in the shard so that `inspect` can report the rates).
    public var draws: Draws

    /// The random draws that shaped one example.
    public struct Draws: OptionSet, Hashable, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// The 10% draw: only segment A was targeted (as for single-sentence classification).
        public static let singleSegment = Draws(rawValue: 1)
        /// The 5% draw: this example's target length was uniform in [5, max] instead of max.
        public static let shortTarget = Draws(rawValue: 2)
    }

    public init(tokens: [UInt32], segmentBStart: Int, draws: Draws = []) {
        self.tokens = tokens
        self.segmentBStart = segmentBStart
        self.draws = draws
    }

    /// Segment ids as the original writes them: 0 for `[CLS] A [SEP]`, 1 for `B [SEP]`.
    public var segmentIDs: [UInt32] {
        (0..<tokens.count).map { $0 < segmentBStart ? 0 : 1 }
    }

    /// True when the example has a segment B.
    public var hasSegmentB: Bool { segmentBStart < tokens.count }
}

/// Accumulates the sentences (tokenized lines) of one document and emits packed examples
/// exactly as ELECTRA's `ExampleBuilder`:
///
/// - sentences are appended until their total length reaches the target length, then one
///   example is made from them and the overflow is dropped;
/// - the target is `maxSeqLength`, except that after each example, with probability 0.05, the
///   next target is uniform in `[5, maxSeqLength]`;
/// - with probability 0.1 the example targets segment A only; otherwise A's target is
///   `(target - 3) / 2` and each sentence goes to A when A is empty, or fits under A's target,
///   or (B empty, A under target, and a coin flip); otherwise to B;
/// - A is truncated to `max - 2`, B to `max - len(A) - 3`.
///
/// ```swift
/// var builder = ExampleBuilder(maxSeqLength: 128, clsID: 2, sepID: 3, random: SeededRandom(seed: 0))
/// if let example = builder.addSentence(ids) { write(example) }
/// if let last = builder.endDocument() { write(last) }
/// ```
public struct ExampleBuilder {
    public let maxSeqLength: Int
    public let clsID: UInt32
    public let sepID: UInt32
    /// The current target length (`maxSeqLength` unless the 5% draw picked a shorter one).
    public var targetLength: Int { rules.targetLength }
    public var random: SeededRandom {
        get { rules.random }
        set { rules.random = newValue }
    }

    private var rules: PackingDraws
    // The current sentences, tokens concatenated; each sentence keeps at most maxSeqLength
    // tokens (nothing past that can survive truncation) but its true length drives the rules.
    private var tokens: [UInt32] = []
    private var sentenceEnds: [Int] = []
    private var sentenceLengths: [Int] = []
    /// The summed (true) length of the current sentences.
    public private(set) var currentLength = 0

    public init(maxSeqLength: Int, clsID: UInt32, sepID: UInt32, random: SeededRandom) {
        self.maxSeqLength = maxSeqLength
        self.clsID = clsID
        self.sepID = sepID
        rules = PackingDraws(maxSeqLength: maxSeqLength, random: random)
    }

    /// Adds one tokenized, non-blank line; returns an example when the target length is reached.
    /// - Parameters:
    ///   - ids: the line's ids; only the first `maxSeqLength` are needed.
    ///   - length: the line's true token count when `ids` was cut short (defaults to `ids.count`).
    public mutating func addSentence<C: Collection>(_ ids: C, length: Int? = nil) -> PackedSequence?
    where C.Element == UInt32 {
        let trueLength = length ?? ids.count
        if trueLength == 0 { return nil }   // an empty sentence changes nothing in the original
        tokens.append(contentsOf: ids.prefix(maxSeqLength))
        sentenceEnds.append(tokens.count)
        sentenceLengths.append(trueLength)
        currentLength += trueLength
        if currentLength >= rules.targetLength { return createExample() }
        return nil
    }

    /// Ends the current document (a blank line or the end of a file): returns the example made
    /// from the sentences gathered so far, if any.
    public mutating func endDocument() -> PackedSequence? {
        currentLength != 0 ? createExample() : nil
    }

    private mutating func createExample() -> PackedSequence {
        let (firstTarget, draws) = rules.startExample()
        var first: [UInt32] = [], second: [UInt32] = []
        first.reserveCapacity(maxSeqLength)
        var firstLength = 0, secondLength = 0   // true lengths, as in the original
        var start = 0
        for (i, end) in sentenceEnds.enumerated() {
            let length = sentenceLengths[i]
            let sentence = tokens[start..<end]
            start = end
            if rules.goesToFirst(length, firstLength: firstLength, secondLength: secondLength, firstTarget: firstTarget) {
                if first.count < maxSeqLength { first.append(contentsOf: sentence) }
                firstLength += length
            } else {
                if second.count < maxSeqLength { second.append(contentsOf: sentence) }
                secondLength += length
            }
        }
        let (aCount, bCount) = rules.keptCounts(first: first.count, second: second.count)

        tokens.removeAll(keepingCapacity: true)
        sentenceEnds.removeAll(keepingCapacity: true)
        sentenceLengths.removeAll(keepingCapacity: true)
        currentLength = 0
        rules.drawNextTarget()

        var out: [UInt32] = []
        out.reserveCapacity(aCount + bCount + 3)
        out.append(clsID)
        out.append(contentsOf: first.prefix(aCount))
        out.append(sepID)
        let bStart = out.count
        if bCount > 0 {
            out.append(contentsOf: second.prefix(bCount))
            out.append(sepID)
        }
        return PackedSequence(tokens: out, segmentBStart: bCount > 0 ? bStart : out.count, draws: draws)
    }
}
