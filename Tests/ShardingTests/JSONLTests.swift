// JSONL inputs: each record is a document; the shards are those of the same documents in the
// text format; bad lines are skipped and named by file and line (refused with `strict`).
import Corpus
import Foundation
import TestSupport
import XCTest
@testable import Sharding

final class JSONLTests: XCTestCase {
    /// The documents of a generated corpus, and the same as JSONL (with other fields, escapes,
    /// a blank line) and as text.
    private func writeBoth(in dir: URL, bad: [String] = []) throws -> (text: URL, jsonl: URL, documents: Int) {
        let corpus = dir.appendingPathComponent("generated.txt")
        try writeCorpus(corpus, documents: 30, seed: 61)
        let documents = try String(contentsOf: corpus, encoding: .utf8)
            .components(separatedBy: "\n\n").map { $0.trimmingCharacters(in: .newlines) }.filter { !$0.isEmpty }
        var jsonl = ""
        for (i, document) in documents.enumerated() {
            let escaped = String(data: try JSONSerialization.data(withJSONObject: [document], options: []), encoding: .utf8)!
            jsonl += "{\"id\": \(i), \"meta\": {\"tags\": [1, 2.5e3, null, true]}, \"text\": \(escaped.dropFirst().dropLast())}\n"
            if i == 3 { jsonl += "   \n" + bad.joined(separator: "\n") + (bad.isEmpty ? "" : "\n") }
        }
        let text = dir.appendingPathComponent("docs.txt"), json = dir.appendingPathComponent("docs.jsonl")
        try (documents.joined(separator: "\n\n") + "\n").write(to: text, atomically: true, encoding: .utf8)
        try jsonl.write(to: json, atomically: true, encoding: .utf8)
        return (text, json, documents.count)
    }

    func testJSONLGivesTheShardsOfTheSameDocumentsAsText() throws {
        let dir = try makeTemporaryDirectory(in: self)
        let (text, jsonl, documents) = try writeBoth(in: dir)
        XCTAssertEqual(CorpusSource(path: jsonl.path).format, .jsonl(field: "text"))
        XCTAssertEqual(CorpusSource(path: "x.jsonl.zst").format, .jsonl(field: "text"))
        XCTAssertEqual(CorpusSource(path: text.path).format, .text)
        var options = smallOptions(threads: 2)
        options.blockSize = 700   // many blocks: record line numbers carry across them
        let fromText = try makeBuilder(dir.appendingPathComponent("text"), options: options).run(sources: [CorpusSource(path: text.path)])
        let fromJSONL = try makeBuilder(dir.appendingPathComponent("jsonl"), options: options).run(sources: [CorpusSource(path: jsonl.path)])
        XCTAssertGreaterThan(fromText.sequences, 20)
        XCTAssertEqual(fromJSONL.sequences, fromText.sequences)
        XCTAssertEqual(try shardBytes(dir.appendingPathComponent("jsonl")), try shardBytes(dir.appendingPathComponent("text")))
        XCTAssertEqual(try ShardIndex(directory: dir.appendingPathComponent("jsonl")).sources[0].documents, documents)
    }

    func testBadLinesAreSkippedNamedByLineAndRefusedWithStrict() throws {
        let dir = try makeTemporaryDirectory(in: self)
        let bad = ["{\"text\": \"unterminated", "[1, 2]", "{\"title\": \"no text field\"}", "{\"text\": 42}",
                   "{\"text\": \"ok\"} trailing"]
        let (_, jsonl, _) = try writeBoth(in: dir, bad: bad)
        var warnings: [String] = []
        var options = smallOptions(threads: 2)
        options.blockSize = 700
        let summary = try makeBuilder(dir.appendingPathComponent("out"), options: options)
            .run(sources: [CorpusSource(path: jsonl.path)]) { if case .warning(let w) = $0 { warnings.append(w) } }
        XCTAssertEqual(summary.badRecords, 5)
        // Records 0-3 are lines 1-4, the blank line is 5, the bad lines 6-10.
        let named = warnings.filter { $0.contains("line skipped") }
        XCTAssertEqual(named.count, 5, "\(warnings)")
        XCTAssertTrue(named[0].hasPrefix(jsonl.path + ":6: not valid JSON: unterminated string"), named[0])
        XCTAssertTrue(named[1].contains(":7: not a JSON object"), named[1])
        XCTAssertTrue(named[2].contains(":8: no \"text\" field"), named[2])
        XCTAssertTrue(named[3].contains(":9: field \"text\" is not a string (42)"), named[3])
        XCTAssertTrue(named[4].contains(":10: not valid JSON: unexpected text after the object"), named[4])
        XCTAssertEqual(try ShardIndex(directory: dir.appendingPathComponent("out")).sources[0].badRecords, 5)

        options.strict = true
        XCTAssertThrowsError(try makeBuilder(dir.appendingPathComponent("strict"), options: options)
            .run(sources: [CorpusSource(path: jsonl.path)])) {
            XCTAssertTrue("\($0)".contains(jsonl.path + ":6:") && "\($0)".contains("--strict"), "\($0)")
        }
        XCTAssertEqual(try ShardIndex(directory: dir.appendingPathComponent("strict")).sources.count, 0, "nothing committed")
    }
}
