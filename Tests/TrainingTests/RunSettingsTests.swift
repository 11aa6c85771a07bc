import Foundation
import Model
@testable import Training
import XCTest

/// `electra-train --resume`: the options left out are the run's, the schedule may change, and
/// what the weights and the stream position depend on may not.
final class RunSettingsTests: XCTestCase {
    private let shards = ShardFacts(directory: "data", vocabSize: 300, vocabSHA256: "abc", maxSeqLength: 64)

    /// A run of 40 steps of a small custom model, stopped at step 20.
    private func previousRun() throws -> ResumableRun {
        var request = TrainingRequest()
        request.preset = "tiny"; request.hiddenSize = 64; request.layers = 2
        request.steps = 40; request.batchSize = 8; request.seed = 3; request.learningRate = 2e-3; request.warmupSteps = 7
        request.logEvery = 4; request.evalEvery = 9; request.saveEvery = 6; request.keepCheckpoints = 2
        request.maskProbability = 0.2
        let fresh = try request.resolve(shards: shards, previous: nil)
        return ResumableRun(checkpoint: URL(fileURLWithPath: "/runs/r/checkpoints/step-20"), step: 20, config: fresh.config,
                            options: fresh.options, vocabSize: 300, vocabSHA256: "abc")
    }

    func testAFreshRunTakesTheDefaultsForWhatIsNotGiven() throws {
        let run = try TrainingRequest().resolve(shards: shards, previous: nil)
        var expected = TrainingOptions()
        expected.learningRate = ElectraConfig.presetLearningRate("tiny")!
        XCTAssertEqual(run.options, expected)
        XCTAssertEqual(run.options.steps, 300)
        XCTAssertEqual(run.options.warmupSteps, 100)
        XCTAssertEqual(run.options.learningRate, 5e-4)
        // The warm-up follows the steps when it is not given: a fifth, within [100, 10,000].
        for (steps, warmup) in [(100, 100), (300, 100), (1_000, 200), (4_000, 800), (100_000, 10_000)] {
            var request = TrainingRequest()
            request.steps = steps
            XCTAssertEqual(try request.resolve(shards: shards, previous: nil).options.warmupSteps, warmup, "\(steps) steps")
        }
        XCTAssertEqual(run.options.saveEvery, 100)
        XCTAssertEqual(run.preset, "tiny")
        var config = ElectraConfig.preset("tiny", vocabSize: 300)!
        config.maxPositions = 128
        XCTAssertEqual(run.config, config)
        // Another preset brings its own learning rate.
        var small = TrainingRequest()
        small.preset = "small"
        XCTAssertEqual(try small.resolve(shards: shards, previous: nil).options.learningRate, 5e-4)
    }

    func testAResumedRunKeepsItsValuesForTheOptionsLeftOut() throws {
        let previous = try previousRun()
        var request = TrainingRequest()
        request.steps = 60                 // given: more steps
        request.learningRate = 1e-3        // given: a lower learning rate after a divergence
        request.batchSize = 8              // given, the same as the run's
        let run = try request.resolve(shards: shards, previous: previous)
        XCTAssertNil(run.preset)
        XCTAssertEqual(run.config, previous.config)
        XCTAssertEqual(run.options.steps, 60)
        XCTAssertEqual(run.options.learningRate, 1e-3)
        // Left out: the run's values, not the defaults.
        XCTAssertEqual(run.options.batchSize, 8)
        XCTAssertEqual(run.options.seed, 3)
        XCTAssertEqual(run.options.warmupSteps, 7)
        XCTAssertEqual(run.options.logEvery, 4)
        XCTAssertEqual(run.options.evalEvery, 9)
        XCTAssertEqual(run.options.saveEvery, 6)
        XCTAssertEqual(run.options.keepCheckpoints, 2)
        XCTAssertEqual(run.options.maskProbability, 0.2)
        XCTAssertEqual(run.options.evalBatches, TrainingOptions.defaults.evalBatches)
        // The model options given again, equal to the run's, are accepted.
        var same = TrainingRequest()
        same.preset = "tiny"; same.hiddenSize = 64; same.layers = 2; same.steps = 50
        XCTAssertEqual(try same.resolve(shards: shards, previous: previous).config, previous.config)
    }

    func testAResumedRunRefusesChangesToWhatItsStateDependsOn() throws {
        let previous = try previousRun()
        func refused(_ change: (inout TrainingRequest) -> Void, _ fragments: [String],
                     shards: ShardFacts? = nil, file: StaticString = #filePath, line: UInt = #line) {
            var request = TrainingRequest()
            request.steps = 60
            change(&request)
            XCTAssertThrowsError(try request.resolve(shards: shards ?? self.shards, previous: previous), file: file, line: line) { error in
                for f in fragments { XCTAssertTrue("\(error)".contains(f), "\(error) lacks \(f)", file: file, line: line) }
            }
        }
        refused({ $0.batchSize = 16 }, ["step-20/state.json", "--batch-size 8", "asks for 16"])
        refused({ $0.seed = 4 }, ["--seed 3", "asks for 4"])
        refused({ $0.maskProbability = 0.15 }, ["--mask-prob 0.2"])
        refused({ $0.maskTokenFraction = 0.5 }, ["--mask-fraction 0.85"])
        refused({ $0.preset = "tiny"; $0.hiddenSize = 128 }, ["hidden 64", "differs from the requested", "hidden 128"])
        refused({ $0.preset = "small" }, ["differs from the requested"])
        refused({ _ in }, ["vocabulary of 300 tokens", "use 301 tokens"],
                shards: ShardFacts(directory: "other", vocabSize: 301, vocabSHA256: "def", maxSeqLength: 64))
        refused({ $0.steps = 20 }, ["already at step 20", "--steps above 20"])
        // No --steps: the run's 40, past its step 20: accepted.
        XCTAssertEqual(try TrainingRequest().resolve(shards: shards, previous: previous).options.steps, 40)
    }
}
