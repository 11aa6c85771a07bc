import Batching
import Corpus
import Foundation
import Masking
import Randomness
import Sharding
import ShardTestSupport
import TestSupport
import XCTest

/// In-memory frames: sequence `s` of frame `f` is [CLS] id id ... [SEP] with id = 5 + f*1000 + s,
/// so every sequence can be traced back to its frame.
final class MemoryFrames: SequenceFrames {
    let perFrame: [Int]
    var corrupt: Set<Int> = []
    var reads = 0
    init(perFrame: [Int]) { self.perFrame = perFrame }
    var frameCount: Int { perFrame.count }
    func key(ofFrame frame: Int) -> UInt64 { UInt64(perFrame[0..<frame].reduce(0, +)) }
    func sequenceCount(ofFrame frame: Int) -> Int { perFrame[frame] }
    func read(frame: Int) throws -> [PackedSequence] {
        reads += 1
        if corrupt.contains(frame) { throw CocoaError(.fileReadCorruptFile, userInfo: ["frame": frame]) }
        return (0..<perFrame[frame]).map { s in
            let id = UInt32(5 + frame * 1000 + s)
            let n = 4 + (s % 20)
            return PackedSequence(tokens: [2] + Array(repeating: id, count: n) + [3], segmentBStart: n + 2)
        }
    }
}

/// The identity of a batch row: its first real token (the sequence id).
private func rowIDs(_ batch: MaskedBatch) -> [Int32] {
    let ids = batch.originalInputIDs
    return (0..<batch.batchSize).map { ids[$0 * batch.seqLength + 1] }
}

final class BatchingTests: XCTestCase {
    func options(batch: Int = 10) -> BatchStreamOptions {
        var o = BatchStreamOptions()
        o.batchSize = batch
        o.masking = MaskingOptions(maxSeqLength: 32)
        o.seed = 11
        o.shuffleWindowFrames = 3
        o.heldOutFraction = 0.1
        o.prefetchBatches = 3
        return o
    }

    func testResumedStreamYieldsTheSameBatches() throws {
        let frames = MemoryFrames(perFrame: Array(repeating: 25, count: 20))
        let whole = try BatchStream(frames: frames, options: options())
        var batches: [MaskedBatch] = []
        var positions: [StreamPosition] = []
        for _ in 0..<120 {   // more than two epochs
            let (b, p, _) = try whole.next()
            batches.append(b)
            positions.append(p)
        }
        for cut in [0, 7, 44, 89] {
            let saved = try JSONDecoder().decode(StreamPosition.self, from: JSONEncoder().encode(positions[cut]))
            let resumed = try BatchStream(frames: frames, options: options(), position: saved)
            for i in (cut + 1)..<min(cut + 25, 120) {
                XCTAssertEqual(try resumed.next().batch, batches[i], "batch \(i) after resuming at \(cut)")
            }
        }
    }

    func testMasksDependOnTheSequenceIndexNotOnTheBatchSplit() throws {
        // A global batch of 10 rows and two batches of 5: the same rows with the same masks, so
        // ranks or micro-batches that each take a share of a batch see the masks of the whole.
        let frames = MemoryFrames(perFrame: Array(repeating: 25, count: 20))
        let whole = try BatchStream(frames: frames, options: options(batch: 10))
        let halves = try BatchStream(frames: frames, options: options(batch: 5))
        for step in 0..<12 {
            let (big, position, _) = try whole.next()
            XCTAssertEqual(position.sequencesConsumed, 10 * (step + 1))
            XCTAssertEqual(try halves.next().batch, big.rows(0..<5), "step \(step), first half")
            XCTAssertEqual(try halves.next().batch, big.rows(5..<10), "step \(step), second half")
            let (masked, real) = big.lossNormalizers
            XCTAssertEqual(masked, big.rows(0..<5).lossNormalizers.maskedTokens + big.rows(5..<10).lossNormalizers.maskedTokens)
            XCTAssertEqual(real, Float(big.attentionMask.reduce(0, +)))
        }
        // Held-out batches too: their masks depend on the held-out sequence, not the batch size.
        let heldWhole = try whole.heldOutBatches(limit: 1)[0].batch, heldHalves = try halves.heldOutBatches(limit: 2)
        XCTAssertEqual(heldHalves[0].batch, heldWhole.rows(0..<5))
        XCTAssertEqual(heldHalves[1].batch, heldWhole.rows(5..<10))
    }

    func testEpochsCoverEveryTrainingSequenceOnceAndNeverTheHeldOutSplit() throws {
        let frames = MemoryFrames(perFrame: Array(repeating: 25, count: 20))
        let stream = try BatchStream(frames: frames, options: options())
        XCTAssertEqual(stream.trainFrameCount, 18)   // ceil(0.1 * 20) = 2 held out
        XCTAssertEqual(stream.trainSequenceCount, 450)
        let held = try stream.heldOutBatches(limit: 100)
        let heldIDs = Set(held.flatMap { rowIDs($0.batch) })
        XCTAssertEqual(heldIDs.count, 50)
        var epochs: [[Int32]] = [[], []]
        for i in 0..<90 { epochs[i / 45].append(contentsOf: rowIDs(try stream.next().batch)) }
        for epoch in epochs {
            XCTAssertEqual(epoch.count, 450)
            XCTAssertEqual(Set(epoch).count, 450, "each training sequence exactly once per epoch")
            XCTAssertTrue(Set(epoch).isDisjoint(with: heldIDs), "held-out sequences leaked into training")
        }
        XCTAssertNotEqual(epochs[0], epochs[1], "each epoch is shuffled afresh")
        // Evaluation batches are the same every time.
        XCTAssertEqual(try stream.heldOutBatches(limit: 100).map(\.batch), held.map(\.batch))
    }

    func testCorruptFrameStopsTheStreamOrIsSkipped() throws {
        let frames = MemoryFrames(perFrame: Array(repeating: 25, count: 6))
        frames.corrupt = [Set(0..<6).subtracting(heldOutFrames(frames, fraction: 0.1)).min()!]
        let strict = try BatchStream(frames: frames, options: options())
        XCTAssertThrowsError(try (0..<30).forEach { _ in _ = try strict.next() })
        var lenient = options()
        lenient.skipCorruptFrames = true
        let stream = try BatchStream(frames: frames, options: lenient)
        var skipped: [String] = []
        for _ in 0..<30 { skipped += try stream.next().skippedFrames }
        XCTAssertFalse(skipped.isEmpty)
    }

    func testResumeRefusesAPositionOfAnotherSeedOrOtherShards() throws {
        let frames = MemoryFrames(perFrame: Array(repeating: 25, count: 20))
        let stream = try BatchStream(frames: frames, options: options())
        for _ in 0..<5 { _ = try stream.next() }
        let position = try stream.next().position
        var otherSeed = options()
        otherSeed.seed = 12
        XCTAssertThrowsError(try BatchStream(frames: frames, options: otherSeed, position: position)) {
            XCTAssertTrue("\($0)".contains("seed"), "\($0)")
        }
        var late = position
        late.window = 100
        XCTAssertThrowsError(try BatchStream(frames: frames, options: options(), position: late))
        // A position saved before the seed was recorded (seed nil) is still accepted.
        var legacy = position
        legacy.seed = nil
        XCTAssertNoThrow(try BatchStream(frames: frames, options: options(), position: legacy))
    }

    func testShuffleDependsOnlyOnTheSeed() throws {
        var a = Array(0..<10), b = Array(0..<10)
        var r1 = Xoshiro256(seed: 5), r2 = Xoshiro256(seed: 5)
        seededShuffle(&a, using: &r1)
        seededShuffle(&b, using: &r2)
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.sorted(), Array(0..<10))
        // Fisher-Yates is uniform: each element lands at index 0 about equally often.
        var firstCounts = [Int](repeating: 0, count: 5)
        var rng = Xoshiro256(seed: 6)
        for _ in 0..<50_000 {
            var v = Array(0..<5)
            seededShuffle(&v, using: &rng)
            firstCounts[v[0]] += 1
        }
        for c in firstCounts { XCTAssertEqual(Double(c), 10_000, accuracy: 500) }
        // Two streams with different seeds differ in order.
        let frames = MemoryFrames(perFrame: Array(repeating: 25, count: 20))
        var other = options()
        other.seed = 99
        let s1 = try BatchStream(frames: frames, options: options()), s2 = try BatchStream(frames: frames, options: other)
        XCTAssertNotEqual(rowIDs(try s1.next().batch), rowIDs(try s2.next().batch))
    }

    /// Shards of a small corpus written by the Sharding writer (60 documents, frames of 8 sequences).
    private func writeShards(in dir: URL) throws -> URL {
        var text = ""
        for d in 0..<60 {
            for s in 0..<8 { text += (0..<(5 + (d * s) % 17)).map { "w\(($0 + d + s) % 50)" }.joined(separator: " ") + "\n" }
            text += "\n"
        }
        return try writeTestShards(text: text, words: 50, vocabularyHash: "v", in: dir, name: "data", sequencesPerFrame: 8)
    }

    func testDamagedShardStopsTheRunNamingTheShardOrIsSkippedAndCounted() throws {
        let out = try writeShards(in: try makeTemporaryDirectory(in: self))
        let index = try ShardIndex(directory: out)
        var o = options(batch: 4)
        o.heldOutFraction = 0
        // Damage every training frame's payload in the middle: the stream must stop at once.
        let victim = index.frames[index.frames.count / 2]
        let shardURL = out.appendingPathComponent(victim.shardPath)
        var bytes = try Data(contentsOf: shardURL)
        bytes[victim.offset + victim.length / 2] ^= 0xFF
        try bytes.write(to: shardURL)
        let strict = try BatchStream(index: try ShardIndex(directory: out), options: o)
        var failure: Error?
        do { for _ in 0..<500 { _ = try strict.next() } } catch { failure = error }
        let message = try XCTUnwrap(failure, "a damaged frame must stop the stream").localizedDescription + " \(failure!)"
        XCTAssertTrue(message.contains((victim.shardPath as NSString).lastPathComponent), message)
        var lenient = o
        lenient.skipCorruptFrames = true
        let stream = try BatchStream(index: try ShardIndex(directory: out), options: lenient)
        var skipped: [String] = []
        var rows = 0
        for _ in 0..<100 {
            let next = try stream.next()
            skipped += next.skippedFrames
            rows += next.batch.batchSize
        }
        XCTAssertGreaterThanOrEqual(skipped.count, 1)
        XCTAssertTrue(skipped.allSatisfy { $0.contains((victim.shardPath as NSString).lastPathComponent) }, "\(skipped)")
        XCTAssertEqual(rows, 400)
    }

    func testStreamOverRealShards() throws {
        let out = try writeShards(in: try makeTemporaryDirectory(in: self))
        let index = try ShardIndex(directory: out)
        var o = options(batch: 4)
        o.masking = MaskingOptions(maxSeqLength: 32)
        o.heldOutFraction = 0.2
        let stream = try BatchStream(index: index, options: o, expectedVocabulary: (55, "v"))
        var batches: [MaskedBatch] = []
        var positions: [StreamPosition] = []
        for _ in 0..<40 {
            let (batch, position, _) = try stream.next()
            XCTAssertTrue(batch.originalInputIDs.allSatisfy { $0 >= 0 && $0 < 55 })
            XCTAssertEqual(batch.inputIDs[0], 2, "rows start with [CLS]")
            batches.append(batch)
            positions.append(position)
        }
        // Resumed from a stored position over the same shards: the same batches.
        let resumed = try BatchStream(index: ShardIndex(directory: out), options: o, position: positions[17],
                                      expectedVocabulary: (55, "v"))
        for i in 18..<40 { XCTAssertEqual(try resumed.next().batch, batches[i], "batch \(i)") }
        // Held-out rows (token content of whole sequences) never appear in training batches.
        func rows(_ batch: MaskedBatch) -> [[Int32]] {
            let ids = batch.originalInputIDs
            return (0..<batch.batchSize).map { Array(ids[($0 * batch.seqLength)..<(($0 + 1) * batch.seqLength)]) }
        }
        let held = heldOutFrames(index, fraction: 0.2)
        XCTAssertFalse(held.isEmpty)
        let heldSequences = Set(try held.flatMap { try index.read(frame: $0) }.map(\.tokens))
        let trainSequences = Set(try (0..<index.frameCount).filter { !held.contains($0) }
            .flatMap { try index.read(frame: $0) }.map(\.tokens))
        let seen = Set(batches.flatMap(rows).map { row in row.prefix { $0 != 0 }.map { UInt32($0) } })
        XCTAssertTrue(seen.isSubset(of: trainSequences))
        XCTAssertTrue(seen.isDisjoint(with: heldSequences.subtracting(trainSequences)))
        XCTAssertThrowsError(try BatchStream(index: index, options: options(), expectedVocabulary: (56, "other")))
        var wrongLength = o
        wrongLength.masking = MaskingOptions(maxSeqLength: 64)
        XCTAssertThrowsError(try BatchStream(index: index, options: wrongLength)) {
            XCTAssertTrue("\($0)".contains("max-seq-length"), "\($0)")
        }
    }
}

