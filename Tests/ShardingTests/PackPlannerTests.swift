// PackPlanner + FramePlan.assemble (the packing split between the packing thread and the
// workers) against ExampleBuilder: the same examples, draws and random stream, on random
// documents with long, empty and short sentences, sentences spread over several blocks.
import XCTest
@testable import Sharding

final class PackPlannerTests: XCTestCase {
    func testPlannedExamplesEqualExampleBuilder() {
        for seed in 0..<60 as Range<UInt64> {
            var lengthRandom = SeededRandom(seed: 1000 + seed)
            let maxSeq = [5, 8, 16, 128][Int(seed % 4)]
            var builder = ExampleBuilder(maxSeqLength: maxSeq, clsID: 2, sepID: 3, random: SeededRandom(seed: seed, stream: 7))
            var planner = PackPlanner(maxSeqLength: maxSeq, random: SeededRandom(seed: seed, stream: 7))
            var plan = FramePlan(clsID: 2, sepID: 3)
            var expected: [PackedSequence] = []
            var plannedTokens: [Int] = []
            var next: UInt32 = 10
            for _ in 0..<40 {   // blocks
                var ids: [UInt32] = []
                let serial = plan.blocks.count
                var lines: [(ref: SentenceRef, length: Int)?] = []
                for _ in 0..<lengthRandom.nextInt(in: 1...30) {
                    if lengthRandom.nextInt(in: 0...9) == 0 { lines.append(nil); continue }   // blank line
                    // Mostly short sentences, some empty, some far longer than maxSeq.
                    let length = [0, 1, 3, 7, 20, 60, 300][lengthRandom.nextInt(in: 0...6)]
                    let kept = min(length, maxSeq)
                    lines.append((SentenceRef(block: serial, start: ids.count, count: kept), length))
                    ids += (0..<UInt32(kept)).map { next + $0 }
                    next += UInt32(kept)
                }
                plan.blocks.append(ids)
                for line in lines {
                    if let (ref, length) = line {
                        let slice = plan.blocks[serial][ref.start..<ref.start + ref.count]
                        if let e = builder.addSentence(slice, length: length) { expected.append(e) }
                        planner.addSentence(ref, length: length)
                        while let n = planner.takeReady(into: &plan) { plannedTokens.append(n) }
                    } else {
                        if let e = builder.endDocument() { expected.append(e) }
                        planner.endDocument()
                        while let n = planner.takeReady(into: &plan) { plannedTokens.append(n) }
                    }
                }
            }
            if let e = builder.endDocument() { expected.append(e) }
            planner.endDocument()
            while let n = planner.takeReady(into: &plan) { plannedTokens.append(n) }
            XCTAssertGreaterThan(expected.count, 10)
            XCTAssertEqual(plan.assemble(), expected, "seed \(seed), max \(maxSeq)")
            XCTAssertEqual(plannedTokens, expected.map(\.tokens.count))
            XCTAssertEqual(planner.random.next(), builder.random.next(), "the same draws were made")
        }
    }
}
