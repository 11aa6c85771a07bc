// The WordPiece vocabulary learner behind `electra-prep build-vocab`.
//
// Algorithm: bottom-up pair merging with "##" continuation pieces, scored by pair frequency
// (the merge rule of BPE, Sennrich et al. 2016, which HF tokenizers' WordPieceTrainer also
// uses), over the words produced by the same BERT normalizer and pre-tokenizer the tokenizer
// uses. Every word starts as its first character `c` followed by `##c` pieces; the most
// frequent adjacent pair is merged into one piece, until the vocabulary is full or no pair
// occurs `minFrequency` times. Chosen over the likelihood criterion freq(ab)/(freq(a)freq(b))
// because greedy longest-match WordPiece encoding rewards frequent long pieces: on our
// benchmark (tools/bench-vocab.sh) frequency merges gave fewer tokens per held-out word.
// Differences from HF's trainer, on purpose: every kept character is in the vocabulary both as
// `c` and `##c` (HF misses `##c` for characters never seen inside a word, so whole words
// become [UNK]); ties are broken by symbol ids, so the output is the same bytes whatever the
// thread count (HF's is not); the alphabet is capped at `limitAlphabet` most frequent characters
// and words with other characters are left out of the merges.

import Corpus

/// Settings of the learner (the `build-vocab` options).
public struct VocabularyLearnerOptions: Codable, Equatable, Sendable {
    public var vocabSize = 30_522
    public var minFrequency = 2
    public var limitAlphabet = 1_000
    public init() {}
}

/// What the learner reports while it works.
public enum VocabularyLearningEvent: Sendable {
    /// Corpus bytes read so far (all sources), and their total when known.
    case reading(bytesRead: Int, totalBytes: Int?, source: String)
    /// An input refused before any of it was counted (unreadable, or binary by its beginning).
    case refused(CorpusError)
    /// Word counting finished.
    case counted(totalWords: Int, distinctWords: Int)
    /// Merges done so far, out of at most `target`.
    case merging(done: Int, target: Int)
}

/// Problems that stop the learner, each saying what to do.
public enum VocabularyLearningError: Error, CustomStringConvertible, Equatable {
    case emptyCorpus(String)
    /// Several inputs, every one refused (unreadable or binary); `first` is the first refusal.
    case everyInputRefused(count: Int, first: String)
    case vocabularyTooSmall(requested: Int, needed: Int)
    case badOption(String)
    /// The caller's `shouldStop` said stop (SIGINT, SIGTERM); nothing was written.
    case stopped

    public var description: String {
        switch self {
        case .emptyCorpus(let what):
            return "\(what): the corpus holds no words (is it empty or only blank lines?); pass a text corpus, one sentence per line"
        case .everyInputRefused(let count, let first):
            return "all \(count) inputs were refused, nothing was counted; the first: \(first)"
        case .vocabularyTooSmall(let requested, let needed):
            return "--vocab-size \(requested) is smaller than the 5 special tokens plus the alphabet as `c` and `##c` (\(needed)); raise --vocab-size or lower --limit-alphabet"
        case .badOption(let why):
            return why
        case .stopped:
            return "stopped on request before the vocabulary was written; nothing was written, run the same command again"
        }
    }
}

/// The learned vocabulary, in file order.
public struct LearnedVocabulary: Sendable {
    public var tokens: [String]
    public var alphabetSize: Int
    public var merges: Int
    /// True when the corpus could not fill the requested size.
    public var isShort: Bool
}

/// Learns a WordPiece vocabulary from counted, normalized words.
///
/// ```swift
/// let vocab = try learnWordPieceVocabulary(words: [("hello", 10), ("help", 4)], options: options)
/// ```
/// - Complexity: O(total symbols + merges x words touched per merge); memory O(distinct words).
public func learnWordPieceVocabulary(
    words input: [(word: String, count: Int)], options: VocabularyLearnerOptions,
    progress: (VocabularyLearningEvent) -> Void = { _ in },
    shouldStop: () -> Bool = { false }
) throws -> LearnedVocabulary {
    guard options.minFrequency >= 1 else { throw VocabularyLearningError.badOption("--min-frequency must be at least 1") }
    guard options.limitAlphabet >= 1 else { throw VocabularyLearningError.badOption("--limit-alphabet must be at least 1") }

    // 1. The alphabet: the `limitAlphabet` most frequent characters (ties: smaller scalar first).
    var charCounts: [Unicode.Scalar: Int] = [:]
    for (word, count) in input { for scalar in word.unicodeScalars { charCounts[scalar, default: 0] += count } }
    guard !charCounts.isEmpty else { throw VocabularyLearningError.emptyCorpus("the corpus") }
    let kept = charCounts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key.value < $1.key.value }
        .prefix(options.limitAlphabet).map(\.key).sorted { $0.value < $1.value }
    let needed = specialTokens.count + 2 * kept.count
    guard options.vocabSize >= needed else {
        throw VocabularyLearningError.vocabularyTooSmall(requested: options.vocabSize, needed: needed)
    }

    // 2. Symbols: `c` and `##c` for each kept character, in scalar order.
    var symbols: [String] = []
    var symbolID: [String: Int32] = [:]
    var vocabulary = specialTokens
    func intern(_ s: String, addToVocabulary: Bool) -> Int32 {
        if let id = symbolID[s] { return id }
        let id = Int32(symbols.count)
        symbols.append(s)
        symbolID[s] = id
        if addToVocabulary { vocabulary.append(s) }
        return id
    }
    var initial: [Unicode.Scalar: (Int32, Int32)] = [:]
    for c in kept {
        let s = String(Character(c))
        initial[c] = (intern(s, addToVocabulary: true), intern("##" + s, addToVocabulary: true))
    }

    // 3. Words as symbol sequences (words with a dropped character are left out).
    var words: [[Int32]] = []
    var counts: [Int] = []
    words.reserveCapacity(input.count)
    wordLoop: for (word, count) in input {
        var seq: [Int32] = []
        for (i, scalar) in word.unicodeScalars.enumerated() {
            guard let ids = initial[scalar] else { continue wordLoop }
            seq.append(i == 0 ? ids.0 : ids.1)
        }
        if seq.count >= 2 { words.append(seq); counts.append(count) }
    }

    // 4. Pair counts, where each pair occurs, and a max-heap with lazy updates.
    var pairCount: [UInt64: Int] = [:]
    var pairWords: [UInt64: [Int32]] = [:]
    @inline(__always) func key(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(a)) << 32 | UInt64(UInt32(b)) }
    for (w, seq) in words.enumerated() {
        for i in 0..<(seq.count - 1) {
            let k = key(seq[i], seq[i + 1])
            pairCount[k, default: 0] += counts[w]
            pairWords[k, default: []].append(Int32(w))
        }
    }
    var heap = PairHeap()
    for (k, c) in pairCount { heap.push(count: c, key: k) }

    let target = options.vocabSize - vocabulary.count
    var merges = 0
    var stamp = [Int32](repeating: -1, count: words.count)
    var changed: Set<UInt64> = []
    while vocabulary.count < options.vocabSize, let top = heap.pop() {
        let current = pairCount[top.key] ?? 0
        if current != top.count {
            if current > 0 { heap.push(count: current, key: top.key) }
            continue
        }
        if current < options.minFrequency { break }
        let a = Int32(truncatingIfNeeded: top.key >> 32), b = Int32(truncatingIfNeeded: top.key & 0xFFFF_FFFF)
        let right = symbols[Int(b)]
        let merged = symbols[Int(a)] + (right.hasPrefix("##") ? String(right.dropFirst(2)) : right)
        let n = intern(merged, addToVocabulary: true)
        changed.removeAll(keepingCapacity: true)
        for w32 in pairWords[top.key] ?? [] {
            let w = Int(w32)
            if stamp[w] == Int32(merges) { continue }
            stamp[w] = Int32(merges)
            let c = counts[w]
            var seq = words[w]
            var i = 0
            while i < seq.count - 1 {
                guard seq[i] == a && seq[i + 1] == b else { i += 1; continue }
                if i > 0 {
                    let left = key(seq[i - 1], a), newLeft = key(seq[i - 1], n)
                    pairCount[left, default: 0] -= c
                    pairCount[newLeft, default: 0] += c
                    pairWords[newLeft, default: []].append(w32)
                    changed.insert(newLeft)
                }
                if i + 2 < seq.count {
                    let rightKey = key(b, seq[i + 2]), newRight = key(n, seq[i + 2])
                    pairCount[rightKey, default: 0] -= c
                    pairCount[newRight, default: 0] += c
                    pairWords[newRight, default: []].append(w32)
                    changed.insert(newRight)
                }
                seq[i] = n
                seq.remove(at: i + 1)
                i += 1
            }
            words[w] = seq
        }
        pairCount[top.key] = 0
        pairWords[top.key] = nil
        for k in changed.sorted() where (pairCount[k] ?? 0) > 0 { heap.push(count: pairCount[k]!, key: k) }
        merges += 1
        if merges % 500 == 0 {
            if shouldStop() { throw VocabularyLearningError.stopped }
            progress(.merging(done: merges, target: target))
        }
    }
    progress(.merging(done: merges, target: target))
    return LearnedVocabulary(tokens: vocabulary, alphabetSize: kept.count, merges: merges,
                             isShort: vocabulary.count < options.vocabSize)
}

/// The special tokens, ids 0-4 (HF order).
public let specialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

/// A binary max-heap of (count, pair key); ties go to the smaller key, so the order of merges
/// never depends on hashing or threads.
struct PairHeap {
    private var items: [(count: Int, key: UInt64)] = []

    @inline(__always)
    private func above(_ x: (count: Int, key: UInt64), _ y: (count: Int, key: UInt64)) -> Bool {
        x.count != y.count ? x.count > y.count : x.key < y.key
    }

    mutating func push(count: Int, key: UInt64) {
        items.append((count, key))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard above(items[i], items[parent]) else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> (count: Int, key: UInt64)? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var best = i
                if l < items.count && above(items[l], items[best]) { best = l }
                if r < items.count && above(items[r], items[best]) { best = r }
                if best == i { break }
                items.swapAt(i, best)
                i = best
            }
        }
        return top
    }
}
