// Training compute in a run: train_flops in metrics.jsonl (exact multiples of the step's FLOPs),
// --max-flops (the first step at or past the budget), the count kept through a resume (also
// from a checkpoint written before it was stored), --save-at-flops checkpoints surviving
// rotation; and the other objectives (mlm, electra-15) through the trainer, resumed bit for bit.
import Batching
import Foundation
import Model
import Sharding
import ShardTestSupport
import TestSupport
@testable import Training
import XCTest

final class ComputeBudgetTests: XCTestCase {
    private func makeShards(_ dir: URL) throws -> URL {
        var text = ""
        for d in 0..<80 {
            for s in 0..<6 { text += (0..<(6 + (d + s) % 9)).map { "w\(($0 * 3 + d + s) % 40)" }.joined(separator: " ") + "\n" }
            text += "\n"
        }
        return try writeTestShards(text: text, words: 40, vocabularyHash: "v1", in: dir, name: "data", sequencesPerFrame: 16)
    }

    private func config(_ objective: PretrainingObjective? = nil) -> ElectraConfig {
        var c = ElectraConfig(vocabSize: 45, embeddingSize: 16, hiddenSize: 32, numLayers: 2, numHeads: 2,
                              generatorFraction: 0.5, maxPositions: 32)
        c.objective = objective
        return c
    }

    private func options() -> TrainingOptions {
        var o = TrainingOptions()
        o.steps = 100; o.batchSize = 4; o.warmupSteps = 2; o.logEvery = 2; o.evalEvery = 0
        o.evalBatches = 1; o.saveEvery = 0; o.keepCheckpoints = 2; o.learningRate = 1e-3; o.seed = 5
        return o
    }

    /// metrics.jsonl's lines as objects, without the timing fields.
    private func lines(_ run: URL, kind: String = "train") throws -> [[String: Any]] {
        try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
            .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
            .filter { $0["kind"] as? String == kind }
            .map { var o = $0; for k in ["tokens_per_second", "elapsed_seconds", "communication_wait_seconds", "allreduce_seconds"] { o[k] = nil }; return o }
    }

    private func text(_ objects: [[String: Any]]) throws -> [String] {
        try objects.map { String(decoding: try JSONSerialization.data(withJSONObject: $0, options: .sortedKeys), as: UTF8.self) }
    }

    func testMaxFlopsStopsAtTheBudgetAndResumeKeepsTheCount() throws {
        let dir = try makeTemporaryDirectory(in: self)
        let shards = try makeShards(dir)
        let run = dir.appendingPathComponent("run")
        var o = options()
        let probe = try Trainer(config: config(), options: o, shards: shards, runDirectory: dir.appendingPathComponent("probe"), resume: false)
        let p = probe.flopsPerStep
        XCTAssertEqual(p, config().trainingFLOPsPerStep(batchSize: 4, sequenceLength: 32))
        o.maxFlops = 4.5 * p                                   // the first step at or past it: 5
        try Trainer(config: config(), options: o, shards: shards, runDirectory: run, resume: false).run { _ in }
        XCTAssertEqual(Checkpoint.complete(in: run).map(\.lastPathComponent), ["step-5"])
        let first = try lines(run)
        XCTAssertEqual(first.map { $0["step"] as? Int }, [2, 4, 5])
        XCTAssertEqual(first.map { $0["train_flops"] as? Double }, [2 * p, 4 * p, 5 * p])
        XCTAssertEqual(try Checkpoint.readState(Checkpoint.complete(in: run)[0]).trainFlops, 5 * p)

        // Resumed to a budget of exactly 7 steps: stops at 7 (at the budget), the count goes on.
        o.maxFlops = 7 * p
        try Trainer(config: config(), options: o, shards: shards, runDirectory: run, resume: true).run { _ in }
        XCTAssertEqual(try lines(run).map { $0["train_flops"] as? Double }, [2, 4, 5, 6, 7].map { $0 * p })
        // ... as an uninterrupted run to the same budget writes it, bit for bit (the lines of
        // the same steps: the stop at 5 closed a logging window the uninterrupted run keeps open).
        let whole = dir.appendingPathComponent("whole")
        try Trainer(config: config(), options: o, shards: shards, runDirectory: whole, resume: false).run { _ in }
        let same = { (l: [[String: Any]]) in try self.text(l.filter { [2, 4, 7].contains($0["step"] as? Int ?? 0) }) }
        XCTAssertEqual(try same(try lines(whole)).count, 3)
        XCTAssertEqual(try same(try lines(whole)), try same(try lines(run)))
        XCTAssertEqual(try Data(contentsOf: whole.appendingPathComponent("checkpoints/step-7/weights.bin")),
                       try Data(contentsOf: run.appendingPathComponent("checkpoints/step-7/weights.bin")))

        // A checkpoint written before the count was stored: step x FLOPs per step.
        let newest = try XCTUnwrap(Checkpoint.complete(in: run).last)
        let stateURL = newest.appendingPathComponent(Checkpoint.stateName)
        var state = try JSONSerialization.jsonObject(with: Data(contentsOf: stateURL)) as! [String: Any]
        XCTAssertNotNil(state.removeValue(forKey: "trainFlops"))
        try JSONSerialization.data(withJSONObject: state).write(to: stateURL)
        o.maxFlops = 8 * p
        try Trainer(config: config(), options: o, shards: shards, runDirectory: run, resume: true).run { _ in }
        XCTAssertEqual(try lines(run).last?["train_flops"] as? Double, 8 * p)
        XCTAssertEqual(try lines(run).last?["step"] as? Int, 8)
    }

    /// --max-flops without --steps: the run's steps are the budget's (the learning rate decays to 0
    /// there); with --steps, the steps given. --objective goes into the model configuration
    /// (electra as nil, so ELECTRA runs' files stay as they were).
    func testBudgetSetsTheStepsAndTheObjectiveTheModel() throws {
        XCTAssertEqual(stepsForBudget(10, perStep: 2), 5)
        XCTAssertEqual(stepsForBudget(10.5, perStep: 2), 6)
        XCTAssertEqual(stepsForBudget(0.1, perStep: 2), 1)
        XCTAssertEqual(stepsForBudget(3e15, perStep: 8.681740236800e10), 34556)
        let shards = ShardFacts(directory: "data", vocabSize: 300, vocabSHA256: "abc", maxSeqLength: 64)
        var request = TrainingRequest()
        request.objective = .mlm
        request.maxFlops = 1e13
        request.saveAtFlops = [5e12, 1e12]
        let run = try request.resolve(shards: shards, previous: nil)
        XCTAssertEqual(run.config.objective, .mlm)
        let perStep = run.config.trainingFLOPsPerStep(batchSize: run.options.batchSize, sequenceLength: 64)
        XCTAssertEqual(run.options.steps, Int((1e13 / perStep).rounded(.up)))
        XCTAssertEqual(run.options.saveAtFlops, [1e12, 5e12])
        request.steps = 7
        XCTAssertEqual(try request.resolve(shards: shards, previous: nil).options.steps, 7)
        request.objective = .electra
        XCTAssertNil(try request.resolve(shards: shards, previous: nil).config.objective)
    }

    /// A masked-LM step in 2 micro-batches is the step of the whole batch (the 80/10/10 draw and
    /// the dropout keyed by the global row; the loss normalised by the whole batch's count).
    func testMaskedLMMicroBatchesGiveTheWholeBatchsStep() throws {
        let dir = try makeTemporaryDirectory(in: self)
        let shards = try makeShards(dir)
        var o = options()
        o.steps = 4
        var runs: [[[String: Any]]] = []
        for k in [1, 2] {
            var parallel = ParallelOptions()
            parallel.accumulate = k
            let run = dir.appendingPathComponent("k\(k)")
            try Trainer(config: config(.mlm), options: o, shards: shards, runDirectory: run, resume: false,
                        parallel: parallel).run { _ in }
            runs.append(try lines(run))
        }
        XCTAssertEqual(runs[0].count, 2)
        for (a, b) in zip(runs[0], runs[1]) {
            for key in ["loss", "generator_accuracy", "gradient_norm"] {
                let x = try XCTUnwrap(a[key] as? Double), y = try XCTUnwrap(b[key] as? Double)
                XCTAssertEqual(x, y, accuracy: 1e-4 * max(1, abs(x)), key)
            }
        }
    }

    func testSaveAtFlopsCheckpointsSurviveRotation() throws {
        let dir = try makeTemporaryDirectory(in: self)
        let shards = try makeShards(dir)
        let run = dir.appendingPathComponent("run")
        var o = options()
        o.steps = 9; o.saveEvery = 2; o.keepCheckpoints = 1
        let p = config().trainingFLOPsPerStep(batchSize: 4, sequenceLength: 32)
        o.saveAtFlops = [2.5 * p, 5 * p]                        // kept at steps 3 and 5
        try Trainer(config: config(), options: o, shards: shards, runDirectory: run, resume: false).run { _ in }
        let left = Checkpoint.complete(in: run)
        XCTAssertEqual(left.map(\.lastPathComponent), ["step-3", "step-5", "step-9"])
        XCTAssertEqual(left.map(Checkpoint.isKept), [true, true, false])
        XCTAssertEqual(try Checkpoint.readState(left[0]).trainFlops, 3 * p)
        let note = try String(contentsOf: left[1].appendingPathComponent(Checkpoint.keptName), encoding: .utf8)
        XCTAssertTrue(note.contains("--save-at-flops"), note)
    }

    /// mlm and electra-15 train through the trainer, log their own metrics, and resume exactly.
    func testOtherObjectivesTrainAndResumeExactly() throws {
        let dir = try makeTemporaryDirectory(in: self)
        let shards = try makeShards(dir)
        for objective in [PretrainingObjective.mlm, .electra15] {
            var o = options()
            o.steps = 6; o.saveEvery = 3; o.evalEvery = 3
            let whole = dir.appendingPathComponent("whole-\(objective.rawValue)")
            let trainer = try Trainer(config: config(objective), options: o, shards: shards, runDirectory: whole, resume: false)
            var header: [String] = []
            try trainer.run { if case .started(let l) = $0 { header = l } }
            XCTAssertTrue(header.contains { $0.contains("training FLOPs per step") }, "\(header)")
            let train = try lines(whole)
            XCTAssertEqual(train.count, 3)
            XCTAssertEqual(train.last?["train_flops"] as? Double, 6 * trainer.flopsPerStep)
            let losses = train.compactMap { $0["loss"] as? Double }
            XCTAssertEqual(losses.count, 3)
            XCTAssertTrue(losses.allSatisfy(\.isFinite))
            if objective == .mlm {
                XCTAssertNil(train[0]["discriminator_loss"], "a masked LM has no replaced-token metrics")
                XCTAssertEqual(train[0]["loss"] as? Double, train[0]["generator_loss"] as? Double)
                XCTAssertNotNil(try lines(whole, kind: "eval").first?["discriminator_spread"])
                XCTAssertLessThan(trainer.flopsPerStep, config().trainingFLOPsPerStep(batchSize: 4, sequenceLength: 32))
                XCTAssertTrue(trainer.model.parameterTable.allSatisfy { !$0.name.hasPrefix("generator.") })
            } else {
                XCTAssertNotNil(train[0]["discriminator_auc"])
                XCTAssertEqual(trainer.flopsPerStep, config().trainingFLOPsPerStep(batchSize: 4, sequenceLength: 32))
            }
            // Stopped by a budget of 3 steps and resumed without it: the same weights, eval lines
            // and last train line as the whole run (the stop closed the logging window of 3-4).
            let split = dir.appendingPathComponent("split-\(objective.rawValue)")
            var first = o
            first.maxFlops = 3 * trainer.flopsPerStep
            try Trainer(config: config(objective), options: first, shards: shards, runDirectory: split, resume: false).run { _ in }
            XCTAssertEqual(Checkpoint.complete(in: split).map(\.lastPathComponent), ["step-3"])
            try Trainer(config: config(objective), options: o, shards: shards, runDirectory: split, resume: true).run { _ in }
            XCTAssertEqual(try text(try lines(split)).suffix(1), try text(try lines(whole)).suffix(1), objective.rawValue)
            XCTAssertEqual(try text(try lines(split, kind: "eval")), try text(try lines(whole, kind: "eval")), objective.rawValue)
            XCTAssertEqual(try Data(contentsOf: whole.appendingPathComponent("checkpoints/step-6/weights.bin")),
                           try Data(contentsOf: split.appendingPathComponent("checkpoints/step-6/weights.bin")), objective.rawValue)
            // Another objective on resume is refused, naming both configurations.
            XCTAssertThrowsError(try Trainer(config: config(), options: o, shards: shards, runDirectory: split, resume: true)) {
                XCTAssertTrue("\($0)".contains("objective \(objective.rawValue)"), "\($0)")
            }
        }
    }
}
