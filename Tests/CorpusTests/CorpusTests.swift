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

    /// Hostile text (a huge line, a file of one character, a huge JSONL record): past
    /// `maxLineBytes` the reader throws, naming the file and the line, having held at most about
    /// the limit (the buffer doubles from the block size up to it).
    func testLineLongerThanTheLimitIsRefusedNamingFileAndLine() throws {
        let dir = try makeTemporaryDirectory(in: self)
        let cases: [(name: String, text: String, line: Int)] = [
            ("words.txt", "short\nline two\n\n" + String(repeating: "the lord said ", count: 2_000) + "\nend\n", 4),
            ("one-character.txt", String(repeating: "a", count: 40_000), 1),   // no newline at all
            ("record.jsonl", "{\"text\": \"a\"}\n{\"text\": \"" + String(repeating: "b", count: 30_000) + "\"}\n", 2),
        ]
        for (name, text, line) in cases {
            let path = dir.appendingPathComponent(name).path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let reader = try LineReader(CorpusSource(path: path), bufferSize: 4096)
            reader.maxLineBytes = 16_384
            XCTAssertThrowsError(try reader.forEachLine { _ in }, name) { error in
                XCTAssertEqual(error as? CorpusError, .lineTooLong(path, line: line, limit: 16_384), name)
                XCTAssertTrue("\(error)".hasPrefix("\(path):\(line): the line is longer than"), "\(error)")
            }
            let fits = try LineReader(CorpusSource(path: path), bufferSize: 4096)
            fits.maxLineBytes = 65_536
            var count = 0
            try fits.forEachLine { _ in count += 1 }
            XCTAssertGreaterThanOrEqual(count, line, "\(name): under the limit the same text is read whole")
        }
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
            guard case CorpusError.binary(path, let reason) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("NUL byte at offset 4"), reason)
        }
        // A gzip stream without the .gz name is named as such, though its first bytes hold no NUL.
        let gz = dir.appendingPathComponent("corpus").path
        try Data(contentsOf: fixtureURL("corpus/lines.txt.gz")).write(to: URL(fileURLWithPath: gz))
        XCTAssertThrowsError(try lines(of: gz)) { error in
            XCTAssertTrue("\(error)".contains("gzip data (name the file .gz"), "\(error)")
        }
    }

    func testNULAfterTheBeginningIsText() throws {
        // Junk bytes 20 KB into a file (NUL, invalid UTF-8) do not make it binary: every line,
        // the damaged one included, comes through, whatever the buffer size.
        let dir = try makeTemporaryDirectory(in: self)
        let path = dir.appendingPathComponent("mostly-text.txt").path
        var bytes = [UInt8](repeating: 0, count: 0)
        for i in 0..<1_000 { bytes += Array("line \(i) of clean text\n".utf8) }
        let junk: [UInt8] = Array("junk ".utf8) + [0x00, 0x1F, 0x8B, 0xFF, 0x00] + Array(" end\n".utf8)
        bytes += junk + Array("after\n".utf8)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        for size in [4096, 1 << 20] {
            let reader = try LineReader(CorpusSource(path: path), bufferSize: size)
            var got: [[UInt8]] = []
            try reader.forEachLine { got.append(Array($0)) }
            XCTAssertEqual(got.count, 1_002)
            XCTAssertEqual(got[1_000], Array(junk.dropLast()))
            XCTAssertTrue(got[1_000].withUnsafeBytes(containsNUL) && !got[999].withUnsafeBytes(containsNUL))
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

final class JSONLConverterTests: XCTestCase {
    private func convert(_ lines: [String], field: String = "text") -> (String, [(line: Int, reason: String)]) {
        var out: [UInt8] = []
        let block = Array((lines.joined(separator: "\n") + "\n").utf8)
        let result = block.withUnsafeBytes { JSONLConverter(field: field).convert($0, into: &out) }
        XCTAssertEqual(result.lines, lines.count)
        return (String(decoding: out, as: UTF8.self), result.bad)
    }

    func testRecordsBecomeDocumentsWithTheirEscapesDecoded() {
        let (text, bad) = convert([
            #"{"text": "a\nb", "id": 1}"#,
            #"{"id": [1, {"x": null}], "text": "tab\there \"q\" \\ \/ \u00e9\ud83d\ude00 \u4e2d"}"#,
            #"  {"text":"dup", "text": "last wins"}  "#,
            "",
            #"{"body": "other field"}"#,
        ])
        XCTAssertEqual(text, "a\nb\n\ntab\there \"q\" \\ / é😀 中\n\nlast wins\n\n")
        XCTAssertEqual(bad.map(\.line), [4])
        XCTAssertEqual(bad.first?.reason, "no \"text\" field")
        XCTAssertEqual(convert([#"{"body": "x"}"#], field: "body").0, "x\n\n")
    }

    func testMalformedLinesAreNamed() {
        let cases: [(String, String)] = [
            (#"{"text": "x""#, "not valid JSON: unterminated object"),
            ("{\"text\": \"a\u{1}b\"}", "not valid JSON: control character in a string"),
            (#"{"text": "\q"}"#, "not valid JSON: bad escape"),
            (#"{"text": 01}"#, "not valid JSON: expected ',' or '}'"),
            (#"{"text": tru}"#, "not valid JSON: unexpected character"),
            (#""just a string""#, "not a JSON object"),
            (#"{"text": null}"#, "field \"text\" is not a string (null)"),
        ]
        for (line, reason) in cases {
            let (text, bad) = convert([line])
            XCTAssertEqual(text, "", line)
            XCTAssertEqual(bad.count, 1, line)
            XCTAssertTrue(bad.first?.reason.hasPrefix(reason) ?? false, "\(line): \(bad)")
        }
    }

    func testTextReaderNamesBadLinesByFileLineAndStrictRefuses() throws {
        let dir = try makeTemporaryDirectory(in: self)
        let path = dir.appendingPathComponent("d.jsonl").path
        try "{\"text\": \"one\"}\nnot json\n{\"text\": \"two\"}\n".write(toFile: path, atomically: true, encoding: .utf8)
        let reader = try TextReader(CorpusSource(path: path), bufferSize: 4096)
        var lines: [String] = []
        try reader.forEachLine { lines.append(String(decoding: $0, as: UTF8.self)) }
        XCTAssertEqual(lines, ["one", "", "two", ""])
        XCTAssertEqual(reader.badRecords.map(\.description), ["\(path):2: not a JSON object (one object per line expected)"])
        let strict = try TextReader(CorpusSource(path: path))
        strict.strict = true
        XCTAssertThrowsError(try strict.forEachLine { _ in }) { XCTAssertTrue("\($0)".contains("d.jsonl:2:"), "\($0)") }
    }
}
