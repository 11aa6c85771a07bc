// A tiny whitespace tokenizer for the sharding tests (the real BertTokenizer is tested in its
// own module): each whitespace-separated word is looked up in a small vocabulary.
import Foundation
@testable import Sharding

struct WhitespaceEncoder: LineEncoder {
    let ids: [String: UInt32]
    let unk: UInt32

    init(vocabulary: [String]) {
        var ids: [String: UInt32] = [:]
        for (i, t) in vocabulary.enumerated() { ids[t] = UInt32(i) }
        self.ids = ids
        unk = ids["[UNK]"] ?? 1
    }

    mutating func encode(_ line: UnsafeRawBufferPointer, into out: inout [UInt32]) -> Int {
        let valid = String(validating: line, as: UTF8.self)
        let text = valid ?? String(decoding: line, as: UTF8.self)
        var invalid = 0
        if valid == nil { invalid = text.unicodeScalars.filter { $0 == "\u{FFFD}" }.count }
        for word in text.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
            let w = word.replacingOccurrences(of: "\u{FFFD}", with: "")
            if w.isEmpty { continue }
            out.append(ids[w] ?? unk)
        }
        return invalid
    }
}

/// Specials then w0 ... w(n-1).
func testVocabulary(words: Int = 200) -> [String] {
    ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + (0..<words).map { "w\($0)" }
}

func testShardVocabulary(words: Int = 200) throws -> ShardVocabulary {
    try ShardVocabulary(tokens: testVocabulary(words: words), sha256: "test-vocab-\(words)",
                        tokenizerOptions: "{\"lowercase\":true}")
}

/// A corpus of `documents` documents of random lengths, words w0..w199, written to `url`.
func writeCorpus(_ url: URL, documents: Int, seed: UInt64, sentencesPerDocument: ClosedRange<Int> = 1...30) throws {
    var rng = SeededRandom(seed: seed)
    var text = ""
    for _ in 0..<documents {
        for _ in 0..<rng.nextInt(in: sentencesPerDocument) {
            let n = rng.nextInt(in: 1...40)
            text += (0..<n).map { _ in "w\(rng.nextInt(in: 0...199))" }.joined(separator: " ") + "\n"
        }
        text += "\n"
    }
    try text.write(to: url, atomically: true, encoding: .utf8)
}

func makeBuilder(_ out: URL, options: ShardingOptions = smallOptions(), words: Int = 200) throws -> ShardBuilder {
    let vocab = try testShardVocabulary(words: words)
    return try ShardBuilder(outputDirectory: out, vocabulary: vocab, options: options) {
        WhitespaceEncoder(vocabulary: vocab.tokens)
    }
}

/// Small frames and shards. `original` packing by default: most tests compare the shards with
/// ExampleBuilder (the original's rules); LosslessPackingTests take `.lossless`.
func smallOptions(threads: Int = 2, packing: Packing = .original) -> ShardingOptions {
    var o = ShardingOptions()
    o.packing = packing
    o.maxSeqLength = 64
    o.seed = 7
    o.threads = threads
    o.sequencesPerFrame = 16
    o.framesPerShard = 4
    o.blockSize = 4096
    return o
}

/// Every sequence of a directory, in order.
func readAll(_ out: URL) throws -> [PackedSequence] {
    let index = try ShardIndex(directory: out)
    return try index.frames.flatMap { try index.readFrame($0) }
}

/// The shard files of `out` by name.
func shardBytes(_ out: URL) throws -> [String: Data] {
    let dir = out.appendingPathComponent("shards")
    var result: [String: Data] = [:]
    for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) {
        result[name] = try Data(contentsOf: dir.appendingPathComponent(name))
    }
    return result
}
