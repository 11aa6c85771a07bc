// The fine-tuning loop (run_finetuning.py): epochs over the training rows in a seeded order,
// one forward + backward of the classifier per batch, the layer-wise AdamW update, the dev set
// evaluated after every epoch (metrics.jsonl), the best epoch's weights kept (best.bin), and a
// checkpoint with everything needed to resume exactly (checkpoint.bin, written atomically).
import Durability
import Foundation
import Model
import Randomness

/// What a fine-tuning run was started with (RUN/finetune.json).
public struct FineTuneSetup: Codable, Equatable {
    public var task: TaskSpec
    public var options: FineTuningOptions
    public var config: ElectraConfig
    /// The padded sequence length of every batch (the longest example, at most maxLength).
    public var seqLength: Int
    public var model: String
    public var train: String
    public var dev: String?
    public var tokenizer: TokenizerOptionsRecord

    public init(task: TaskSpec, options: FineTuningOptions, config: ElectraConfig, seqLength: Int, model: String,
                train: String, dev: String?, tokenizer: TokenizerOptionsRecord) {
        self.task = task; self.options = options; self.config = config; self.seqLength = seqLength; self.model = model
        self.train = train; self.dev = dev; self.tokenizer = tokenizer
    }

    public var numLabels: Int { task.regression ? 1 : task.labels.count }
}

/// The tokenizer options as the run records them.
public struct TokenizerOptionsRecord: Codable, Equatable {
    public var lowercase: Bool, stripAccents: Bool?, handleChineseChars: Bool
    public init(lowercase: Bool, stripAccents: Bool?, handleChineseChars: Bool) {
        self.lowercase = lowercase; self.stripAccents = stripAccents; self.handleChineseChars = handleChineseChars
    }
}

/// The loop's state a checkpoint stores besides the tensors.
struct FineTuneState: Codable {
    var step: Int
    var rng: Xoshiro256
    var bestMetric: Double?
    var bestStep: Int?
    /// The loss sum and steps of the metrics window still open (nil when it is empty), so that a
    /// run stopped inside a window and resumed writes the same next train line.
    var windowLoss: Double?
    var windowSteps: Int?
}

/// How `FineTuner.fit` ended.
public enum FineTuneOutcome: Equatable {
    case finished
    /// `stopRequested` said stop: the run stopped after `step` and checkpointed it.
    case stopped(step: Int)
}

/// What the loop reports (the CLI prints it).
public enum FineTuneEvent {
    case resumed(step: Int)
    case progress(step: Int, total: Int, loss: Double, examplesPerSecond: Double, tokensPerSecond: Double)
    case evaluated(epoch: Int, step: Int, values: [(String, Double)], best: Bool)
}

/// The order of the training rows in `epoch`: a Fisher-Yates shuffle with xoshiro256** seeded
/// by (seed, stream 0x6461_7461 + epoch) (tools/finetune_compare.py draws the same).
public func epochOrder(count: Int, seed: UInt64, epoch: Int) -> [Int] {
    var rng = Xoshiro256(seed: seed, stream: 0x6461_7461 &+ UInt64(epoch))   // "data"
    var order = Array(0..<count)
    var i = count - 1
    while i > 0 {
        let j = rng.uniform(below: i + 1)
        order.swapAt(i, j)
        i -= 1
    }
    return order
}

/// The task side of the fine-tuning loop: the model, the training rows, one training step over
/// some of them, and the evaluation of the dev set(s).
public protocol FineTuningWorkload: AnyObject {
    var model: any EncoderTaskModel { get }
    /// The number of training rows (the loop draws their order).
    var trainingRows: Int { get }
    /// One forward + backward (dropout from `rng`) over these training rows, gradients accumulated
    /// into the model's; returns the loss and the rows' tokens.
    func trainStep(_ rows: ArraySlice<Int>, rng: inout Xoshiro256) -> (loss: Float, tokens: Int)
    var hasDev: Bool { get }
    /// The dev set's metrics (dropout off).
    func evaluateDev() -> DevEvaluation
}

/// A dev evaluation: the metrics, the main one (the best epoch is chosen by it), the mean loss,
/// and values of further dev sets, already named NAME/metric.
public struct DevEvaluation {
    public var values: [(String, Double)]
    public var main: Double
    public var loss: Double
    public var extra: [(String, Double)]

    public init(values: [(String, Double)], main: Double, loss: Double, extra: [(String, Double)] = []) {
        self.values = values; self.main = main; self.loss = loss; self.extra = extra
    }
}

/// Sequence classification and regression (SequenceClassifier over `Feature`s).
public final class ClassificationWorkload: FineTuningWorkload {
    public let classifier: SequenceClassifier
    public var model: any EncoderTaskModel { classifier }
    let setup: FineTuneSetup
    let train: [Feature], dev: [Feature]
    let ids: (pad: Int32, cls: Int32, sep: Int32)
    /// Further dev sets (MNLI's mismatched one), evaluated too; their metrics are written as NAME/metric.
    public var extraDev: [(name: String, features: [Feature])] = []

    public init(setup: FineTuneSetup, train: [Feature], dev: [Feature], specialIDs: (pad: Int32, cls: Int32, sep: Int32)) throws {
        self.setup = setup
        self.train = train
        self.dev = dev
        ids = specialIDs
        var config = setup.config
        config.dropout = setup.options.dropout
        classifier = try SequenceClassifier(config: config, numLabels: setup.numLabels, batchSize: setup.options.batchSize,
                                            seqLength: setup.seqLength, seed: setup.options.seed)
    }

    public var trainingRows: Int { train.count }
    public var hasDev: Bool { !dev.isEmpty }

    public func trainStep(_ rows: ArraySlice<Int>, rng: inout Xoshiro256) -> (loss: Float, tokens: Int) {
        let batch = makeBatch(train, rows, batchSize: setup.options.batchSize, seqLength: setup.seqLength, padID: ids.pad,
                              clsID: ids.cls, sepID: ids.sep)
        let result = classifier.step(batch, training: true, computeGradients: true, rng: &rng)
        return (result.loss, rows.reduce(0) { $0 + train[$1].ids.count })
    }

    public func evaluateDev() -> DevEvaluation {
        let (values, main, loss) = evaluate(dev)
        var extra: [(String, Double)] = []
        for (name, features) in extraDev {
            let other = evaluate(features)
            for (k, v) in other.values + [("loss", other.loss)] { extra.append((name + "/" + k, v)) }
        }
        return DevEvaluation(values: values, main: main, loss: loss, extra: extra)
    }

    /// Predictions over `features` (dropout off): the metric values, the main metric and the mean
    /// loss. A feature with `unknownLabel` counts as a wrong prediction (gold class -1) and has no
    /// loss (the mean is over the others).
    public func evaluate(_ features: [Feature]) -> (values: [(String, Double)], main: Double, loss: Double) {
        let out = predict(classifier, features, seqLength: setup.seqLength, ids: ids)
        let gold = features.map { $0.unknownLabel ? -1 : Double($0.label) }
        let predicted = setup.task.regression ? out.map { Double($0[0]) } : out.map { Double(argmax($0)) }
        var loss = 0.0
        for (z, y) in zip(out, gold) where y >= 0 || setup.task.regression {
            if setup.task.regression { loss += Double((z[0] - Float(y)) * (z[0] - Float(y))) } else {
                let m = z.max()!
                let logZ = Double(m) + log(z.reduce(0.0) { $0 + Double(expf($1 - m)) })
                loss += logZ - Double(z[Int(y)])
            }
        }
        let (values, main) = taskMetrics(setup.task.metric, predictions: predicted, gold: gold)
        let withLoss = features.filter { !$0.unknownLabel }.count
        return (values, main, loss / Double(max(withLoss, 1)))
    }
}

/// Fine-tunes a task model over its training rows, writing into a run directory.
public final class FineTuner {
    public let setup: FineTuneSetup
    public let run: URL
    public let workload: any FineTuningWorkload
    public var model: any EncoderTaskModel { workload.model }
    public let optimizer: LayerwiseAdamW
    /// Further dev sets of a classification task (MNLI's mismatched one); their metrics are written as NAME/metric.
    public var extraDev: [(name: String, features: [Feature])] {
        get { (workload as? ClassificationWorkload)?.extraDev ?? [] }
        set { (workload as? ClassificationWorkload)?.extraDev = newValue }
    }
    var rng: Xoshiro256
    var bestMetric: Double?
    var bestStep: Int?
    /// The open metrics window (loss sum, steps) that `saveCheckpoint` stores.
    var openWindow: (loss: Double, steps: Int) = (0, 0)
    public var stepsPerEpoch: Int { (workload.trainingRows + setup.options.batchSize - 1) / setup.options.batchSize }
    public var totalSteps: Int { stepsPerEpoch * setup.options.epochs }

    /// A classification (or regression) run over tokenized rows; see `init(setup:run:workload:initial:resume:)`.
    public convenience init(setup: FineTuneSetup, run: URL, train: [Feature], dev: [Feature], initial: [String: (shape: [Int], values: [Float])],
                            specialIDs: (pad: Int32, cls: Int32, sep: Int32), resume: Bool) throws {
        let workload = try ClassificationWorkload(setup: setup, train: train, dev: dev, specialIDs: specialIDs)
        try self.init(setup: setup, run: run, workload: workload, initial: initial, resume: resume)
    }

    /// A fresh run from `initial` (HuggingFace names; the head's tensors may be absent: random; all
    /// absent: a randomly initialized model),
    /// or, with `resume`, the state of RUN/checkpoint.bin.
    public init(setup: FineTuneSetup, run: URL, workload: any FineTuningWorkload, initial: [String: (shape: [Int], values: [Float])],
                resume: Bool) throws {
        self.setup = setup
        self.run = run
        self.workload = workload
        let model = workload.model
        let steps = (workload.trainingRows + setup.options.batchSize - 1) / setup.options.batchSize * setup.options.epochs
        optimizer = LayerwiseAdamW(model: model, options: setup.options, totalSteps: steps)
        rng = Xoshiro256(seed: setup.options.seed, stream: 0x6472_6F70)   // "drop"
        let checkpoint = run.appendingPathComponent("checkpoint.bin")
        if resume {
            let (metadata, tensors) = try TensorFile.read(checkpoint)
            guard let json = metadata["state"], let state = try? JSONDecoder().decode(FineTuneState.self, from: Data(json.utf8)) else {
                throw ModelError.badCheckpoint(file: checkpoint.path, problem: "no fine-tuning state in its metadata")
            }
            let missing = try model.assign(tensors, prefix: "param/", source: checkpoint.path)
            guard missing.isEmpty else { throw ModelError.mismatch("\(checkpoint.path): tensor param/\(missing[0]) is missing") }
            for (buffer, prefix) in [(optimizer.m, "adam_m/"), (optimizer.v, "adam_v/")] {
                for p in model.parameterTable {
                    guard let t = tensors[prefix + p.name], t.values.count == p.count else {
                        throw ModelError.mismatch("\(checkpoint.path): optimizer tensor \(prefix + p.name) is missing or has the wrong size")
                    }
                    _ = UnsafeMutableBufferPointer(start: buffer + p.offset, count: p.count).update(from: t.values)
                }
            }
            optimizer.step = state.step
            rng = state.rng
            try dropMetricLines(after: state.step)
            bestMetric = state.bestMetric
            bestStep = state.bestStep
            openWindow = (state.windowLoss ?? 0, state.windowSteps ?? 0)
        } else if !initial.isEmpty {   // empty: every parameter random (a baseline without pre-training)
            let missing = try model.assign(initial, source: setup.model)
            if let encoderMissing = missing.first(where: { $0.hasPrefix("electra.") }) {
                throw ModelError.mismatch("\(setup.model): tensor \(encoderMissing) is missing (not an ELECTRA discriminator of this size?)")
            }
        }
    }

    /// Runs the remaining steps; `onEvent` sees progress and evaluations.
    /// A checkpoint is written after every epoch and, with `checkpointEvery` > 0, every that many
    /// steps; `stopAfter` ends the run early at that step (as an interruption would, for tests).
    /// `stopRequested` is polled after every step (electra-train: SIGINT or SIGTERM arrived): when
    /// true, the step is checkpointed (unless it just was) and the run returns `.stopped`.
    @discardableResult
    public func fit(checkpointEvery: Int = 0, stopAfter: Int? = nil, stopRequested: () -> Bool = { false },
                    onEvent: (FineTuneEvent) -> Void) throws -> FineTuneOutcome {
        let B = setup.options.batchSize
        if optimizer.step > 0 { onEvent(.resumed(step: optimizer.step)) }
        let metricsURL = run.appendingPathComponent("metrics.jsonl")
        var (windowLoss, windowSteps) = openWindow
        var windowTokens = 0, windowExamples = 0
        var windowStart = Date()
        let fitStart = Date()
        var order: (epoch: Int, rows: [Int]) = (-1, [])
        while optimizer.step < min(totalSteps, stopAfter ?? totalSteps) {
            let step = optimizer.step
            let epoch = step / stepsPerEpoch, i = step % stepsPerEpoch
            let count = workload.trainingRows
            if order.epoch != epoch { order = (epoch, epochOrder(count: count, seed: setup.options.seed, epoch: epoch)) }
            let rows = order.rows[(i * B)..<min((i + 1) * B, count)]
            model.zeroGradients()
            let result = workload.trainStep(rows, rng: &rng)
            guard result.loss.isFinite else {
                throw ModelError.mismatch("step \(step): the loss is NaN or infinite; lower --learning-rate (the last checkpoint is \(run.appendingPathComponent("checkpoint.bin").path))")
            }
            let (norm, lr) = optimizer.update(model)
            windowLoss += Double(result.loss); windowSteps += 1; windowExamples += rows.count
            windowTokens += result.tokens
            let elapsed = Date().timeIntervalSince(windowStart)
            onEvent(.progress(step: step + 1, total: totalSteps, loss: Double(result.loss),
                              examplesPerSecond: Double(windowExamples) / max(elapsed, 1e-9),
                              tokensPerSecond: Double(windowTokens) / max(elapsed, 1e-9)))
            let endOfEpoch = (step + 1) % stepsPerEpoch == 0
            if windowSteps >= 10 || endOfEpoch {
                try appendLine(metricsURL, ["step": step + 1, "kind": "train", "epoch": Double(step + 1) / Double(stepsPerEpoch),
                                            "loss": windowLoss / Double(windowSteps), "learning_rate": Double(lr),
                                            "gradient_norm": Double(norm), "examples_per_second": Double(windowExamples) / max(elapsed, 1e-9),
                                            "tokens_per_second": Double(windowTokens) / max(elapsed, 1e-9),
                                            "elapsed_seconds": Date().timeIntervalSince(fitStart)])
                windowLoss = 0; windowSteps = 0; windowTokens = 0; windowExamples = 0; windowStart = Date()
            }
            openWindow = (windowLoss, windowSteps)
            let saved = !endOfEpoch && checkpointEvery > 0 && (step + 1) % checkpointEvery == 0
            if saved { try saveCheckpoint() }
            if endOfEpoch {
                var best = false
                if workload.hasDev {
                    let evaluation = workload.evaluateDev()
                    let main = evaluation.main
                    var line: [String: Any] = ["step": step + 1, "kind": "eval", "epoch": epoch + 1, "loss": evaluation.loss, "main": main]
                    let shown = evaluation.values + [("loss", evaluation.loss)] + evaluation.extra
                    for (k, v) in evaluation.values + evaluation.extra { line[k] = v }
                    try appendLine(metricsURL, line)
                    if bestMetric == nil || main > bestMetric! {
                        bestMetric = main; bestStep = step + 1; best = true
                        try TensorFile.write(model.parameterTensors(), metadata: ["step": "\(step + 1)", "metric": "\(main)"],
                                             to: run.appendingPathComponent("best.bin"))
                    }
                    onEvent(.evaluated(epoch: epoch + 1, step: step + 1, values: shown, best: best))
                }
                try saveCheckpoint()
                if !workload.hasDev {   // without a dev set the last epoch is the one kept
                    try TensorFile.write(model.parameterTensors(), metadata: ["step": "\(step + 1)"], to: run.appendingPathComponent("best.bin"))
                }
            }
            if optimizer.step < totalSteps && stopRequested() {
                if !saved && !endOfEpoch { try saveCheckpoint() }
                return .stopped(step: optimizer.step)
            }
        }
        return .finished
    }

    /// Removes the metrics.jsonl lines of steps after `step` (written after the checkpoint a
    /// resumed run starts from; the resumed run writes them again).
    func dropMetricLines(after step: Int) throws {
        let url = run.appendingPathComponent("metrics.jsonl")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return }
        let kept = text.split(separator: "\n").filter { line in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let s = o["step"] as? Int else { return false }
            return s <= step
        }
        try writeFileAtomically(Data(kept.map { $0 + "\n" }.joined().utf8), to: url)
    }

    /// Writes RUN/checkpoint.bin: parameters, Adam moments and the loop state, atomically.
    public func saveCheckpoint() throws {
        let open = openWindow.steps > 0
        let state = FineTuneState(step: optimizer.step, rng: rng, bestMetric: bestMetric, bestStep: bestStep,
                                  windowLoss: open ? openWindow.loss : nil, windowSteps: open ? openWindow.steps : nil)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]   // the same state gives the same bytes
        let json = String(decoding: try encoder.encode(state), as: UTF8.self)
        var tensors = model.parameterTensors(prefix: "param/")
        for (base, prefix) in [(optimizer.m, "adam_m/"), (optimizer.v, "adam_v/")] {
            tensors += model.parameterTable.map { (prefix + $0.name, $0.shape, UnsafeBufferPointer(start: base + $0.offset, count: $0.count)) }
        }
        try TensorFile.write(tensors, metadata: ["state": json], to: run.appendingPathComponent("checkpoint.bin"))
    }
}

/// The logits of every feature (dropout off), in batches of the model's shape.
public func predict(_ model: SequenceClassifier, _ features: [Feature], seqLength: Int, ids: (pad: Int32, cls: Int32, sep: Int32)) -> [[Float]] {
    var rng = Xoshiro256(seed: 0)
    var out: [[Float]] = []
    let B = model.batchSize, K = model.numLabels
    var start = 0
    let all = Array(features.indices)
    while start < features.count {
        let rows = all[start..<min(start + B, features.count)]
        let batch = makeBatch(features, rows, batchSize: B, seqLength: seqLength, padID: ids.pad, clsID: ids.cls, sepID: ids.sep)
        let logits = model.step(batch, training: false, computeGradients: false, rng: &rng).logits
        for r in 0..<rows.count { out.append(Array(logits[(r * K)..<((r + 1) * K)])) }
        start += B
    }
    return out
}

public func argmax(_ x: [Float]) -> Int { x.indices.max { x[$0] < x[$1] || (x[$0] == x[$1] && $0 > $1) } ?? 0 }

/// Appends one JSON line to `url` (creating it).
func appendLine(_ url: URL, _ object: [String: Any]) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) + Data("\n".utf8)
    if !FileManager.default.fileExists(atPath: url.path) { _ = FileManager.default.createFile(atPath: url.path, contents: nil) }
    let handle = try FileHandle(forWritingTo: url)
    defer { try? handle.close() }
    try handle.seekToEnd()
    try handle.write(contentsOf: data)
}
