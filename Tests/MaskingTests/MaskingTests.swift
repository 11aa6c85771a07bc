import Masking
import Randomness
import XCTest

final class MaskingTests: XCTestCase {
    let specials = SpecialTokenIDs(pad: 0, cls: 2, sep: 3, mask: 4)

    func testPredictionSlotsAndCountRule() {
        let options = MaskingOptions()
        XCTAssertEqual(options.maxPredictions, 19)
        XCTAssertEqual(MaskingOptions(maskProbability: 0.2, maxSeqLength: 64).maxPredictions, 13)
        // max(1, min(19, round(n * 0.15))), float32 product, half to even as tf.round.
        let expected: [(Int, Int)] = [(1, 1), (3, 1), (4, 1), (10, 2), (20, 3), (30, 4) /* 4.5 -> even */, (50, 8),
                                      (100, 15), (126, 19), (128, 19), (500, 19)]
        for (n, count) in expected {
            XCTAssertEqual(options.predictionCount(tokenCount: n), count, "tokens \(n)")
        }
    }

    /// A sequence [CLS] a.. [SEP] b.. [SEP] of `length` tokens with ids >= 5.
    private func sequence(length: Int, bStart: Int, rng: inout Xoshiro256) -> [UInt32] {
        var tokens = [UInt32(specials.cls)]
        for i in 1..<(length - 1) {
            tokens.append(i == bStart - 1 ? UInt32(specials.sep) : UInt32(5 + rng.uniform(below: 1000)))
        }
        tokens.append(UInt32(specials.sep))
        return tokens
    }

    func testStatisticsOverManySequences() {
        let options = MaskingOptions()
        var masker = Masker(options: options, specials: specials)
        var rng = Xoshiro256(seed: 7)
        var data = Xoshiro256(seed: 8)
        let B = 100, L = 128, N = options.maxPredictions
        var batch = MaskedBatch(batchSize: B, seqLength: L, maxPredictions: N)
        var positionCounts = [Int](repeating: 0, count: L)
        var chosen = 0, masked = 0
        var fullLengthRows = 0
        for _ in 0..<1_000 {   // 100,000 sequences
            var originals: [[UInt32]] = []
            for row in 0..<B {
                // Half the rows are full length with segment B at 64, the rest random length.
                let full = row % 2 == 0
                let length = full ? L : 3 + data.uniform(below: L - 2)
                let bStart = full ? 64 : max(2, length / 2)
                let tokens = sequence(length: length, bStart: bStart, rng: &data)
                originals.append(tokens)
                masker.fill(&batch, row: row, tokens: tokens, segmentBStart: bStart, rng: &rng)
            }
            XCTAssertEqual(batch.originalInputIDs.count, B * L)
            for row in 0..<B {
                let tokens = originals[row]
                let candidates = tokens.filter { $0 >= 5 }.count
                let expectedCount = min(options.predictionCount(tokenCount: tokens.count), candidates)
                var count = 0
                for k in 0..<N where batch.maskedWeights[row * N + k] == 1 {
                    count += 1
                    let p = Int(batch.maskedPositions[row * N + k])
                    let original = tokens[p]
                    XCTAssertGreaterThanOrEqual(original, 5, "a special token or padding was chosen")
                    XCTAssertEqual(batch.maskedOriginalIDs[row * N + k], Int32(original))
                    let now = batch.inputIDs[row * L + p]
                    if now == specials.mask { masked += 1 } else { XCTAssertEqual(now, Int32(original)) }
                    chosen += 1
                    if row % 2 == 0 { positionCounts[p] += 1 }
                }
                XCTAssertEqual(count, expectedCount, "count rule")
                // Padding slots are zero-weighted and unmasked positions are untouched.
                for k in count..<N { XCTAssertEqual(batch.maskedWeights[row * N + k], 0) }
                if row % 2 == 0 { fullLengthRows += 1 }
            }
        }
        // [MASK] share: 0.85 within 4 standard deviations (~0.0011 for 1.4M draws).
        let share = Double(masked) / Double(chosen)
        XCTAssertEqual(share, 0.85, accuracy: 4 * (0.85 * 0.15 / Double(chosen)).squareRoot() + 1e-9)
        // Positions uniform over the 125 candidates of the full-length rows: chi-square, 124 dof.
        let candidatesPositions = (1..<127).filter { $0 != 63 }
        let total = candidatesPositions.reduce(0) { $0 + positionCounts[$1] }
        XCTAssertEqual(total, fullLengthRows * 19)
        XCTAssertEqual(positionCounts[0] + positionCounts[63] + positionCounts[127], 0)
        let expected = Double(total) / Double(candidatesPositions.count)
        let chi2 = candidatesPositions.reduce(0.0) {
            let d = Double(positionCounts[$1]) - expected
            return $0 + d * d / expected
        }
        XCTAssertLessThan(chi2, 190.0, "chi-square \(chi2) over 124 dof (p < 1e-4 above 190)")
        XCTAssertGreaterThan(chi2, 70.0, "suspiciously uniform: chi-square \(chi2) over 124 dof")
    }

    func testSameSeedSameMasksAndFreshMasksOnEachDraw() {
        let options = MaskingOptions()
        var data = Xoshiro256(seed: 1)
        let tokens = sequence(length: 100, bStart: 50, rng: &data)
        func draw(_ seed: UInt64, times: Int) -> [MaskedBatch] {
            var masker = Masker(options: options, specials: specials)
            var rng = Xoshiro256(seed: seed)
            return (0..<times).map { _ in
                var batch = MaskedBatch(batchSize: 1, seqLength: 128, maxPredictions: 19)
                masker.fill(&batch, row: 0, tokens: tokens, segmentBStart: 50, rng: &rng)
                return batch
            }
        }
        XCTAssertEqual(draw(3, times: 3), draw(3, times: 3))
        let again = draw(3, times: 2)
        XCTAssertNotEqual(again[0].maskedPositions, again[1].maskedPositions, "masks are drawn afresh")
        XCTAssertNotEqual(draw(3, times: 1), draw(4, times: 1))
    }

    func testRowLayoutSegmentsAndPadding() {
        var masker = Masker(options: MaskingOptions(maxSeqLength: 8), specials: specials)
        var rng = Xoshiro256(seed: 0)
        var batch = MaskedBatch(batchSize: 1, seqLength: 8, maxPredictions: 1)
        masker.fill(&batch, row: 0, tokens: [2, 10, 3, 11, 3] as [UInt32], segmentBStart: 3, rng: &rng)
        XCTAssertEqual(batch.segmentIDs, [0, 0, 0, 1, 1, 0, 0, 0])
        XCTAssertEqual(batch.attentionMask, [1, 1, 1, 1, 1, 0, 0, 0])
        XCTAssertEqual(batch.originalInputIDs, [2, 10, 3, 11, 3, 0, 0, 0])
        XCTAssertTrue([1, 3].contains(batch.maskedPositions[0]))
    }

    func testGeneratorIsUnbiasedAndSerializable() throws {
        var rng = Xoshiro256(seed: 99)
        var counts = [Int](repeating: 0, count: 3)
        for _ in 0..<30_000 { counts[rng.uniform(below: 3)] += 1 }
        for c in counts { XCTAssertEqual(Double(c), 10_000, accuracy: 400) }
        let saved = try JSONEncoder().encode(rng)
        var restored = try JSONDecoder().decode(Xoshiro256.self, from: saved)
        XCTAssertEqual((0..<5).map { _ in rng.next() }, (0..<5).map { _ in restored.next() })
    }
}
