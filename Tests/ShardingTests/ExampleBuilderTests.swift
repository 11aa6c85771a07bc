// The packing rules of ELECTRA's ExampleBuilder on hand-made documents with fixed seeds.
import XCTest
@testable import Sharding

final class ExampleBuilderTests: XCTestCase {
    private func builder(max: Int = 128, seed: UInt64 = 0) -> ExampleBuilder {
        ExampleBuilder(maxSeqLength: max, clsID: 2, sepID: 3, random: SeededRandom(seed: seed))
    }

    /// Sentences of consecutive ids starting at `next` (ids >= 10, so never [CLS]/[SEP]).
    private func sentence(_ length: Int, _ next: inout UInt32) -> [UInt32] {
        defer { next += UInt32(length) }
        return (0..<UInt32(length)).map { next + $0 }
    }

    func testShortDocumentBecomesOneExampleWithSegmentAOnly() {
        // 3 sentences of 10 tokens: all fit under A's target (62), so A gets all, B is empty,
        // whatever the draws.
        for seed in 0..<50 as Range<UInt64> {
            var b = builder(seed: seed)
            var next: UInt32 = 10
            for _ in 0..<3 { XCTAssertNil(b.addSentence(sentence(10, &next))) }
            let ex = b.endDocument()!
            XCTAssertEqual(ex.tokens, [2] + Array(10..<40) + [3])
            XCTAssertEqual(ex.segmentBStart, 32)
            XCTAssertFalse(ex.hasSegmentB)
            XCTAssertNil(b.endDocument(), "nothing left after the document ended")
        }
    }

    func testTwoHalvesSplitIntoSegmentsAtTheExpectedRate() {
        // 50 + 50 tokens: the second sentence overflows A's target (62): it goes to A on the
        // single-segment draw (10%) or on the coin (half of the rest), else to B: B in 45%.
        var withB = 0
        let n = 4000
        for i in 0..<n {
            var b = builder(seed: UInt64(i))
            var next: UInt32 = 10
            XCTAssertNil(b.addSentence(sentence(50, &next)))
            XCTAssertNil(b.addSentence(sentence(50, &next)))
            let ex = b.endDocument()!
            XCTAssertEqual(ex.tokens.count, ex.hasSegmentB ? 103 : 102)
            if ex.hasSegmentB {
                withB += 1
                XCTAssertEqual(ex.segmentBStart, 52)
                XCTAssertEqual(Array(ex.tokens[1..<51]), Array(10..<60))
                XCTAssertEqual(ex.tokens[51], 3)
                XCTAssertEqual(Array(ex.tokens[52..<102]), Array(60..<110))
                XCTAssertFalse(ex.draws.contains(.singleSegment))
            } else {
                XCTAssertEqual(Array(ex.tokens[1..<101]), Array(10..<110))
            }
        }
        XCTAssertEqual(Double(withB) / Double(n), 0.45, accuracy: 0.03)
    }

    func testTargetReachedEmitsAndDropsOverflowAndTruncates() {
        // A 300-token sentence after a 10-token one: the example is emitted at once; A is cut to
        // max-2 or B to max-len(A)-3, so the example is exactly max long either way.
        for seed in 0..<200 as Range<UInt64> {
            var b = builder(seed: seed)
            var next: UInt32 = 10
            XCTAssertNil(b.addSentence(sentence(10, &next)))
            let ex = b.addSentence(sentence(300, &next))!
            XCTAssertEqual(ex.tokens.count, 128)
            XCTAssertEqual(ex.tokens.first, 2)
            XCTAssertEqual(ex.tokens.last, 3)
            XCTAssertEqual(Array(ex.tokens[1..<11]), Array(10..<20))
            if ex.hasSegmentB {
                XCTAssertEqual(ex.segmentBStart, 12)   // [CLS] + 10 + [SEP]
                XCTAssertEqual(Array(ex.tokens[12..<127]), Array(20..<135))
            } else {
                XCTAssertEqual(Array(ex.tokens[11..<127]), Array(20..<136))
            }
            XCTAssertEqual(b.currentLength, 0, "the overflow is dropped, not carried")
        }
    }

    func testTrueLengthDrivesTheRulesWhenIdsWereCut() {
        // The pool keeps at most max ids per line; passing the true length must give the same
        // example as passing every id.
        for seed in 0..<20 as Range<UInt64> {
            var full = builder(max: 32, seed: seed), cut = builder(max: 32, seed: seed)
            var n1: UInt32 = 10, n2: UInt32 = 10
            let s1 = sentence(7, &n1), s2 = sentence(100_005, &n1)
            _ = sentence(7, &n2)
            XCTAssertNil(full.addSentence(s1)); XCTAssertNil(cut.addSentence(s1))
            XCTAssertEqual(full.addSentence(s2), cut.addSentence(s2.prefix(32), length: s2.count))
            XCTAssertEqual(full.random.next(), cut.random.next(), "same draws consumed")
        }
    }

    func testDrawRatesAndShortTargetsOverManyExamples() {
        // One-token sentences: each example holds exactly `target` text tokens, so the short
        // targets show up in the lengths: uniform in [5, 128] plus [CLS]/[SEP]s.
        var b = builder(seed: 42)
        var examples: [PackedSequence] = []
        var next: UInt32 = 10
        while examples.count < 10_000 {
            if let ex = b.addSentence(sentence(1, &next)) { examples.append(ex) }
            if next > 1_000_000 { next = 10 }
        }
        let single = examples.filter { $0.draws.contains(.singleSegment) }
        let short = examples.filter { $0.draws.contains(.shortTarget) }
        XCTAssertEqual(Double(single.count) / 10_000, 0.10, accuracy: 0.012)
        XCTAssertEqual(Double(short.count) / 10_000, 0.05, accuracy: 0.009)
        for ex in single { XCTAssertFalse(ex.hasSegmentB) }
        for ex in examples where !ex.draws.contains(.shortTarget) {
            XCTAssertEqual(ex.tokens.count, 128, "a full target fills the sequence after truncation")
        }
        let targets = short.map { $0.tokens.count - ($0.hasSegmentB ? 3 : 2) }
        XCTAssertEqual(targets.min(), 5)
        XCTAssertGreaterThanOrEqual(targets.max()!, 120)
        XCTAssertLessThanOrEqual(targets.max()!, 126)
        let mean = Double(targets.reduce(0, +)) / Double(targets.count)
        XCTAssertEqual(mean, 66, accuracy: 6)
        // Not single: A gets sentences while they fit under (target-3)/2, then B.
        for ex in examples where !ex.draws.contains(.singleSegment) && !ex.draws.contains(.shortTarget) {
            let a = ex.segmentBStart - 2
            XCTAssertTrue(a == 61 || a == 62, "A holds \(a)")   // 61 fit under 62, the 62nd on the coin
        }
    }

    func testSameSeedSameExamplesOtherSeedOthers() {
        func run(_ seed: UInt64) -> [PackedSequence] {
            var b = builder(max: 40, seed: seed)
            var out: [PackedSequence] = []
            var rng = SeededRandom(seed: 99)
            var next: UInt32 = 10
            for i in 0..<3000 {
                if i % 17 == 16 { if let e = b.endDocument() { out.append(e) }; continue }
                if let e = b.addSentence(sentence(rng.nextInt(in: 1...25), &next)) { out.append(e) }
            }
            return out
        }
        XCTAssertEqual(run(3), run(3))
        XCTAssertNotEqual(run(3), run(4))
    }

    func testRandomIntIsUniformAndInRange() {
        var rng = SeededRandom(seed: 5)
        var counts = [Int](repeating: 0, count: 6)
        for _ in 0..<60_000 { counts[rng.nextInt(in: 5...10) - 5] += 1 }
        for c in counts { XCTAssertEqual(Double(c), 10_000, accuracy: 400) }
    }
}
