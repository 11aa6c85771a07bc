import Batching
import Foundation
import Masking
import Sharding
import XCTest

/// Weighted mixing (--shards a=0.7,b=0.3): proportions, determinism, resume, the spec's parsing.
/// Two MemoryFrames sources whose ids differ (frame numbers offset by 500) tell rows apart.
final class BatchMixingTests: XCTestCase {
    func options(batch: Int = 20) -> BatchStreamOptions {
        var o = BatchStreamOptions()
        o.batchSize = batch
        o.masking = MaskingOptions(maxSeqLength: 32)
        o.seed = 5
        o.shuffleWindowFrames = 3
        o.heldOutFraction = 0.1
        return o
    }

    func sources(_ a: Double = 0.7, _ b: Double = 0.3) -> [MixtureSource] {
        [MixtureSource(name: "web", frames: MemoryFrames(perFrame: Array(repeating: 25, count: 20)), weight: a),
         MixtureSource(name: "books", frames: OffsetFrames(MemoryFrames(perFrame: Array(repeating: 13, count: 9))), weight: b)]
    }

    func testProportionsWithinOnePercentOverTenThousandSequences() throws {
        for (a, b) in [(0.7, 0.3), (1.0, 3.0), (0.5, 0.5)] {
            var producer = try MixedBatchProducer(sources: sources(a, b), options: options(batch: 100))
            var fromBooks = 0
            for _ in 0..<100 {
                let batch = try producer.nextBatch()
                let ids = batch.originalInputIDs
                fromBooks += (0..<batch.batchSize).filter { ids[$0 * batch.seqLength + 1] >= 500_000 }.count
            }
            let counts = producer.counts
            XCTAssertEqual(counts.reduce(0, +), 10_000)
            XCTAssertEqual(counts[1], fromBooks, "the counts are those of the rows")
            let share = Double(counts[0]) / 10_000, expected = a / (a + b)
            XCTAssertEqual(share, expected, accuracy: 0.01, "weights \(a), \(b): \(counts)")
            XCTAssertEqual(producer.position.sources?.map(\.sequencesConsumed), counts)
        }
    }

    func testDeterministicAndResumable() throws {
        var whole = try MixedBatchProducer(sources: sources(), options: options())
        var batches: [MaskedBatch] = [], positions: [StreamPosition] = []
        for _ in 0..<60 {   // both sources past an epoch (a small one: 8 training frames of 13)
            batches.append(try whole.nextBatch())
            positions.append(whole.position)
        }
        var again = try MixedBatchProducer(sources: sources(), options: options())
        for i in 0..<10 { XCTAssertEqual(try again.nextBatch(), batches[i], "batch \(i) of a second run") }
        for cut in [0, 17, 41] {
            let saved = try JSONDecoder().decode(StreamPosition.self, from: JSONEncoder().encode(positions[cut]))
            var resumed = try MixedBatchProducer(sources: sources(), options: options(), position: saved)
            for i in (cut + 1)..<min(cut + 12, 60) {
                XCTAssertEqual(try resumed.nextBatch(), batches[i], "batch \(i) after resuming at \(cut)")
            }
        }
        // Through the prefetching stream as the trainer reads it.
        let stream = try BatchStream(mixture: sources(), options: options())
        for i in 0..<5 { XCTAssertEqual(try stream.next().batch, batches[i]) }
    }

    func testAPositionOfOneDirectoryIsRefusedForAMixtureAndBack() throws {
        var single = try BatchProducer(frames: MemoryFrames(perFrame: [25, 25, 25]), options: options())
        _ = try single.nextBatch()
        XCTAssertThrowsError(try MixedBatchProducer(sources: sources(), options: options(), position: single.position)) { error in
            XCTAssertTrue("\(error)".contains("this run mixes 2"), "\(error)")
        }
        var mixed = try MixedBatchProducer(sources: sources(), options: options())
        _ = try mixed.nextBatch()
        XCTAssertThrowsError(try BatchProducer(frames: MemoryFrames(perFrame: [25, 25, 25]), options: options(), position: mixed.position)) { error in
            XCTAssertTrue("\(error)".contains("a mixture of 2"), "\(error)")
        }
    }

    func testHeldOutBatchesInterleaveTheSources() throws {
        let producer = try MixedBatchProducer(sources: sources(), options: options(batch: 8))
        let held = try producer.heldOutBatches(limit: 2)
        XCTAssertEqual(held.map(\.realRows), [8, 8])
        let ids = held.flatMap { b -> [Int32] in
            let o = b.batch.originalInputIDs
            return (0..<8).map { o[$0 * 32 + 1] }
        }
        XCTAssertTrue(ids.contains { $0 >= 500_000 } && ids.contains { $0 < 500_000 })
        XCTAssertEqual(try producer.heldOutBatches(limit: 2).map(\.batch), held.map(\.batch))
    }

    func testSpecParsing() throws {
        XCTAssertNil(try MixtureSpec.parse("data"))
        let spec = try XCTUnwrap(try MixtureSpec.parse("web=0.7,/x/books=0.3"))
        XCTAssertEqual(spec.sources.map(\.path), ["web", "/x/books"])
        XCTAssertEqual(spec.sources.map(\.weight), [0.7, 0.3])
        for bad in ["web=0,books=1", "web=x", "=1", "web=1,web=2", "web=1,books"] {
            XCTAssertThrowsError(try MixtureSpec.parse(bad), bad)
        }
        XCTAssertEqual(blendChoice(weights: [0.5, 0.5], index: 0, counts: [0, 0]), 0)
    }
}

/// Frames whose ids are 500,000 higher than the wrapped frames' (a second corpus).
final class OffsetFrames: SequenceFrames {
    let base: MemoryFrames
    init(_ base: MemoryFrames) { self.base = base }
    var frameCount: Int { base.frameCount }
    func key(ofFrame frame: Int) -> UInt64 { base.key(ofFrame: frame) }
    func sequenceCount(ofFrame frame: Int) -> Int { base.sequenceCount(ofFrame: frame) }
    func read(frame: Int) throws -> [PackedSequence] {
        try base.read(frame: frame).map {
            PackedSequence(tokens: $0.tokens.map { $0 >= 5 ? $0 + 500_000 : $0 }, segmentBStart: $0.segmentBStart)
        }
    }
}
