// ShardBuilder.stopRequested (electra-prep shard on SIGINT/SIGTERM): a run stopped inside an input
// or between two leaves only committed shards (no shard file the index does not list, nothing
// half-written), and running again gives exactly the shards of an uninterrupted run.
import Corpus
import Foundation
import TestSupport
import XCTest
@testable import Sharding

final class StopRequestTests: XCTestCase {
    private func corpus(in dir: URL) throws -> [CorpusSource] {
        try (0..<4).map { i in
            let url = dir.appendingPathComponent("part\(i).txt")
            try writeCorpus(url, documents: 40, seed: 30 + UInt64(i))
            return CorpusSource(path: url.path)
        }
    }

    /// The shard files on disk, by relative path.
    private func filesOnDisk(_ out: URL) throws -> Set<String> {
        let dir = out.appendingPathComponent("shards")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return Set(names.map { "shards/" + $0 })
    }

    func testStopInsideAnInputKeepsOnlyCommittedShardsAndARerunFinishesTheSame() throws {
        let dir = try makeTemporaryDirectory(in: self)
        let sources = try corpus(in: dir)
        let clean = dir.appendingPathComponent("clean")
        let counting = try makeBuilder(clean)
        var total = 0
        counting.stopRequested = { total += 1; return false }
        _ = try counting.run(sources: sources)
        var sawMidInput = false
        for polls in [1, total / 3, total * 2 / 3, total - 2] {
            let out = dir.appendingPathComponent("stop\(polls)")
            let first = try makeBuilder(out)
            var count = 0
            first.stopRequested = { count += 1; return count > polls }
            XCTAssertThrowsError(try first.run(sources: sources), "polls \(polls): the run was not stopped") { error in
                guard case ShardingError.stopped(_, let inside) = error else { return XCTFail("\(error)") }
                if inside { sawMidInput = true }
            }
            // Nothing but committed shards: every file on disk is listed, and they verify.
            let index = try ShardIndex(directory: out)
            XCTAssertEqual(try filesOnDisk(out), Set(index.shards.map(\.path)), "polls \(polls)")
            XCTAssertTrue(try verifyShards(in: out).isValid)
            XCTAssertLessThan(index.sources.count, sources.count)
            var removed: [String] = []
            _ = try makeBuilder(out).run(sources: sources) {
                if case .removedIncompleteShards(let files) = $0 { removed = files }
            }
            XCTAssertEqual(removed, [], "the stop left files for the rerun to remove")
            XCTAssertEqual(try readAll(out), try readAll(clean), "polls \(polls)")
            XCTAssertEqual(try shardBytes(out), try shardBytes(clean), "polls \(polls)")
        }
        XCTAssertTrue(sawMidInput)
    }

    func testStopBetweenInputsKeepsTheCommitsBeforeAndARerunFinishesTheSame() throws {
        let dir = try makeTemporaryDirectory(in: self)
        let sources = try corpus(in: dir)
        let clean = dir.appendingPathComponent("clean")
        _ = try makeBuilder(clean).run(sources: sources)
        let out = dir.appendingPathComponent("between")
        // One block an input (one thread): polls go input 0, its block, input 1, its block, input
        // 2: the fifth poll is the third input's first.
        var options = smallOptions(threads: 1)
        options.blockSize = 1 << 20
        let builder = try makeBuilder(out, options: options)
        var polls = 0
        builder.stopRequested = { polls += 1; return polls >= 5 }
        XCTAssertThrowsError(try builder.run(sources: sources)) { error in
            XCTAssertEqual(error as? ShardingError, .stopped(at: sources[2].path, inside: false))
        }
        XCTAssertLessThanOrEqual(try ShardIndex(directory: out).sources.count, 2)
        XCTAssertTrue(try verifyShards(in: out).isValid)
        _ = try makeBuilder(out, options: options).run(sources: sources)
        let whole = dir.appendingPathComponent("whole")
        _ = try makeBuilder(whole, options: options).run(sources: sources)
        XCTAssertEqual(try readAll(out), try readAll(whole))
        XCTAssertEqual(try shardBytes(out), try shardBytes(whole))
    }
}
