// Lossless packing, the default: every token of every document lands in exactly one sequence,
// in order, no sequence crosses a document, and the counts say so. The corpus mixes one-line
// documents far longer than an example, long lines with and without sentence ends, short
// lines, blank-line runs and JSONL records whose text holds blank lines.
import Corpus
import Foundation
import TestSupport
import XCTest
@testable import Sharding

final class LosslessPackingTests: XCTestCase {
    /// The test vocabulary plus sentence punctuation and capitalised words (SB8 needs them).
    static let vocabulary = testVocabulary() + [".", "!", "?", ",", "W1", "W2", "W3"]

    func makeLosslessBuilder(_ out: URL, threads: Int = 2, maxSeqLength: Int = 64) throws -> ShardBuilder {
        var options = smallOptions(threads: threads, packing: .lossless)
        options.maxSeqLength = maxSeqLength
        let vocab = try ShardVocabulary(tokens: Self.vocabulary, sha256: "lossless-test", tokenizerOptions: "{}")
        return try ShardBuilder(outputDirectory: out, vocabulary: vocab, options: options) {
            WhitespaceEncoder(vocabulary: Self.vocabulary)
        }
    }

    /// Documents as lists of lines: long one-line documents (sentences ended by `!`, `?`, `. W`
    /// or none at all), paragraphs of short lines, a mix.
    func makeDocuments(seed: UInt64, count: Int) -> [[String]] {
        var rng = SeededRandom(seed: seed)
        func words(_ n: Int) -> [String] { (0..<n).map { _ in "w\(rng.nextInt(in: 0...199))" } }
        var documents: [[String]] = []
        for d in 0..<count {
            var lines: [String] = []
            switch d % 4 {
            case 0:   // one line, many sentences
                var parts: [String] = []
                for _ in 0..<rng.nextInt(in: 5...40) {
                    let end = ["!", "?", ".", "", ","][rng.nextInt(in: 0...4)]
                    parts.append((words(rng.nextInt(in: 1...50)) + (end.isEmpty ? [] : [end])).joined(separator: " "))
                    if end == "." { parts.append("W\(rng.nextInt(in: 1...3))") }
                }
                lines.append(parts.joined(separator: " "))
            case 1:   // one line with no sentence end, longer than several examples
                lines.append(words(rng.nextInt(in: 100...700)).joined(separator: " "))
            case 2:   // short lines
                for _ in 0..<rng.nextInt(in: 1...25) { lines.append(words(rng.nextInt(in: 1...30)).joined(separator: " ")) }
            default:  // a mix
                for _ in 0..<rng.nextInt(in: 1...6) { lines.append(words(rng.nextInt(in: 1...200)).joined(separator: " ")) }
            }
            documents.append(lines)
        }
        return documents
    }

    /// The ids of each document, as the encoder gives them line by line.
    func documentIDs(_ documents: [[String]]) -> [[UInt32]] {
        var encoder = WhitespaceEncoder(vocabulary: Self.vocabulary)
        return documents.map { lines in
            var ids: [UInt32] = []
            for line in lines { var bytes = Array(line.utf8); _ = bytes.withUnsafeMutableBytes { encoder.encode(UnsafeRawBufferPointer($0), into: &ids) } }
            return ids
        }
    }

    /// Walks the sequences against the documents: each sequence's text ([CLS]/[SEP] removed) is
    /// the next stretch of the current document, never crossing its end; all are consumed.
    func assertSequencesCoverDocuments(_ sequences: [PackedSequence], _ documents: [[UInt32]], maxSeqLength: Int,
                                       file: StaticString = #filePath, line: UInt = #line) {
        var doc = 0, offset = 0
        for (n, s) in sequences.enumerated() {
            XCTAssertLessThanOrEqual(s.tokens.count, maxSeqLength, "sequence \(n)", file: file, line: line)
            XCTAssertEqual(s.tokens.first, 2, file: file, line: line)
            XCTAssertEqual(s.tokens.last, 3, file: file, line: line)
            let text = s.tokens.filter { $0 != 2 && $0 != 3 }
            while doc < documents.count && offset == documents[doc].count { doc += 1; offset = 0 }
            guard doc < documents.count else { return XCTFail("sequence \(n) after the last document", file: file, line: line) }
            let end = offset + text.count
            guard end <= documents[doc].count else {
                return XCTFail("sequence \(n) crosses the end of document \(doc)", file: file, line: line)
            }
            guard Array(documents[doc][offset..<end]) == text else {
                return XCTFail("sequence \(n) is not the next text of document \(doc) at \(offset)", file: file, line: line)
            }
            offset = end
        }
        while doc < documents.count && offset == documents[doc].count { doc += 1; offset = 0 }
        XCTAssertEqual(doc, documents.count, "every document consumed", file: file, line: line)
    }

    func testEveryTokenOfEveryDocumentIsShardedInOrder() throws {
        let dir = try makeTemporaryDirectory(in: self)
        let documents = makeDocuments(seed: 3, count: 120)
        let corpus = dir.appendingPathComponent("corpus.txt")
        try documents.map { $0.joined(separator: "\n") + "\n" }.joined(separator: "\n\n").write(to: corpus, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("out")
        let summary = try makeLosslessBuilder(out).run(sources: [CorpusSource(path: corpus.path)])
        let ids = documentIDs(documents)
        let total = ids.reduce(0) { $0 + $1.count }
        let sequences = try readAll(out)
        assertSequencesCoverDocuments(sequences, ids, maxSeqLength: 64)
        XCTAssertEqual(summary.inputTokens, total)
        XCTAssertEqual(summary.droppedLongLineTokens + summary.droppedOverflowTokens, 0)
        let specials = sequences.reduce(0) { $0 + $1.tokens.filter { $0 == 2 || $0 == 3 }.count }
        XCTAssertEqual(summary.tokens - specials, total, "sharded text tokens = input tokens")

        let index = try ShardIndex(directory: out)
        XCTAssertEqual(index.meta.packing, .lossless)
        XCTAssertEqual(index.sources[0].inputTokens, total)
        XCTAssertEqual(index.sources[0].droppedTokens, 0)
        XCTAssertEqual(index.sources[0].documents, 120)
        XCTAssertEqual(TokenAccount(sources: index.sources).keptFraction, 1)
        // Both segments are used, and the draws keep their rates' order of magnitude.
        XCTAssertGreaterThan(sequences.filter(\.hasSegmentB).count, sequences.count / 2)
        XCTAssertTrue(try verifyShards(in: out).isValid)

        // The same corpus under the original's rules loses tokens, and says how many and where.
        let original = dir.appendingPathComponent("original")
        var options = smallOptions(packing: .original)
        let vocab = try ShardVocabulary(tokens: Self.vocabulary, sha256: "lossless-test", tokenizerOptions: "{}")
        options.maxSeqLength = 64
        let lossy = try ShardBuilder(outputDirectory: original, vocabulary: vocab, options: options) {
            WhitespaceEncoder(vocabulary: Self.vocabulary)
        }.run(sources: [CorpusSource(path: corpus.path)])
        XCTAssertEqual(lossy.inputTokens, total)
        XCTAssertGreaterThan(lossy.droppedLongLineTokens, total / 4)
        XCTAssertGreaterThan(lossy.droppedOverflowTokens, 0)
        let lossySequences = try readAll(original)
        let lossySpecials = lossySequences.reduce(0) { $0 + $1.tokens.filter { $0 == 2 || $0 == 3 }.count }
        XCTAssertEqual(lossy.tokens - lossySpecials, total - lossy.droppedLongLineTokens - lossy.droppedOverflowTokens)
        XCTAssertEqual(try ShardIndex(directory: original).meta.packing, .original)
        XCTAssertTrue(TokenAccount(sources: try ShardIndex(directory: original).sources).isLossy)
    }

    func testLongLinesSplitAtSentenceEndsFirst() throws {
        // One line: sentences of 20 words ended by "!", far longer than an example (64). Every
        // example then starts at a sentence start (its first token follows a "!" in the text), but
        // for the pieces of an example's overflow.
        let dir = try makeTemporaryDirectory(in: self)
        let sentence = (0..<19).map { "w\($0)" }.joined(separator: " ") + " !"
        let corpus = dir.appendingPathComponent("corpus.txt")
        try (Array(repeating: sentence, count: 30).joined(separator: " ") + "\n").write(to: corpus, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("out")
        _ = try makeLosslessBuilder(out).run(sources: [CorpusSource(path: corpus.path)])
        let sequences = try readAll(out)
        assertSequencesCoverDocuments(sequences, documentIDs([[String(repeating: sentence + " ", count: 30)]]), maxSeqLength: 64)
        // Segment B always starts a sentence (w0 = id 5), since B begins at a sentence boundary.
        for s in sequences where s.hasSegmentB && s.segmentBStart < s.tokens.count - 1 {
            XCTAssertEqual(s.tokens[s.segmentBStart], 5, "B starts at a sentence")
        }
    }

    func testSameBytesWhateverTheThreadCount() throws {
        let dir = try makeTemporaryDirectory(in: self)
        let documents = makeDocuments(seed: 9, count: 80)
        let corpus = dir.appendingPathComponent("corpus.txt")
        try documents.map { $0.joined(separator: "\n") }.joined(separator: "\n\n").write(to: corpus, atomically: true, encoding: .utf8)
        var reference: [String: Data]?
        for threads in [1, 3] {
            let out = dir.appendingPathComponent("out\(threads)")
            _ = try makeLosslessBuilder(out, threads: threads).run(sources: [CorpusSource(path: corpus.path)])
            let bytes = try shardBytes(out)
            if let reference { XCTAssertEqual(bytes, reference, "\(threads) threads") } else { reference = bytes }
        }
    }

    func testAJSONLRecordIsOneDocumentBlankLinesInsideIncluded() throws {
        let dir = try makeTemporaryDirectory(in: self)
        let corpus = dir.appendingPathComponent("corpus.jsonl")
        // Two records; the first holds a blank line (and one of spaces) between its paragraphs.
        try """
        {"text": "w1 w2 w3\\n\\nw4 w5\\n   \\nw6"}
        {"text": "w7 w8"}

        """.write(to: corpus, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("out")
        _ = try makeLosslessBuilder(out).run(sources: [CorpusSource(path: corpus.path, format: .jsonl(field: "text"))])
        let index = try ShardIndex(directory: out)
        XCTAssertEqual(index.sources[0].documents, 2)
        XCTAssertEqual(try readAll(out).map(\.tokens), [[2, 6, 7, 8, 9, 10, 11, 3], [2, 12, 13, 3]])
    }

    func testSentenceStarts() {
        func starts(_ s: String) -> [String] {
            let bytes = Array(s.utf8)
            let offsets = bytes.withUnsafeBytes { sentenceStarts($0) }
            return offsets.enumerated().map { i, a in
                String(decoding: bytes[a..<(i + 1 < offsets.count ? offsets[i + 1] : bytes.count)], as: UTF8.self)
            }
        }
        XCTAssertEqual(starts("One. Two! Three? Four"), ["One. ", "Two! ", "Three? ", "Four"])
        XCTAssertEqual(starts("Pi is 3.14 and e.g. this is fine. Next one."), ["Pi is 3.14 and e.g. this is fine. ", "Next one."])
        XCTAssertEqual(starts("He said \"Stop.\" Then he left."), ["He said \"Stop.\" ", "Then he left."])
        XCTAssertEqual(starts("Wait!, he said. (Really?) Yes."), ["Wait!, he said. ", "(Really?) ", "Yes."])
        XCTAssertEqual(starts("etc. and so on"), ["etc. and so on"])
        XCTAssertEqual(starts("第一句。第二句！第三句"), ["第一句。", "第二句！", "第三句"])
        XCTAssertEqual(starts("no end at all"), ["no end at all"])
        XCTAssertEqual(starts("Ends here.   "), ["Ends here.   "])
    }
}
