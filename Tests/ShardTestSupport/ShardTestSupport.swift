// Shards for tests of the modules that read them (Batching, Training): a corpus text is written,
// encoded word by word against a list vocabulary (`w0`, `w1`, ... after the specials) and sharded
// by the real Sharding writer, single-threaded.
import Corpus
import Foundation
import Sharding

/// One id per space-separated word; unknown words are [UNK] (1).
public struct WordListEncoder: LineEncoder {
    var ids: [String: UInt32] = [:]
    public init(tokens: [String]) { for (i, t) in tokens.enumerated() { ids[t] = UInt32(i) } }
    public mutating func encode(_ line: UnsafeRawBufferPointer, into out: inout [UInt32]) -> Int {
        for word in String(decoding: line, as: UTF8.self).split(separator: " ") { out.append(ids[String(word)] ?? 1) }
        return 0
    }
}

/// The specials followed by `w0` ... `w(words-1)`.
public func wordVocabulary(words: Int) -> [String] {
    ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + (0..<words).map { "w\($0)" }
}

/// Writes `text` to `directory/corpus.txt` and shards it into `directory/name` (sequences of
/// 32 tokens, `sequencesPerFrame` per frame); returns the shard directory.
public func writeTestShards(text: String, words: Int, vocabularyHash: String, in directory: URL, name: String,
                            sequencesPerFrame: Int) throws -> URL {
    let tokens = wordVocabulary(words: words)
    let vocabulary = try ShardVocabulary(tokens: tokens, sha256: vocabularyHash, tokenizerOptions: "{}")
    let corpus = directory.appendingPathComponent("corpus.txt")
    try text.write(to: corpus, atomically: true, encoding: .utf8)
    var options = ShardingOptions()
    options.maxSeqLength = 32
    options.sequencesPerFrame = sequencesPerFrame
    options.threads = 1
    let out = directory.appendingPathComponent(name)
    _ = try ShardBuilder(outputDirectory: out, vocabulary: vocabulary, options: options) { WordListEncoder(tokens: tokens) }
        .run(sources: [CorpusSource(path: corpus.path)], progress: { _ in })
    return out
}
