// The fine-tuning loop: it learns a task a tiny model can learn, and a run interrupted after an
// epoch and resumed ends with exactly the weights of an uninterrupted one.
import FineTuning
import Foundation
import Model
import TestSupport
import XCTest

final class FineTunerTests: XCTestCase {
    /// Rows of 3..6 tokens from 5..<20; the label is whether token 7 occurs.
    private func features(_ count: Int, seed: Int) -> [Feature] {
        var x = UInt64(seed + 1)
        func next(_ n: Int) -> Int { x = x &* 6364136223846793005 &+ 1442695040888963407; return Int((x >> 33) % UInt64(n)) }
        return (0..<count).map { i in
            var body = (0..<(3 + next(4))).map { _ in Int32(8 + next(12)) }
            if i % 2 == 0 { body[next(body.count)] = 7 }
            return Feature(ids: [2] + body + [3], segments: [Int32](repeating: 0, count: body.count + 2), label: i % 2 == 0 ? 1 : 0)
        }
    }

    private func setup(epochs: Int) -> FineTuneSetup {
        var config = ElectraConfig(vocabSize: 20, embeddingSize: 16, hiddenSize: 16, numLayers: 1, numHeads: 2,
                                   intermediateSize: 32, maxPositions: 16)
        config.generatorHiddenSize = 1; config.generatorHeads = 1; config.generatorIntermediateSize = 1
        var options = FineTuningOptions()
        options.learningRate = 3e-3
        options.batchSize = 16
        options.epochs = epochs
        options.seed = 5
        let task = TaskSpec(name: "custom", format: .tsv, hasHeader: true, text: .name("text"), textPair: nil, label: .name("label"),
                            labels: ["0", "1"], regression: false, metric: .accuracy)
        return FineTuneSetup(task: task, options: options, config: config, seqLength: 8, model: "random", train: "train",
                             dev: "dev", tokenizer: TokenizerOptionsRecord(lowercase: true, stripAccents: nil, handleChineseChars: true))
    }

    private func tuner(_ setup: FineTuneSetup, _ run: URL, resume: Bool = false) throws -> FineTuner {
        try FineTuner(setup: setup, run: run, train: features(96, seed: 1), dev: features(40, seed: 2), initial: [:],
                      specialIDs: (0, 2, 3), resume: resume)
    }

    func testLearnsATokenDetectionTask() throws {
        let run = try makeTemporaryDirectory("finetune-learn", in: self)
        let t = try tuner(setup(epochs: 12), run)
        var accuracies: [Double] = []
        try t.fit { if case .evaluated(_, _, let values, _) = $0 { accuracies.append(values[0].1) } }
        XCTAssertEqual(accuracies.count, 12)
        XCTAssertGreaterThan(accuracies.last!, 0.9, "dev accuracy by epoch: \(accuracies)")
        let lines = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.filter { $0.contains("\"kind\":\"eval\"") }.count, 12)
        XCTAssertTrue(FileManager.default.fileExists(atPath: run.appendingPathComponent("best.bin").path))
    }

    func testDevRowsOfAnUnknownLabelCountAsWrongWithoutLoss() throws {
        let t = try tuner(setup(epochs: 1), try makeTemporaryDirectory("finetune-unknown", in: self))
        let dev = features(40, seed: 2)
        let unknown = features(10, seed: 3).map { Feature(ids: $0.ids, segments: $0.segments, label: 0, unknownLabel: true) }
        let workload = try XCTUnwrap(t.workload as? ClassificationWorkload)
        let known = workload.evaluate(dev), all = workload.evaluate(dev + unknown)
        XCTAssertEqual(all.main, known.main * 40 / 50, accuracy: 1e-12, "10 more rows, all wrong")
        XCTAssertEqual(all.loss, known.loss, accuracy: 1e-9, "the dev loss is over the rows with a class")
    }

    /// The data order tools/finetune_compare.py reproduces for the PyTorch side (values from its port).
    func testEpochOrderIsTheComparisonScriptsOrder() {
        XCTAssertEqual(epochOrder(count: 10, seed: 1, epoch: 0), [4, 0, 1, 5, 9, 7, 3, 2, 6, 8])
        XCTAssertEqual(epochOrder(count: 7, seed: 5, epoch: 2), [0, 4, 3, 2, 6, 1, 5])
    }

    func testResumedRunEqualsUninterruptedRun() throws {
        let a = try makeTemporaryDirectory("finetune-a", in: self), b = try makeTemporaryDirectory("finetune-b", in: self)
        let s = setup(epochs: 2)
        let whole = try tuner(s, a)
        try whole.fit { _ in }
        let first = try tuner(s, b)
        try first.fit(stopAfter: first.stepsPerEpoch + 2) { _ in }   // stops mid-epoch; the checkpoint is the epoch's
        let resumed = try tuner(s, b, resume: true)
        XCTAssertEqual(resumed.optimizer.step, first.stepsPerEpoch)
        try resumed.fit { _ in }
        let pa = Array(UnsafeBufferPointer(start: whole.model.parameters, count: whole.model.parameterCount))
        let pb = Array(UnsafeBufferPointer(start: resumed.model.parameters, count: resumed.model.parameterCount))
        XCTAssertEqual(pa, pb, "the resumed run's weights differ from the uninterrupted run's")
        func evals(_ run: URL) throws -> [String] {
            try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
                .filter { $0.contains("\"kind\":\"eval\"") }.map(String.init)
        }
        XCTAssertEqual(try evals(a), try evals(b))
    }

    /// A stop on request (SIGINT, SIGTERM) inside an epoch and inside a metrics window: the step is
    /// checkpointed with the window's sums, and the resumed run writes exactly the uninterrupted
    /// run's checkpoint and metrics (timing fields aside).
    func testStopRequestedMidWindowResumesIdentically() throws {
        let a = try makeTemporaryDirectory("finetune-stop-a", in: self), b = try makeTemporaryDirectory("finetune-stop-b", in: self)
        let s = setup(epochs: 2)
        try tuner(s, a).fit { _ in }
        let first = try tuner(s, b)
        var polls = 0
        let outcome = try first.fit(stopRequested: { polls += 1; return polls == 3 }) { _ in }
        XCTAssertEqual(outcome, .stopped(step: 3))
        let resumed = try tuner(s, b, resume: true)
        XCTAssertEqual(resumed.optimizer.step, 3, "the stop's step was checkpointed")
        XCTAssertEqual(try resumed.fit { _ in }, .finished)
        XCTAssertEqual(try Data(contentsOf: a.appendingPathComponent("checkpoint.bin")),
                       try Data(contentsOf: b.appendingPathComponent("checkpoint.bin")))
        func lines(_ run: URL) throws -> [[String: Double]] {
            try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n").map { line in
                var o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                for timing in ["examples_per_second", "tokens_per_second", "elapsed_seconds"] { o[timing] = nil }
                return o.compactMapValues { ($0 as? NSNumber)?.doubleValue }
            }
        }
        let expected = try lines(a)
        XCTAssertEqual(expected.count, 4, "a train and an eval line an epoch")
        XCTAssertEqual(try lines(b), expected, "the train line of the window the stop cut must average the same steps")
    }
}
