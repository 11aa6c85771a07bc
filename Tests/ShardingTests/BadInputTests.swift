// Bad inputs: each gets a clear message naming the file, nothing crashes, and the index stays
// consistent (verify passes afterwards).
import Corpus
import Foundation
import TestSupport
import XCTest
@testable import Sharding

final class BadInputTests: XCTestCase {
    private func run(_ paths: [String], in dir: URL) throws -> (ShardingSummary, [String], [String]) {
        var skipped: [String] = [], warnings: [String] = []
        let summary = try makeBuilder(dir.appendingPathComponent("out")).run(sources: try expandCorpusArguments(paths)) {
            switch $0 {
            case .skipped(let path, let reason, _): skipped.append("\(path): \(reason)")
            case .warning(let w): warnings.append(w)
            default: break
            }
        }
        XCTAssertTrue(try verifyShards(in: dir.appendingPathComponent("out")).isValid)
        return (summary, skipped, warnings)
    }

    func testMissingFileAndEmptyDirectoryAreErrorsNamingThem() throws {
        let dir = try makeTemporaryDirectory(in: self)
        XCTAssertThrowsError(try expandCorpusArguments([dir.appendingPathComponent("nope.txt").path])) {
            XCTAssertTrue("\($0)".contains("nope.txt: no such file"), "\($0)")
        }
        let empty = dir.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        XCTAssertThrowsError(try expandCorpusArguments([empty.path])) {
            XCTAssertTrue("\($0)".contains("holds no text files"), "\($0)")
        }
    }

    func testBinaryFileIsSkippedWithAWarningAndOthersAreSharded() throws {
        let dir = try makeTemporaryDirectory(in: self)
        let good = dir.appendingPathComponent("good.txt"), binary = dir.appendingPathComponent("image.bin")
        try writeCorpus(good, documents: 10, seed: 50)
        var junk = Data("w1 w2 w3\nw4 w5\n".utf8)
        junk.append(contentsOf: [0x89, 0x50, 0x4E, 0x47, 0x00, 0x00, 0x1A, 0x0A])
        try junk.write(to: binary)
        let (summary, skipped, _) = try run([binary.path, good.path], in: dir)
        XCTAssertEqual(skipped.count, 1)
        XCTAssertTrue(skipped[0].contains("image.bin") && skipped[0].contains("binary") && skipped[0].contains("not sharded"), skipped[0])
        XCTAssertEqual(summary.sourcesSharded, 1)
        let index = try ShardIndex(directory: dir.appendingPathComponent("out"))
        XCTAssertEqual(index.sources.map(\.path), [good.path], "nothing of the binary file was written")
    }

    func testDamagedCompressedFileIsSkipped() throws {
        let dir = try makeTemporaryDirectory(in: self)
        let bad = dir.appendingPathComponent("broken.txt.zst")
        try Data([0x28, 0xB5, 0x2F, 0xFD, 0x04, 0x58, 0x41, 0x00, 0x00, 0x77, 0x31]).write(to: bad)
        let (summary, skipped, _) = try run([bad.path], in: dir)
        XCTAssertEqual(summary.sourcesSharded, 0)
        XCTAssertTrue(skipped.first?.contains("broken.txt.zst") ?? false, "\(skipped)")
    }

    func testBlankOnlyFileIsRecordedWithZeroSequencesAndAWarning() throws {
        let dir = try makeTemporaryDirectory(in: self)
        let blank = dir.appendingPathComponent("blank.txt")
        try " \n\n\t\n\u{3000}\n".write(to: blank, atomically: true, encoding: .utf8)
        let (summary, _, warnings) = try run([blank.path], in: dir)
        XCTAssertEqual(summary.sequences, 0)
        XCTAssertTrue(warnings.contains { $0.contains("blank.txt") && $0.contains("0 sequences") }, "\(warnings)")
    }

    func testInvalidUTF8IsCountedAndWarned() throws {
        let dir = try makeTemporaryDirectory(in: self)
        let file = dir.appendingPathComponent("latin1.txt")
        var bytes = Data("w1 w2 caf".utf8)
        bytes.append(contentsOf: [0xE9, 0x20, 0xFF, 0xFE])
        bytes.append(contentsOf: Array(" w3\n".utf8))
        try bytes.write(to: file)
        let (summary, _, warnings) = try run([file.path], in: dir)
        XCTAssertEqual(summary.sequences, 1)
        XCTAssertTrue(warnings.contains { $0.contains("latin1.txt") && $0.contains("1 line(s)") && $0.contains("3 invalid bytes") },
                      "\(warnings)")
        let index = try ShardIndex(directory: dir.appendingPathComponent("out"))
        XCTAssertEqual(index.sources[0].invalidUTF8Bytes, 3)
        XCTAssertEqual(index.sources[0].damagedLines, 1)
    }

    func testJunkBytesDeepInAFileCostOnlyTheirLines() throws {
        // 25 bytes of gzip-like junk (NULs, invalid UTF-8) 20 KB into a file: the file is sharded,
        // the junk's line counted as damaged in the summary and the index; the rest is unchanged.
        let dir = try makeTemporaryDirectory(in: self)
        let clean = dir.appendingPathComponent("clean.txt"), junky = dir.appendingPathComponent("junky.txt")
        try writeCorpus(clean, documents: 40, seed: 51)
        var bytes = try Data(contentsOf: clean)
        XCTAssertGreaterThan(bytes.count, 12_000)
        let cut = bytes[10_000...].firstIndex(of: 0x0A)! + 1
        bytes.insert(contentsOf: [0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xFF, 0xC3, 0x28, 0x0A,
                                  0x00, 0x00, 0x0A], at: cut)
        try bytes.write(to: junky)
        var skipped: [String] = []
        let summary = try makeBuilder(dir.appendingPathComponent("out")).run(sources: [CorpusSource(path: junky.path)]) {
            if case .skipped(let path, _, _) = $0 { skipped.append(path) }
        }
        XCTAssertEqual(skipped, [])
        XCTAssertEqual(summary.sourcesSharded, 1)
        XCTAssertEqual(summary.damagedLines, 2)
        let index = try ShardIndex(directory: dir.appendingPathComponent("out"))
        XCTAssertEqual(index.schemaVersion, shardIndexSchemaVersion)
        XCTAssertEqual(index.sources[0].damagedLines, 2)
        XCTAssertGreaterThan(index.sources[0].sequences, 10)
        XCTAssertTrue(try verifyShards(in: dir.appendingPathComponent("out")).isValid)
    }

    func testARunOfRefusedInputsOnlyShardsNothingAndSaysSo() throws {
        let dir = try makeTemporaryDirectory(in: self)
        let binary = dir.appendingPathComponent("image.png")
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array("w1 w2\n".utf8)).write(to: binary)
        let (summary, skipped, _) = try run([binary.path], in: dir)
        XCTAssertEqual(summary.sourcesSharded, 0)
        XCTAssertEqual(summary.sourcesRefused, 1)
        XCTAssertTrue(skipped[0].contains("a PNG image"), skipped[0])
    }

    /// The huge-line test's text is "w7 " repeated: one id (12) per 3 bytes, without the cost of
    /// the general test encoder on megabytes in a debug build.
    private struct RepeatedWordEncoder: LineEncoder {
        mutating func encode(_ line: UnsafeRawBufferPointer, into ids: inout [UInt32]) -> Int {
            ids.append(contentsOf: repeatElement(12, count: (line.count + 1) / 3))
            return 0
        }
    }

    func testSingleHugeLineIsPackedWithBoundedIds() throws {
        // One 6 MB line (tools/check-shard-reader.sh runs 50 MB through the release binary): one
        // sentence of ~2M tokens; the example holds its first max-2.
        let dir = try makeTemporaryDirectory(in: self)
        let file = dir.appendingPathComponent("one-line.txt")
        try (String(repeating: "w7 ", count: (6 << 20) / 3) + "\n").write(to: file, atomically: false, encoding: .utf8)
        let out = dir.appendingPathComponent("out")
        let summary = try ShardBuilder(outputDirectory: out, vocabulary: try testShardVocabulary(),
                                       options: smallOptions()) { RepeatedWordEncoder() }
            .run(sources: [CorpusSource(path: file.path)])
        XCTAssertEqual(summary.sequences, 1)
        let seqs = try readAll(out)
        XCTAssertEqual(seqs[0].tokens, [2] + [UInt32](repeating: 12, count: 62) + [3])
        let index = try ShardIndex(directory: out)
        XCTAssertEqual(index.sources[0].lines, 1)
        XCTAssertEqual(index.sources[0].bytes, (6 << 20) / 3 * 3 + 1)
        XCTAssertTrue(try verifyShards(in: out).isValid)
    }

    func testVocabularyWithoutClsOrSepIsRefusedNamingIt() {
        XCTAssertThrowsError(try ShardVocabulary(tokens: ["[PAD]", "[UNK]", "[MASK]", "a"], sha256: "x",
                                                 tokenizerOptions: "{}", name: "vocab/bad.txt")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("vocab/bad.txt") && text.contains("[CLS], [SEP]"), text)
        }
    }

    func testAnotherWriterOnTheSameDirectoryIsRefused() throws {
        let dir = try makeTemporaryDirectory(in: self)
        let out = dir.appendingPathComponent("out")
        let first = try IndexWriter(directory: out, meta: try makeBuilder(out).meta, vocabularyTokens: testVocabulary())
        XCTAssertThrowsError(try makeBuilder(out).run(sources: [])) {
            XCTAssertTrue("\($0)".contains("another `electra-prep shard` is writing"), "\($0)")
        }
        _ = first
    }
}
