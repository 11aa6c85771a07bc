// Our training-FLOPs count against tools/flops_reference.py (a transcription of
// google-research/electra's flops_computation.py, checked against it to the last digit when it
// was written): the presets' FLOPs per step for ELECTRA and the MLM baseline, and the paper's
// ELECTRA-Small and BERT-Small totals, within 0.1%.
import Foundation
import Model
import TestSupport
import XCTest

final class FLOPsTests: XCTestCase {
    struct Fixture: Decodable {
        struct Case: Decodable {
            var preset: String, objective: String, vocab: Int, seq: Int, batch: Int
            var flops_per_step: Double
        }
        var cases: [Case]
        var paper: [String: Double]
    }

    func load() throws -> Fixture {
        try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: fixtureURL("model/flops.json")))
    }

    func testPresetsMatchTheScript() throws {
        let fixture = try load()
        XCTAssertEqual(fixture.cases.count, 6)
        for c in fixture.cases {
            var config = try XCTUnwrap(ElectraConfig.preset(c.preset, vocabSize: c.vocab))
            config.objective = try XCTUnwrap(PretrainingObjective(rawValue: c.objective))
            let ours = config.trainingFLOPsPerStep(batchSize: c.batch, sequenceLength: c.seq)
            print(String(format: "%@ %@: ours %.6e, script %.6e FLOPs per step", c.preset, c.objective, ours, c.flops_per_step))
            XCTAssertEqual(ours, c.flops_per_step, accuracy: 1e-3 * c.flops_per_step, "\(c.preset) \(c.objective)")
        }
    }

    func testPaperTotals() throws {
        let paper = try load().paper
        // ELECTRA-Small: 1M steps of 128 x 128 (the paper rounds the script's 1.29e18 to 1.4e18).
        let small = try XCTUnwrap(ElectraConfig.preset("small", vocabSize: 30522))
        let electra = small.trainingFLOPsPerStep(batchSize: 128, sequenceLength: 128) * 1e6
        XCTAssertEqual(electra, try XCTUnwrap(paper["electra_small"]), accuracy: 1e-3 * electra)
        // BERT-Small: the same encoder as a masked LM, 1.45M steps for the same compute.
        var bert = small
        bert.objective = .mlm
        let mlm = bert.trainingFLOPsPerStep(batchSize: 128, sequenceLength: 128) * 1.45e6
        XCTAssertEqual(mlm, try XCTUnwrap(paper["bert_small"]), accuracy: 1e-3 * mlm)
        // ELECTRA 15% trains the same networks as ELECTRA: the same compute.
        var fifteen = small
        fifteen.objective = .electra15
        XCTAssertEqual(fifteen.trainingFLOPsPerStep(batchSize: 128, sequenceLength: 128) * 1e6, electra)
    }

    /// The count grows with each size it depends on (a wrong formula that ignores one would not).
    func testCountDependsOnEverySize() {
        let base = TransformerFLOPs(h: 128, l: 4, s: 128, v: 1000, e: 64, i: 512, heads: 2)
        let reference = base.trainFLOPs(batchSize: 2, discriminator: false)
        for change in [\TransformerFLOPs.h, \.l, \.s, \.v, \.e, \.i, \.heads] {
            var bigger = base
            bigger[keyPath: change] += 1
            XCTAssertGreaterThan(bigger.trainFLOPs(batchSize: 2, discriminator: false), reference, "\(change)")
        }
        XCTAssertEqual(base.trainFLOPs(batchSize: 4, steps: 3, discriminator: true),
                       6 * base.trainFLOPs(batchSize: 2, discriminator: true), accuracy: 1)
    }
}
