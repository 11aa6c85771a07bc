// A small committed shard directory (Tests/Fixtures/sharding/tiny) guards the on-disk format:
// today's reader must decode it to the committed id dump, and tools/check-shard-reader.sh
// reads the same fixture with the Python reader. ELECTRA_WRITE_FIXTURES=1 regenerates it.
import CSQLite
import Corpus
import Foundation
import TestSupport
import XCTest
@testable import Sharding

final class FixtureTests: XCTestCase {
    static func dump(_ sequences: [PackedSequence]) -> String {
        sequences.map { "\($0.segmentBStart)\t" + $0.tokens.map(String.init).joined(separator: " ") + "\n" }.joined()
    }

    func testCommittedFixtureReadsBackAsItsDump() throws {
        let dir = fixtureURL("sharding/tiny")
        if ProcessInfo.processInfo.environment["ELECTRA_WRITE_FIXTURES"] != nil {
            try? FileManager.default.removeItem(at: dir)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let corpus = fixtureURL("sharding/tiny-corpus.txt")
            try writeCorpus(corpus, documents: 12, seed: 40)
            _ = try makeBuilder(dir).run(sources: [CorpusSource(path: corpus.path)])
            try? FileManager.default.removeItem(at: dir.appendingPathComponent(".lock"))
            // Plain rollback journal for the committed copy: readers need no -shm file.
            var db: OpaquePointer?
            sqlite3_open(dir.appendingPathComponent("index.sqlite").path, &db)
            sqlite3_exec(db, "PRAGMA journal_mode=DELETE", nil, nil, nil)
            sqlite3_close(db)
            try FixtureTests.dump(try readAll(dir)).write(to: fixtureURL("sharding/tiny-dump.txt"), atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: fixtureURL("sharding/tiny-dump.txt"), encoding: .utf8)
        XCTAssertEqual(FixtureTests.dump(try readAll(dir)), expected)
        XCTAssertGreaterThan(expected.split(separator: "\n").count, 16, "spans more than one frame")
        XCTAssertTrue(try verifyShards(in: dir).isValid)
        // The fixture is a schema-1 index (before damaged lines were counted): still read, and
        // adding to it is refused with a clear error (a copy, so the fixture stays as it is).
        XCTAssertEqual(try ShardIndex(directory: dir).schemaVersion, 1)
        let copy = try makeTemporaryDirectory(in: self).appendingPathComponent("v1")
        try FileManager.default.copyItem(at: dir, to: copy)
        XCTAssertThrowsError(try makeBuilder(copy).run(sources: [CorpusSource(path: fixtureURL("sharding/tiny-corpus.txt").path)])) {
            XCTAssertTrue("\($0)".contains("schema version 1") && "\($0)".contains("new --out directory"), "\($0)")
        }
        // The writer today produces the same bytes from the same corpus and seed.
        let out = try makeTemporaryDirectory(in: self).appendingPathComponent("out")
        _ = try makeBuilder(out).run(sources: [CorpusSource(path: fixtureURL("sharding/tiny-corpus.txt").path)])
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("shards").path).sorted()
        for name in names {
            XCTAssertEqual(try Data(contentsOf: out.appendingPathComponent("shards/" + name)),
                           try Data(contentsOf: dir.appendingPathComponent("shards/" + name)), name)
        }
    }
}
