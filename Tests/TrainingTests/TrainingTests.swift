import Batching
import Corpus
import Foundation
import Model
import Sharding
import ShardTestSupport
import TestSupport
@testable import Training
import XCTest


final class TrainingTests: XCTestCase {
    /// Shards of a small synthetic corpus (40 words, 32-token sequences).
    private func makeShards(_ dir: URL, vocabHash: String = "v1") throws -> URL {
        var text = ""
        for d in 0..<80 {
            for s in 0..<6 { text += (0..<(6 + (d + s) % 9)).map { "w\(($0 * 3 + d + s) % 40)" }.joined(separator: " ") + "\n" }
            text += "\n"
        }
        return try writeTestShards(text: text, words: 40, vocabularyHash: vocabHash, in: dir, name: "data-\(vocabHash)",
                                   sequencesPerFrame: 16)
    }

    private func config() -> ElectraConfig {
        var c = ElectraConfig(vocabSize: 45, embeddingSize: 16, hiddenSize: 32, numLayers: 2, numHeads: 2,
                              generatorFraction: 0.5, maxPositions: 32)
        c.dropout = 0.1
        return c
    }

    private func options() -> TrainingOptions {
        var o = TrainingOptions()
        o.steps = 6; o.batchSize = 4; o.warmupSteps = 2; o.logEvery = 2; o.evalEvery = 3
        o.evalBatches = 2; o.saveEvery = 3; o.keepCheckpoints = 2; o.learningRate = 1e-3; o.seed = 5
        return o
    }

    /// Metric lines without the timing fields (which differ between runs by nature).
    private func metrics(_ run: URL) throws -> [String] {
        try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { line in
                var object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
                object["tokens_per_second"] = nil
                object["elapsed_seconds"] = nil
                return String(decoding: try JSONSerialization.data(withJSONObject: object, options: .sortedKeys), as: UTF8.self)
            }
    }

    func testResumeAfterACrashDuringACheckpointGivesTheSameMetrics() throws {
        let dir = try makeTemporaryDirectory(in: self)
        let shards = try makeShards(dir)
        let whole = dir.appendingPathComponent("whole")
        try Trainer(config: config(), options: options(), shards: shards, runDirectory: whole, resume: false).run { _ in }
        let expected = try metrics(whole)
        XCTAssertEqual(expected.count, 3 + 2)   // train lines at 2, 4, 6 and eval lines at 3, 6
        let first = try XCTUnwrap(expected.first)
        for field in ["step", "learning_rate", "loss", "generator_loss", "generator_accuracy", "sampled_accuracy",
                      "discriminator_loss", "discriminator_accuracy", "discriminator_auc", "discriminator_precision",
                      "discriminator_recall", "replaced_fraction", "gradient_norm"] {
            XCTAssertTrue(first.contains("\"\(field)\""), field)
        }

        // The same run, "killed" while writing its step-6 checkpoint: its files are written but the
        // directory was never renamed into place, and metrics for steps 4-6 were already logged.
        // The step-3 checkpoint lies inside the logging window of steps 3-4, so resuming must
        // restore that window's sums for the step-4 line to equal the uninterrupted one.
        let crashed = dir.appendingPathComponent("crashed")
        do {
            let trainer = try Trainer(config: config(), options: options(), shards: shards, runDirectory: crashed, resume: false)
            trainer.checkpointWriteHook = { if $0 == 6 { throw CocoaError(.fileWriteUnknown) } }
            XCTAssertThrowsError(try trainer.run { _ in })
        }
        XCTAssertEqual(Checkpoint.complete(in: crashed).map(\.lastPathComponent), ["step-3"])
        // A fresh run over it is refused (it would mix two runs' metrics); --resume continues it.
        XCTAssertThrowsError(try Trainer(config: config(), options: options(), shards: shards, runDirectory: crashed, resume: false)) {
            XCTAssertTrue("\($0)".contains("pass --resume"), "\($0)")
        }
        var resumedFrom: Int?
        try Trainer(config: config(), options: options(), shards: shards, runDirectory: crashed, resume: true).run { event in
            if case .resumed(let step, _) = event { resumedFrom = step }
        }
        XCTAssertEqual(resumedFrom, 3)
        XCTAssertEqual(try metrics(crashed), expected, "metrics after resuming differ from the uninterrupted run")
        XCTAssertEqual(Checkpoint.complete(in: crashed).map(\.lastPathComponent), ["step-3", "step-6"])
        // Same weights at the end, bit for bit.
        let a = try TensorFile.read(whole.appendingPathComponent("checkpoints/step-6/weights.bin")).tensors
        let b = try TensorFile.read(crashed.appendingPathComponent("checkpoints/step-6/weights.bin")).tensors
        XCTAssertEqual(a.count, b.count)
        for (name, t) in a { XCTAssertEqual(t.values, b[name]?.values, name) }
    }

    /// `stopRequested` (SIGINT, SIGTERM) after step 1, inside the logging window of steps 1-2 and
    /// between two checkpoints: the run checkpoints step 1 and says so; resuming gives exactly the
    /// uninterrupted metrics and weights. Not polled after the last step (the run is done).
    func testStopRequestedCheckpointsTheStepAndResumesIdentically() throws {
        let dir = try makeTemporaryDirectory(in: self)
        let shards = try makeShards(dir)
        let whole = dir.appendingPathComponent("whole")
        XCTAssertEqual(try Trainer(config: config(), options: options(), shards: shards, runDirectory: whole, resume: false).run { _ in },
                       .finished)
        let stopped = dir.appendingPathComponent("stopped")
        do {   // the trainer (and its lock on the run directory) ends with this block
            let trainer = try Trainer(config: config(), options: options(), shards: shards, runDirectory: stopped, resume: false)
            var polls = 0
            trainer.stopRequested = { polls += 1; return true }
            var checkpointed: [Int] = []
            let outcome = try trainer.run { if case .checkpointed(let step, _) = $0 { checkpointed.append(step) } }
            XCTAssertEqual(outcome, .stopped(step: 1, checkpoint: stopped.appendingPathComponent("checkpoints/step-1").path))
            XCTAssertEqual(polls, 1)
            XCTAssertEqual(checkpointed, [1])
        }
        XCTAssertEqual(Checkpoint.complete(in: stopped).map(\.lastPathComponent), ["step-1"])
        let resumed = try Trainer(config: config(), options: options(), shards: shards, runDirectory: stopped, resume: true)
        var lastPoll = 0
        resumed.stopRequested = { lastPoll += 1; return false }
        XCTAssertEqual(try resumed.run { _ in }, .finished)
        XCTAssertEqual(lastPoll, 4, "polled after steps 2-5, not after the last (6)")
        XCTAssertEqual(try metrics(stopped), try metrics(whole))
        XCTAssertEqual(try Data(contentsOf: stopped.appendingPathComponent("checkpoints/step-6/weights.bin")),
                       try Data(contentsOf: whole.appendingPathComponent("checkpoints/step-6/weights.bin")))
    }

    func testResumingWithAnotherConfigurationOrVocabularyIsAClearError() throws {
        let dir = try makeTemporaryDirectory(in: self)
        let shards = try makeShards(dir)
        let run = dir.appendingPathComponent("run")
        var short = options()
        short.steps = 3
        try Trainer(config: config(), options: short, shards: shards, runDirectory: run, resume: false).run { _ in }
        var other = config()
        other.hiddenSize = 64
        other.intermediateSize = 256
        XCTAssertThrowsError(try Trainer(config: other, options: short, shards: shards, runDirectory: run, resume: true)) {
            XCTAssertTrue("\($0)".contains("differs from the requested"), "\($0)")
        }
        let otherShards = try makeShards(dir, vocabHash: "v2")
        XCTAssertThrowsError(try Trainer(config: config(), options: short, shards: otherShards, runDirectory: run, resume: true)) {
            XCTAssertTrue("\($0)".contains("vocabulary"), "\($0)")
        }
        XCTAssertThrowsError(try Trainer(config: config(), options: short, shards: shards,
                                         runDirectory: dir.appendingPathComponent("none"), resume: true)) {
            XCTAssertTrue("\($0)".contains("no complete checkpoint"), "\($0)")
        }
    }

    func testResumeReadsTheRecordedShardsAndRefusesAnotherDataset() throws {
        let dir = try makeTemporaryDirectory(in: self)
        let shards = try makeShards(dir)
        let run = dir.appendingPathComponent("run")
        var short = options()
        short.steps = 3
        try Trainer(config: config(), options: short, shards: shards, runDirectory: run, resume: false).run { _ in }
        // --resume without --shards: the directory the run recorded (not the default data/).
        let recorded = try XCTUnwrap(try resumedShardDirectory(run: run, given: nil))
        XCTAssertEqual(URL(fileURLWithPath: recorded).standardizedFileURL.path, shards.standardizedFileURL.path)
        XCTAssertEqual(try resumedShardDirectory(run: run, given: shards.path), shards.path)
        // A copy of the same shards is the same dataset.
        let copy = dir.appendingPathComponent("copy")
        try FileManager.default.copyItem(at: shards, to: copy)
        XCTAssertEqual(try resumedShardDirectory(run: run, given: copy.path), copy.path)
        // Another corpus with the same vocabulary is refused, naming both directories.
        let other = try writeTestShards(text: (0..<200).map { "w\($0 % 40) w\(($0 * 7) % 40) w\(($0 * 3) % 40)" }.joined(separator: "\n"),
                                        words: 40, vocabularyHash: "v1", in: dir, name: "other", sequencesPerFrame: 16)
        XCTAssertThrowsError(try resumedShardDirectory(run: run, given: other.path)) {
            let message = "\($0)"
            XCTAssertTrue(message.contains("config.json") && message.contains(recorded) && message.contains(other.path)
                          && message.contains("another dataset") && message.contains("leave out --shards"), message)
        }
        // The recorded directory moved away: without --shards, say where to point --shards.
        try FileManager.default.moveItem(at: shards, to: dir.appendingPathComponent("moved"))
        XCTAssertThrowsError(try resumedShardDirectory(run: run, given: nil)) {
            XCTAssertTrue("\($0)".contains("pass --shards"), "\($0)")
        }
        XCTAssertEqual(try resumedShardDirectory(run: run, given: copy.path), copy.path, "nothing left to compare with")
        // A run without config.json records nothing.
        XCTAssertNil(try resumedShardDirectory(run: dir.appendingPathComponent("none"), given: nil))
    }

    func testShardsOfOneFrameHaveNoHeldOutSetAndLogNoEvaluation() throws {
        let dir = try makeTemporaryDirectory(in: self)
        var text = ""
        for d in 0..<6 { text += (0..<12).map { "w\(($0 * 5 + d) % 40)" }.joined(separator: " ") + "\n\n" }
        let shards = try writeTestShards(text: text, words: 40, vocabularyHash: "v1", in: dir, name: "one-frame",
                                         sequencesPerFrame: 1024)
        let run = dir.appendingPathComponent("run")
        let trainer = try Trainer(config: config(), options: options(), shards: shards, runDirectory: run, resume: false)
        XCTAssertEqual(trainer.heldOutSequenceCount, 0)
        XCTAssertNil(try trainer.evaluate(), "an evaluation over no sequence measures nothing")
        var started: [String] = [], evaluations = 0
        try trainer.run { event in
            if case .started(let lines) = event { started = lines }
            if case .evaluated = event { evaluations += 1 }
        }
        XCTAssertEqual(evaluations, 0)
        XCTAssertTrue(started.contains { $0.contains("no held-out set") && $0.contains("1 frame(s)") && $0.contains("--sequences-per-frame") },
                      started.joined(separator: "\n"))
        let lines = try metrics(run)
        XCTAssertEqual(lines.filter { $0.contains("\"kind\":\"train\"") }.count, 3)
        XCTAssertFalse(lines.contains { $0.contains("\"kind\":\"eval\"") }, lines.joined(separator: "\n"))
    }

    func testLearningRateScheduleIsTheProductOfDecayAndWarmup() {
        var o = AdamWOptions()
        o.learningRate = 1e-3; o.warmupSteps = 10; o.totalSteps = 100
        XCTAssertEqual(o.learningRate(at: 0), 0)
        XCTAssertEqual(o.learningRate(at: 5), 1e-3 * 0.95 * 0.5, accuracy: 1e-9)
        XCTAssertEqual(o.learningRate(at: 10), 1e-3 * 0.9, accuracy: 1e-9)
        XCTAssertEqual(o.learningRate(at: 100), 0)
    }

    func testAreaUnderROC() {
        XCTAssertEqual(areaUnderROC(scores: [0.1, 0.4, 0.35, 0.8], labels: [false, false, true, true]), 0.75)
        XCTAssertEqual(areaUnderROC(scores: [1, 1, 1, 1], labels: [false, true, false, true]), 0.5)
        XCTAssertEqual(areaUnderROC(scores: [3, 2, 1], labels: [true, true, false]), 1)
        XCTAssertEqual(areaUnderROC(scores: [3, 2], labels: [true, true]), 0.5)
    }

    /// --shards a=0.75,b=0.25: metrics.jsonl counts the sequences of each directory (18 and 6 of
    /// 24, Megatron's blend being exact here), and a run resumed halfway gives the same metrics.
    func testMixedShardsCountEachDirectoryAndResume() throws {
        let dir = try makeTemporaryDirectory(in: self)
        let aDir = dir.appendingPathComponent("a"), bDir = dir.appendingPathComponent("b")
        try FileManager.default.createDirectory(at: aDir, withIntermediateDirectories: true)
        let a = try makeShards(aDir)
        var text = ""
        for d in 0..<30 { text += (0..<12).map { "w\(($0 * 7 + d) % 40)" }.joined(separator: " ") + "\n\n" }
        try FileManager.default.createDirectory(at: bDir, withIntermediateDirectories: true)
        let b = try writeTestShards(text: text, words: 40, vocabularyHash: "v1", in: bDir, name: "data-b", sequencesPerFrame: 4)
        let mixture = try XCTUnwrap(try MixtureSpec.parse("\(a.path)=0.75,\(b.path)=0.25"))
        let whole = dir.appendingPathComponent("whole")
        try Trainer(config: config(), options: options(), shards: a, runDirectory: whole, resume: false, mixture: mixture).run { _ in }
        let lines = try metrics(whole)
        let train = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
            .filter { $0["kind"] as? String == "train" }
        XCTAssertEqual(train.count, 3)
        for record in train {
            let step = record["step"] as! Int
            let fromA = try XCTUnwrap(record["sequences_from_" + a.path] as? Double)
            let fromB = try XCTUnwrap(record["sequences_from_" + b.path] as? Double)
            XCTAssertEqual(Int(fromA + fromB), step * 4)
        }
        XCTAssertEqual(train.last?["sequences_from_" + a.path] as? Double, 18)
        // The run as it was at step 3: the step-6 checkpoint removed, then resumed.
        let resumed = dir.appendingPathComponent("resumed")
        try FileManager.default.copyItem(at: whole, to: resumed)
        let checkpoints = Checkpoint.complete(in: resumed)
        XCTAssertEqual(checkpoints.count, 2)
        try FileManager.default.removeItem(at: try XCTUnwrap(checkpoints.last))
        try Trainer(config: config(), options: options(), shards: a, runDirectory: resumed, resume: true, mixture: mixture).run { _ in }
        XCTAssertEqual(try metrics(resumed), lines)
        // A plain run differs (the mixture is not ignored).
        let plain = dir.appendingPathComponent("plain")
        try Trainer(config: config(), options: options(), shards: a, runDirectory: plain, resume: false).run { _ in }
        XCTAssertNotEqual(try metrics(plain), lines)
    }
}
