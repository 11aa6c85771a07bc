// Counting the normalized words of a corpus on all cores, and writing the learned vocabulary
// with the JSON record of how it was built.
import Corpus
import Dispatch
import Durability
import Foundation
import Tokenization

/// Word counts of a whole corpus plus what was seen reading it.
public struct CorpusWordCounts {
    public var counter: WordCounter
    /// SHA-256 over the sources' content hashes, in order: identifies the corpus.
    public var corpusSHA256: String
    public var invalidUTF8Bytes: Int
    /// Lines that held a NUL byte or invalid UTF-8.
    public var damagedLines: Int
    /// JSONL lines skipped as bad: the first few named, and how many in all.
    public var badRecords: [BadRecord]
    public var badRecordCount: Int
    public var bytesRead: Int
    /// Inputs refused before any of their text was counted (unreadable, or binary by their
    /// beginning), as `shard` refuses them; each was also reported as `.refused`.
    public var refused: [CorpusError]
}

/// Blocks are dealt to this many counters ("lanes") and words to this many partitions whatever
/// the thread count, so that counts, pruning included, never depend on `--threads`.
public let wordCountLanes = 16

/// The default bound of the word table (`--max-words`). build-vocab's peak memory grows by about
/// 300 bytes a kept word (counting tables, the sorted list, the learner's pair index): ~0.7 GB.
/// Measured on a 26 MB Zipf corpus of 1.17 M distinct words: a bound of 1 M (750 k kept) gives
/// +0.10% tokens per word over the unbounded vocabulary, 500 k (375 k kept) +1.3%.
public let defaultMaxDistinctWords = 2_000_000

/// Counts the words of `sources` as the BERT pre-tokenizer splits them, on `threads` threads.
/// The counts do not depend on the thread count. Words longer than the tokenizer's
/// `maxInputCharsPerWord` are skipped (they encode as [UNK] whatever the vocabulary).
///
/// Memory is bounded by `maxWords`: groups of 16 blocks of 4 MB are counted in 16 lane tables in
/// parallel, then merged (in parallel) into 16 partitions of the word table by word hash. A
/// partition holding more than `maxWords / 16` words drops its rarest (those counted at most k
/// times, k as small as leaves 3/4 of its share), as memory-bounded counters do: frequent words
/// are counted exactly, a dropped rare word that comes back starts again from 0. `nil` counts
/// every word.
/// - Complexity: O(corpus bytes) time; memory O(min(distinct words, maxWords) + 16 x 4 MB).
public func countWords(
    sources: [CorpusSource], tokenizer: TokenizerOptions, threads: Int, strict: Bool = false,
    maxWords: Int? = defaultMaxDistinctWords, blockSize: Int = 1 << 22,
    progress: (VocabularyLearningEvent) -> Void = { _ in },
    shouldStop: () -> Bool = { false }
) throws -> CorpusWordCounts {
    let threads = max(1, min(threads, wordCountLanes))
    let lanes = wordCountLanes
    let partitionLimit = maxWords.map { max(1, $0 / lanes) }
    var counters = (0..<lanes).map { _ in WordCounter() }
    var partitions = (0..<lanes).map { _ in WordCounter() }
    var preTokenizers = (0..<threads).map { _ in BertPreTokenizer(options: tokenizer) }
    var invalid = [Int](repeating: 0, count: lanes)
    var damaged = [Int](repeating: 0, count: lanes)
    var badRecords: [BadRecord] = []
    var badRecordCount = 0
    let totalBytes: Int? = sources.reduce(Optional(0)) { sum, s in sum.flatMap { a in s.fileSize.map { a + $0 } } }
    var bytesBefore = 0
    var hashes = ""
    let maxChars = tokenizer.maxInputCharsPerWord
    var pending: [[UInt8]] = []

    func drain() {
        let blocks = pending
        pending.removeAll(keepingCapacity: true)
        guard !blocks.isEmpty else { return }
        // Block j of a group goes to lane j; thread t works lanes t, t + threads, ...
        counters.withUnsafeMutableBufferPointer { counterSlots in
            preTokenizers.withUnsafeMutableBufferPointer { preSlots in
                invalid.withUnsafeMutableBufferPointer { invalidSlots in
                    damaged.withUnsafeMutableBufferPointer { damagedSlots in
                        DispatchQueue.concurrentPerform(iterations: min(threads, blocks.count)) { t in
                            for lane in stride(from: t, to: blocks.count, by: threads) {
                                blocks[lane].withUnsafeBytes { block in
                                    splitLines(block) { line in
                                        let bad = preSlots[t].forEachWord(in: line) { word in
                                            if word.count > maxChars && scalarCount(word) > maxChars { return }
                                            counterSlots[lane].add(word)
                                        }
                                        invalidSlots[lane] += bad
                                        if bad > 0 || containsNUL(line) { damagedSlots[lane] += 1 }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            // Partition p takes the words whose hash's top 4 bits are p, from every lane.
            partitions.withUnsafeMutableBufferPointer { partitionSlots in
                DispatchQueue.concurrentPerform(iterations: threads) { t in
                    for p in stride(from: t, to: lanes, by: threads) {
                        for lane in 0..<lanes {
                            if p == 0 { partitionSlots[p].addToTotal(counterSlots[lane].totalWords) }
                            counterSlots[lane].forEachWithHash { word, count, hash in
                                if Int(hash >> 60) == p { partitionSlots[p].add(word, count: count, countingTotal: false) }
                            }
                        }
                        if let partitionLimit, partitionSlots[p].distinctWords > partitionLimit {
                            partitionSlots[p].prune(keepingAtMost: partitionLimit * 3 / 4)
                        }
                    }
                }
            }
            for lane in 0..<lanes { counterSlots[lane].removeAll() }
        }
    }

    var refused: [CorpusError] = []
    for source in sources {
        var counting = false
        let reader: TextReader
        do {
            reader = try TextReader(source, bufferSize: blockSize)
            reader.strict = strict
            try reader.forEachBlock { block in
                if shouldStop() { throw VocabularyLearningError.stopped }
                counting = true
                pending.append(Array(block))
                if pending.count == lanes { drain() }
                progress(.reading(bytesRead: bytesBefore + reader.bytesRead, totalBytes: totalBytes, source: source.description))
            }
        } catch let error as CorpusError where !counting && !isBadRecord(error) {
            // Nothing of it was counted: refused whole, the others go on (as `shard` does).
            refused.append(error)
            progress(.refused(error))
            continue
        }
        bytesBefore += reader.bytesRead
        hashes += (reader.contentSHA256 ?? "") + "\n"
        badRecords += reader.badRecords.prefix(max(0, TextReader.keptBadRecords - badRecords.count))
        badRecordCount += reader.badRecordCount
    }
    drain()
    if refused.count == sources.count, let first = refused.first {
        // Every input refused: a lone input's own error, else the count and the first.
        if refused.count == 1 { throw first }
        throw VocabularyLearningError.everyInputRefused(count: refused.count, first: first.description)
    }
    counters = []
    var total = partitions[0]
    for p in 1..<lanes {
        total.merge(partitions[p])
        partitions[p] = WordCounter(capacity: 1)
    }
    progress(.counted(totalWords: total.totalWords, distinctWords: total.distinctWords))
    let corpusHash = Array(hashes.utf8).withUnsafeBytes { sha256Hex(of: $0) }
    return CorpusWordCounts(counter: total, corpusSHA256: corpusHash, invalidUTF8Bytes: invalid.reduce(0, +),
                            damagedLines: damaged.reduce(0, +), badRecords: badRecords, badRecordCount: badRecordCount,
                            bytesRead: bytesBefore, refused: refused)
}

private func isBadRecord(_ error: CorpusError) -> Bool {
    if case .badRecord = error { return true }
    return false
}

@inline(__always)
private func scalarCount(_ utf8: UnsafeRawBufferPointer) -> Int {
    var n = 0
    for b in utf8 where b & 0xC0 != 0x80 { n += 1 }
    return n
}

/// Writes `vocabulary` to `url` (one token a line) and, beside it, `tokenizer_config.json`
/// (`TokenizerConfigFile`: HF's keys, plus how it was built under `electra_swift`). Both are
/// written to a temporary name, fsynced and renamed, so an interrupted run never leaves half a file.
public func writeVocabulary(
    _ vocabulary: LearnedVocabulary, to url: URL, tokenizer: TokenizerOptions,
    learner: VocabularyLearnerOptions, corpusSHA256: String
) throws {
    let text = vocabulary.tokens.joined(separator: "\n") + "\n"
    let vocabHash = Array(text.utf8).withUnsafeBytes { sha256Hex(of: $0) }
    let config = TokenizerConfigFile(options: tokenizer, modelMaxLength: 512, vocabFile: url.lastPathComponent, record: [
        "vocab_size": vocabulary.tokens.count,
        "requested_vocab_size": learner.vocabSize,
        "vocab_sha256": vocabHash,
        "corpus_sha256": corpusSHA256,
        "min_frequency": learner.minFrequency,
        "limit_alphabet": learner.limitAlphabet,
        "alphabet_size": vocabulary.alphabetSize,
        "algorithm": "wordpiece-frequency-merges",
    ])
    let directory = url.deletingLastPathComponent()
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    try writeFileAtomically(Data(text.utf8), to: url)
    try writeFileAtomically(try config.jsonData(), to: directory.appendingPathComponent(TokenizerConfigFile.fileName))
}
