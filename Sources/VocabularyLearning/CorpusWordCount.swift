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
}

/// Counts the words of `sources` as the BERT pre-tokenizer splits them, on `threads` threads.
/// The counts do not depend on the thread count. Words longer than the tokenizer's
/// `maxInputCharsPerWord` are skipped (they encode as [UNK] whatever the vocabulary).
/// - Complexity: O(corpus bytes) time; memory O(distinct words + threads x block size).
public func countWords(
    sources: [CorpusSource], tokenizer: TokenizerOptions, threads: Int, strict: Bool = false,
    progress: (VocabularyLearningEvent) -> Void = { _ in }
) throws -> CorpusWordCounts {
    let threads = max(1, threads)
    var counters = (0..<threads).map { _ in WordCounter() }
    var preTokenizers = (0..<threads).map { _ in BertPreTokenizer(options: tokenizer) }
    var invalid = [Int](repeating: 0, count: threads)
    var damaged = [Int](repeating: 0, count: threads)
    var badRecords: [BadRecord] = []
    var badRecordCount = 0
    let totalBytes: Int? = sources.reduce(Optional(0)) { sum, s in sum.flatMap { a in s.fileSize.map { a + $0 } } }
    var bytesBefore = 0
    var hashes = ""
    let maxChars = tokenizer.maxInputCharsPerWord

    for source in sources {
        let reader = try TextReader(source, bufferSize: 1 << 22)
        reader.strict = strict
        var pending: [[UInt8]] = []
        func drain() {
            let blocks = pending
            pending.removeAll(keepingCapacity: true)
            // Block i goes to worker i: each worker owns its counter and pre-tokenizer.
            counters.withUnsafeMutableBufferPointer { counterSlots in
                preTokenizers.withUnsafeMutableBufferPointer { preSlots in
                    invalid.withUnsafeMutableBufferPointer { invalidSlots in
                      damaged.withUnsafeMutableBufferPointer { damagedSlots in
                        DispatchQueue.concurrentPerform(iterations: blocks.count) { t in
                            blocks[t].withUnsafeBytes { block in
                                splitLines(block) { line in
                                    let bad = preSlots[t].forEachWord(in: line) { word in
                                        if word.count > maxChars && scalarCount(word) > maxChars { return }
                                        counterSlots[t].add(word)
                                    }
                                    invalidSlots[t] += bad
                                    if bad > 0 || containsNUL(line) { damagedSlots[t] += 1 }
                                }
                            }
                        }
                      }
                    }
                }
            }
        }
        try reader.forEachBlock { block in
            pending.append(Array(block))
            if pending.count == threads { drain() }
            progress(.reading(bytesRead: bytesBefore + reader.bytesRead, totalBytes: totalBytes, source: source.description))
        }
        drain()
        bytesBefore += reader.bytesRead
        hashes += (reader.contentSHA256 ?? "") + "\n"
        badRecords += reader.badRecords.prefix(max(0, TextReader.keptBadRecords - badRecords.count))
        badRecordCount += reader.badRecordCount
    }
    var total = counters[0]
    for other in counters.dropFirst() { total.merge(other) }
    progress(.counted(totalWords: total.totalWords, distinctWords: total.distinctWords))
    let corpusHash = Array(hashes.utf8).withUnsafeBytes { sha256Hex(of: $0) }
    return CorpusWordCounts(counter: total, corpusSHA256: corpusHash, invalidUTF8Bytes: invalid.reduce(0, +),
                            damagedLines: damaged.reduce(0, +), badRecords: badRecords, badRecordCount: badRecordCount,
                            bytesRead: bytesBefore)
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
