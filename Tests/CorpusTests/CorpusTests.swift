import Corpus
import Foundation
import TestSupport
import XCTest

final class CorpusTests: XCTestCase {
    private let expectedLines = [
        "In the beginning God created the heaven and the earth.",
        "Café naïve — ünïcödé",
        "",
        "Second document, line one.",
        "last line without newline",
    ]

    private func lines(of path: String, bufferSize: Int = 1 << 20) throws -> ([String], LineReader) {
        let reader = try LineReader(CorpusSource(path: path), bufferSize: bufferSize)
        var out: [String] = []
        try reader.forEachLine { out.append(String(decoding: $0, as: UTF8.self)) }
        return (out, reader)
    }

    func testPlainGzipAndZstdGiveTheSameLinesAndHashTheFileBytes() throws {
        for name in ["lines.txt", "lines.txt.gz", "lines.txt.zst"] {
            let path = fixtureURL("corpus/\(name)").path
            let (got, reader) = try lines(of: path)
            XCTAssertEqual(got, expectedLines, name)
            XCTAssertEqual(reader.contentSHA256, try sha256Hex(ofFileAt: path), name)
            XCTAssertEqual(reader.bytesRead, reader.totalBytes, name)
        }
    }

    func testLineLongerThanTheBufferIsKeptWhole() throws {
        let dir = try makeTemporaryDirectory(in: self)
        let long = String(repeating: "abcdefghij", count: 5_000)
        let path = dir.appendingPathComponent("long.txt").path
        try ("short\n" + long + "\nend\n").write(toFile: path, atomically: true, encoding: .utf8)
        let (got, _) = try lines(of: path, bufferSize: 4096)
        XCTAssertEqual(got, ["short", long, "end"])
    }

    func testBlocksEndOnLineBoundaries() throws {
        let dir = try makeTemporaryDirectory(in: self)
        let path = dir.appendingPathComponent("many.txt").path
        let text = (0..<2_000).map { "line number \($0)" }.joined(separator: "\n") + "\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let reader = try LineReader(CorpusSource(path: path), bufferSize: 4096)
        var blocks = 0
        var rebuilt = Data()
        try reader.forEachBlock { block in
            blocks += 1
            XCTAssertEqual(block.last, 0x0A)
            rebuilt.append(contentsOf: block)
        }
        XCTAssertGreaterThan(blocks, 1)
        XCTAssertEqual(String(decoding: rebuilt, as: UTF8.self), text)
    }

    func testTruncatedZstdIsAClearError() throws {
        let dir = try makeTemporaryDirectory(in: self)
        let whole = try Data(contentsOf: fixtureURL("corpus/lines.txt.zst"))
        let path = dir.appendingPathComponent("cut.txt.zst").path
        try whole.prefix(whole.count - 6).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try lines(of: path)) { error in
            guard case CorpusError.corruptCompressed(let file, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(file, path)
        }
    }

    func testTruncatedGzipIsAClearError() throws {
        let dir = try makeTemporaryDirectory(in: self)
        let whole = try Data(contentsOf: fixtureURL("corpus/lines.txt.gz"))
        let path = dir.appendingPathComponent("cut.txt.gz").path
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try lines(of: path)) { error in
            guard case CorpusError.corruptCompressed = error else { return XCTFail("\(error)") }
        }
    }

    func testBinaryFileIsRejectedWithItsOffset() throws {
        let dir = try makeTemporaryDirectory(in: self)
        let path = dir.appendingPathComponent("junk.bin").path
        try Data([0x61, 0x62, 0x0A, 0x63, 0x00, 0xFF]).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try lines(of: path)) { error in
            XCTAssertEqual(error as? CorpusError, .binary(path, offset: 4))
        }
    }

    func testExpandingArguments() throws {
        let dir = try makeTemporaryDirectory(in: self)
        let fm = FileManager.default
        try fm.createDirectory(at: dir.appendingPathComponent("b/nested"), withIntermediateDirectories: true)
        for name in ["b/nested/z.txt", "b/a.txt", "b/.hidden", "c.txt"] {
            try "x\n".write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        let sources = try expandCorpusArguments([dir.appendingPathComponent("c.txt").path,
                                                 dir.appendingPathComponent("b").path, "-"])
        XCTAssertEqual(sources.map(\.path), [
            dir.appendingPathComponent("c.txt").path,
            dir.appendingPathComponent("b").path + "/a.txt",
            dir.appendingPathComponent("b").path + "/nested/z.txt",
            "-",
        ])
        XCTAssertThrowsError(try expandCorpusArguments([dir.appendingPathComponent("missing.txt").path])) {
            XCTAssertEqual($0 as? CorpusError, .notFound(dir.appendingPathComponent("missing.txt").path))
        }
        try fm.createDirectory(at: dir.appendingPathComponent("empty"), withIntermediateDirectories: true)
        XCTAssertThrowsError(try expandCorpusArguments([dir.appendingPathComponent("empty").path])) {
            XCTAssertEqual($0 as? CorpusError, .noTextFiles(directory: dir.appendingPathComponent("empty").path))
        }
    }
}
