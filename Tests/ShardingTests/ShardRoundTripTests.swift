// The shard format and index: write a corpus, read it back, compare with packing done directly;
// thread-count independence; verify; crash and rerun; incremental runs; refusals.
import Corpus
import Foundation
import TestSupport
import XCTest
@testable import Sharding

final class ShardRoundTripTests: XCTestCase {
    /// Packs `path` directly (no pool, no files), as the builder must for source `ordinal`.
    private func packDirectly(_ path: String, options: ShardingOptions, ordinal: UInt64 = 0) throws -> [PackedSequence] {
        var encoder = WhitespaceEncoder(vocabulary: testVocabulary())
        var b = ExampleBuilder(maxSeqLength: options.maxSeqLength, clsID: 2, sepID: 3,
                               random: SeededRandom(seed: options.seed, stream: ordinal))
        var out: [PackedSequence] = []
        try LineReader(CorpusSource(path: path)).forEachLine { line in
            if isBlankLine(line) {
                if let e = b.endDocument() { out.append(e) }
            } else {
                var ids: [UInt32] = []
                _ = encoder.encode(line, into: &ids)
                if let e = b.addSentence(ids) { out.append(e) }
            }
        }
        if let e = b.endDocument() { out.append(e) }
        return out
    }

    func testRoundTripMatchesDirectPackingAndIndexTotals() throws {
        let dir = try makeTemporaryDirectory(in: self)
        let corpus = dir.appendingPathComponent("corpus.txt")
        try writeCorpus(corpus, documents: 60, seed: 1)
        let out = dir.appendingPathComponent("out")
        var events: [ShardingEvent] = []
        let summary = try makeBuilder(out).run(sources: [CorpusSource(path: corpus.path)]) { events.append($0) }
        let expected = try packDirectly(corpus.path, options: smallOptions())
        let got = try readAll(out)
        XCTAssertEqual(got, expected)
        XCTAssertGreaterThan(got.count, 100)
        XCTAssertEqual(summary.sequences, got.count)

        let index = try ShardIndex(directory: out)
        index.checkInvariants()
        XCTAssertEqual(index.meta.tokenBytes, 2)
        XCTAssertEqual(index.meta.maxSeqLength, 64)
        XCTAssertEqual(index.meta.seed, 7)
        XCTAssertEqual(index.meta.clsID, 2)
        XCTAssertEqual(try index.vocabularyTokens(), testVocabulary())
        XCTAssertEqual(index.sequenceCount, got.count)
        XCTAssertEqual(index.tokenCount, got.reduce(0) { $0 + $1.tokens.count })
        XCTAssertEqual(index.shards.count, (got.count + 63) / 64, "4 frames of 16 per shard")
        XCTAssertEqual(index.frames.count, (got.count + 15) / 16)
        XCTAssertEqual(index.sources.count, 1)
        XCTAssertEqual(index.sources[0].documents, 60)
        XCTAssertEqual(index.sources[0].sha256, try sha256Hex(ofFileAt: corpus.path))
        XCTAssertEqual(index.sources[0].sequences, got.count)
        for (i, f) in index.frames.enumerated() where i > 0 {
            let prev = index.frames[i - 1]
            XCTAssertEqual(f.firstSequence, prev.firstSequence + prev.count)
        }
        // A frame can be read alone (seek), and the progress callback reported the bytes.
        let last = index.frames.last!
        XCTAssertEqual(try index.readFrame(last), Array(expected[last.firstSequence...]))
        guard case .progress(let p)? = events.last(where: { if case .progress = $0 { return true }; return false }) else {
            return XCTFail("no progress event")
        }
        XCTAssertEqual(p.bytesRead, try Data(contentsOf: corpus).count)
        XCTAssertTrue(try verifyShards(in: out).isValid)
    }

    func testSameBytesWhateverTheThreadCount() throws {
        // One file read in many small blocks, and a directory of many small files (read ahead
        // across inputs, frames compressed on the workers): the same bytes for 1, 2 and 4 threads,
        // with either packing.
        let dir = try makeTemporaryDirectory(in: self)
        let corpus = dir.appendingPathComponent("corpus.txt")
        try writeCorpus(corpus, documents: 80, seed: 2)
        let text = try String(contentsOf: corpus, encoding: .utf8)
        let small = dir.appendingPathComponent("small")
        try FileManager.default.createDirectory(at: small, withIntermediateDirectories: true)
        for (i, document) in text.components(separatedBy: "\n\n").enumerated() {
            try (document + "\n").write(to: small.appendingPathComponent(String(format: "doc-%03d.txt", i)),
                                        atomically: true, encoding: .utf8)
        }
        for packing in Packing.allCases {
        for input in [corpus.path, small.path] {
            var outputs: [[String: Data]] = []
            var summaries: [ShardingSummary] = []
            for threads in [1, 2, 4] {
                let out = dir.appendingPathComponent("out\(threads)-\(outputs.count)-\(input.hasSuffix("small"))-\(packing)")
                var options = smallOptions(threads: threads, packing: packing)
                options.blockSize = 512
                let builder = try makeBuilder(out, options: options)
                builder.backgroundHashMinimum = threads == 2 ? 0 : 1 << 30   // hashed on its own thread or not: same
                summaries.append(try builder.run(sources: try expandCorpusArguments([input])))
                // Every thread reports its CPU seconds (shard --timings).
                let t = summaries.last!.timings
                XCTAssertEqual(t.workerCPU.count, threads)
                XCTAssertTrue(t.workerCPU.allSatisfy { $0 > 0 && $0 < t.wallSeconds + 1 }, "\(t.workerCPU)")
                XCTAssertTrue(t.packingCPU > 0 && t.writingCPU > 0 && t.firstBlockSeconds > 0, "\(t)")
                XCTAssertLessThanOrEqual(t.firstBlockSeconds, t.wallSeconds)
                if threads == 2 { XCTAssertTrue(t.hashingCPU > 0 && t.readingCPU > 0, "\(t)") }
                let index = try ShardIndex(directory: out)
                for source in index.sources { XCTAssertEqual(source.sha256, try sha256Hex(ofFileAt: source.path)) }
                outputs.append(try shardBytes(out))
                XCTAssertTrue(try verifyShards(in: out).isValid)
            }
            XCTAssertGreaterThan(outputs[0].count, 2, input)
            XCTAssertEqual(outputs[0], outputs[1], input)
            XCTAssertEqual(outputs[0], outputs[2], input)
            XCTAssertEqual(summaries.map(\.sequences), [summaries[0].sequences, summaries[0].sequences, summaries[0].sequences])
        }
        }
    }

    func testVerifyNamesTheCorruptedShardAndFrame() throws {
        let dir = try makeTemporaryDirectory(in: self)
        let corpus = dir.appendingPathComponent("corpus.txt")
        try writeCorpus(corpus, documents: 60, seed: 3)
        let out = dir.appendingPathComponent("out")
        _ = try makeBuilder(out).run(sources: [CorpusSource(path: corpus.path)])
        let index = try ShardIndex(directory: out)
        let target = index.frames.first { $0.shardID == 1 && $0.frame == 2 }!
        let url = out.appendingPathComponent(target.shardPath)
        var bytes = try Data(contentsOf: url)
        bytes[target.offset + target.length / 2] ^= 0x5A
        try bytes.write(to: url)

        let report = try verifyShards(in: out)
        XCTAssertFalse(report.isValid)
        XCTAssertEqual(report.badShards, ["shards/shard-000001.zst"])
        XCTAssertTrue(report.problems.contains { $0.shard == "shards/shard-000001.zst" && $0.frame == 2 },
                      "\(report.problems)")
        XCTAssertThrowsError(try ShardIndex(directory: out).readFrame(target)) { error in
            XCTAssertTrue("\(error)".contains("shards/shard-000001.zst frame 2"), "\(error)")
        }
        // A truncated shard is named too.
        let other = out.appendingPathComponent("shards/shard-000000.zst")
        let data = try Data(contentsOf: other)
        try data.prefix(data.count - 10).write(to: other)
        XCTAssertTrue(try verifyShards(in: out).badShards.contains("shards/shard-000000.zst"))
    }

    func testCrashBeforeCommitThenRerunGivesTheSameShards() throws {
        let dir = try makeTemporaryDirectory(in: self)
        var sources: [CorpusSource] = []
        for i in 0..<4 {
            let url = dir.appendingPathComponent("part\(i).txt")
            try writeCorpus(url, documents: 25, seed: 10 + UInt64(i))
            sources.append(CorpusSource(path: url.path))
        }
        let clean = dir.appendingPathComponent("clean")
        _ = try makeBuilder(clean).run(sources: sources)

        for crashAfter in [1, 3, 6] {
            let out = dir.appendingPathComponent("crash\(crashAfter)")
            let first = try makeBuilder(out)
            first.crashAfterShardFiles = crashAfter
            XCTAssertThrowsError(try first.run(sources: sources))
            // What is visible after the crash verifies, whatever was left on disk.
            if FileManager.default.fileExists(atPath: out.appendingPathComponent("index.sqlite").path) {
                XCTAssertTrue(try verifyShards(in: out).isValid)
            }
            var removed: [String] = []
            _ = try makeBuilder(out).run(sources: sources) {
                if case .removedIncompleteShards(let files) = $0 { removed = files }
            }
            XCTAssertFalse(removed.isEmpty, "the crash left files behind")
            XCTAssertTrue(try verifyShards(in: out).isValid)
            XCTAssertEqual(try readAll(out), try readAll(clean), "crash after \(crashAfter)")
            XCTAssertEqual(try shardBytes(out), try shardBytes(clean), "crash after \(crashAfter)")
            XCTAssertEqual(try ShardIndex(directory: out).sources.count, 4)
        }
    }

    func testIncrementalRunAddsOnlyNewInputs() throws {
        let dir = try makeTemporaryDirectory(in: self)
        let a = dir.appendingPathComponent("a.txt"), b = dir.appendingPathComponent("b.txt")
        let copy = dir.appendingPathComponent("a-copy.txt")
        try writeCorpus(a, documents: 30, seed: 20)
        try writeCorpus(b, documents: 30, seed: 21)
        try FileManager.default.copyItem(at: a, to: copy)
        let out = dir.appendingPathComponent("out")
        _ = try makeBuilder(out).run(sources: [CorpusSource(path: a.path)])
        let afterFirst = try readAll(out)

        var skipped: [String] = []
        let summary = try makeBuilder(out).run(sources: [a, copy, b].map { CorpusSource(path: $0.path) }) {
            if case .skipped(let path, let reason, _) = $0 { skipped.append(path); XCTAssertTrue(reason.contains("already sharded")) }
        }
        XCTAssertEqual(skipped, [a.path, copy.path])
        XCTAssertEqual(summary.sourcesSharded, 1)
        let all = try readAll(out)
        XCTAssertEqual(Array(all.prefix(afterFirst.count)), afterFirst, "earlier shards untouched")
        XCTAssertEqual(Array(all.dropFirst(afterFirst.count)), try packDirectly(b.path, options: smallOptions(), ordinal: 1))
        let index = try ShardIndex(directory: out)
        index.checkInvariants()
        XCTAssertEqual(index.sources.map(\.path), [a.path, b.path])
        XCTAssertEqual(index.sources[1].firstSequence, afterFirst.count)
        XCTAssertTrue(try verifyShards(in: out).isValid)
    }

    func testRefusesOtherVocabularyOrOptionsNamingBoth() throws {
        let dir = try makeTemporaryDirectory(in: self)
        let a = dir.appendingPathComponent("a.txt")
        try writeCorpus(a, documents: 5, seed: 30)
        let out = dir.appendingPathComponent("out")
        _ = try makeBuilder(out).run(sources: [CorpusSource(path: a.path)])
        var options = smallOptions()
        options.seed = 8
        options.maxSeqLength = 128
        XCTAssertThrowsError(try makeBuilder(out, options: options).run(sources: [CorpusSource(path: a.path)])) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("--seed: index 7 vs given 8"), text)
            XCTAssertTrue(text.contains("--max-seq-length: index 64 vs given 128"), text)
        }
        XCTAssertThrowsError(try makeBuilder(out, words: 300).run(sources: [CorpusSource(path: a.path)])) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("vocabulary sha256: index test-vocab-200 vs given test-vocab-300"), text)
        }
        XCTAssertTrue(try verifyShards(in: out).isValid)
    }

    func testEmptyFrameTableIsValidForAnEmptyDirectory() throws {
        let dir = try makeTemporaryDirectory(in: self)
        let blank = dir.appendingPathComponent("blank.txt")
        try "\n\n   \n\t\n".write(to: blank, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("out")
        var warnings: [String] = []
        let summary = try makeBuilder(out).run(sources: [CorpusSource(path: blank.path)]) {
            if case .warning(let w) = $0 { warnings.append(w) }
        }
        XCTAssertEqual(summary.sequences, 0)
        XCTAssertTrue(warnings.contains { $0.contains(blank.path) && $0.contains("no text") }, "\(warnings)")
        let index = try ShardIndex(directory: out)
        XCTAssertEqual(index.shards.count, 0)
        XCTAssertEqual(index.sources.count, 1)
        XCTAssertTrue(try verifyShards(in: out).isValid)
    }
}

final class VerifyRulesTests: XCTestCase {
    /// Writes `sequences` as one well-formed shard (valid checksums) and returns verify's problems.
    private func problems(of sequences: [PackedSequence]) throws -> [ShardProblem] {
        let out = try makeTemporaryDirectory(in: self).appendingPathComponent("out")
        let builder = try makeBuilder(out)
        let index = try IndexWriter(directory: out, meta: builder.meta, vocabularyTokens: testVocabulary())
        let writer = try ShardFileWriter(outputDirectory: out, number: 0,
                                         header: ShardHeader(tokenBytes: 2, maxSeqLength: 64, vocabularySize: 205))
        var payload: [UInt8] = []
        try writer.appendFrame(compressFrame(sequences[...], tokenBytes: 2, compressor: FrameCompressor(level: 3), payload: &payload))
        let shard = try writer.finish()
        try index.commit(shards: [(0, shard)], sources: [SourceRecord(
            path: "x.txt", bytes: 1, sha256: "x", documents: 1, lines: 1, sequences: sequences.count,
            tokens: 0, invalidUTF8Bytes: 0, firstSequence: 0)])
        index.unlock()
        return try verifyShards(in: out).problems
    }

    func testWellFormedSequencesPass() throws {
        XCTAssertEqual(try problems(of: [PackedSequence(tokens: [2, 10, 3, 11, 3], segmentBStart: 3),
                                         PackedSequence(tokens: [2, 10, 12, 3], segmentBStart: 4)]), [])
    }

    func testTokenIDsSegmentsAndFramingAreChecked() throws {
        let cases: [(PackedSequence, String)] = [
            (PackedSequence(tokens: [2, 10, 3, 9999, 3], segmentBStart: 3), "token id 9999 is not below the vocabulary size 205"),
            (PackedSequence(tokens: [2, 10, 3], segmentBStart: 7), "segment B starts at 7"),
            (PackedSequence(tokens: [2, 10, 11, 3], segmentBStart: 2), "segment A does not end with [SEP]"),
            (PackedSequence(tokens: [10, 11, 3], segmentBStart: 3), "does not start with [CLS]"),
            (PackedSequence(tokens: [2] + [UInt32](repeating: 10, count: 70) + [3], segmentBStart: 72), "length 72 outside 2...64"),
        ]
        for (sequence, expected) in cases {
            let found = try problems(of: [sequence])
            XCTAssertTrue(found.contains { $0.frame == 0 && $0.shard == "shards/shard-000000.zst" && $0.message.contains(expected) },
                          "\(expected): \(found)")
        }
    }
}
