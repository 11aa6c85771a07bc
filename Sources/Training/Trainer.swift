// The pre-training loop (run_pretraining.py): batches from the shard stream, one forward and
// backward of generator + discriminator, AdamW, metrics, held-out evaluation, checkpoints with
// everything needed to resume bit for bit (parameters, Adam moments, step, RNG states, the
// stream position), written atomically.
import Batching
import Durability
import Foundation
import Masking
import Model
import Sharding

/// Settings of a training run (the electra-train options).
public struct TrainingOptions: Codable, Equatable, Sendable {
    public var steps = 1_000
    public var batchSize = 32
    public var learningRate: Float = 5e-4
    public var warmupSteps = 100
    public var seed: UInt64 = 0
    public var logEvery = 10
    public var evalEvery = 100
    public var evalBatches = 4
    public var saveEvery = 200
    public var keepCheckpoints = 3
    public var maskProbability: Float = 0.15
    public var maskTokenFraction: Float = 0.85
    public init() {}
}

/// What the trainer reports as it goes (the CLI prints it).
public enum TrainingEvent {
    case started([String])
    case resumed(step: Int, from: String)
    case logged(step: Int, values: [(String, Double)])
    case evaluated(step: Int, values: [(String, Double)])
    case checkpointed(step: Int, path: String)
    case skippedFrames([String])
    /// After every step: for a progress line (the CLI draws it on a terminal).
    case progress(step: Int, loss: Double, tokensPerSecond: Double, secondsPerStep: Double)
}

/// Training problems, each naming what to do.
public enum TrainingError: Error, CustomStringConvertible {
    case nonFinite(step: Int, what: String, lastCheckpoint: String?)
    case mismatch(String)
    case noCheckpoint(String)
    case existingRun(String, newest: String)
    case busy(String)

    public var description: String {
        switch self {
        case .nonFinite(let step, let what, let last):
            return "step \(step): the \(what) is NaN or infinite; training stopped. " +
                (last.map { "The last good checkpoint is \($0): lower --learning-rate and resume from it." }
                    ?? "No checkpoint was written yet: lower --learning-rate and start again.")
        case .mismatch(let why): return why
        case .noCheckpoint(let dir): return "\(dir): no complete checkpoint (train first; to start a run afresh, leave out --resume)"
        case .existingRun(let dir, let newest):
            return "\(dir) already holds a run (newest checkpoint \(newest)): pass --resume to continue it, or choose another --out (or delete it) to start afresh"
        case .busy(let dir):
            return "\(dir): another electra-train process is writing to this run directory; wait for it or choose another --out"
        }
    }
}

/// The state a checkpoint stores besides the tensors.
struct CheckpointState: Codable {
    var step: Int
    var config: ElectraConfig
    var options: TrainingOptions
    var vocabSize: Int
    var vocabSHA256: String
    var modelRNG: Xoshiro256
    var stream: StreamPosition
    /// Metric sums of the logging window still open at the checkpoint (so that the next line
    /// averages the same steps as an uninterrupted run's).
    var openWindow: MetricSums?

    /// Reads CHECKPOINT/state.json; an unreadable one is an error naming it and what to do.
    static func read(_ checkpoint: URL) throws -> CheckpointState {
        let url = checkpoint.appendingPathComponent("state.json")
        do {
            return try JSONDecoder().decode(CheckpointState.self, from: Data(contentsOf: url))
        } catch {
            throw TrainingError.mismatch("\(url.path): cannot be read as a checkpoint state (\(error)); delete that checkpoint directory to resume from an older one")
        }
    }
}

/// The model configuration and training options stored in the newest complete checkpoint of a
/// run directory (nil when it has none): the CLI fills the options not given on `--resume` from it.
public func resumableSettings(run: URL) throws -> (config: ElectraConfig, options: TrainingOptions, step: Int)? {
    guard let newest = Trainer.completeCheckpoints(in: run).last else { return nil }
    let state = try CheckpointState.read(newest)
    return (state.config, state.options, state.step)
}

/// Runs ELECTRA pre-training over a shard directory, writing into a run directory.
public final class Trainer {
    public let config: ElectraConfig
    public let options: TrainingOptions
    public let runDirectory: URL
    let index: ShardIndex
    let model: ElectraModel
    let optimizer: AdamW
    let stream: BatchStream
    let streamOptions: BatchStreamOptions
    var modelRNG: Xoshiro256
    var lastCheckpoint: String?
    var resumedWindow: MetricSums?
    private let lock: RunLock
    /// Fault injection for crash tests: called with the step once a checkpoint's files are written
    /// and synced, before its directory is renamed into place (a throw or SIGKILL here leaves an
    /// incomplete checkpoint behind, which resuming must ignore).
    public var checkpointWriteHook: ((Int) throws -> Void)?
    /// Machine facts written as a "system" record before the first step of each session
    /// (electra-train: the BLAS kernel in use and the sgemm rate, Kernels.blasReport().jsonFields).
    public var systemRecord: [String: Any] = [:]

    /// Prepares a run: a fresh model, or the newest complete checkpoint of `runDirectory` when
    /// `resume` is set (its configuration and vocabulary must match).
    public init(config: ElectraConfig, options: TrainingOptions, shards: URL, runDirectory: URL, resume: Bool,
                initialParameters: (tensors: [String: (shape: [Int], values: [Float])], source: String)? = nil) throws {
        index = try ShardIndex(directory: shards)
        self.runDirectory = runDirectory
        lock = try RunLock(runDirectory)
        if !resume, let newest = Trainer.completeCheckpoints(in: runDirectory).last {
            throw TrainingError.existingRun(runDirectory.path, newest: newest.lastPathComponent)
        }
        var streamOptions = BatchStreamOptions()
        streamOptions.batchSize = options.batchSize
        streamOptions.seed = options.seed
        streamOptions.masking = MaskingOptions(maskProbability: options.maskProbability,
                                               maskTokenFraction: options.maskTokenFraction,
                                               maxSeqLength: index.meta.maxSeqLength)
        self.streamOptions = streamOptions
        var resumeState: CheckpointState?
        var resumeTensors: [String: (shape: [Int], values: [Float])] = [:]
        if resume {
            guard let newest = Trainer.completeCheckpoints(in: runDirectory).last else {
                throw TrainingError.noCheckpoint(runDirectory.appendingPathComponent("checkpoints").path)
            }
            let stateURL = newest.appendingPathComponent("state.json")
            let state = try CheckpointState.read(newest)
            if state.vocabSHA256 != index.meta.vocabSHA256 || state.vocabSize != index.meta.vocabSize {
                throw TrainingError.mismatch("\(stateURL.path): the checkpoint was trained with a vocabulary of \(state.vocabSize) tokens (sha256 \(state.vocabSHA256.prefix(12))), the shards in \(shards.path) use \(index.meta.vocabSize) tokens (sha256 \(index.meta.vocabSHA256.prefix(12)))")
            }
            if state.config != config {
                throw TrainingError.mismatch("\(stateURL.path): the checkpoint's model configuration \(describe(state.config)) differs from the requested \(describe(config))")
            }
            // The stream position only means something with the batch size, seed and masking it was
            // taken with; the schedule may change (lower --learning-rate after a divergence).
            let was = state.options
            for (name, old, new) in [("--batch-size", "\(was.batchSize)", "\(options.batchSize)"),
                                     ("--seed", "\(was.seed)", "\(options.seed)"),
                                     ("--mask-prob", "\(was.maskProbability)", "\(options.maskProbability)"),
                                     ("--mask-fraction", "\(was.maskTokenFraction)", "\(options.maskTokenFraction)")] where old != new {
                throw TrainingError.mismatch("\(stateURL.path): the checkpoint was trained with \(name) \(old), the resumed run asks for \(new); resume with \(name) \(old) or start a new run in another --out")
            }
            resumeTensors = try TensorFile.read(newest.appendingPathComponent("weights.bin")).tensors
            resumeState = state
            resumedWindow = state.openWindow
            lastCheckpoint = newest.path
        }
        guard config.vocabSize == index.meta.vocabSize else {
            throw TrainingError.mismatch("the model has a vocabulary of \(config.vocabSize) tokens, the shards in \(shards.path) \(index.meta.vocabSize)")
        }
        self.config = config
        self.options = options
        model = try ElectraModel(config: config, batchSize: options.batchSize, seqLength: index.meta.maxSeqLength,
                                 maxPredictions: streamOptions.masking.maxPredictions, seed: options.seed)
        var adam = AdamWOptions()
        adam.learningRate = self.options.learningRate
        adam.warmupSteps = self.options.warmupSteps
        adam.totalSteps = self.options.steps
        optimizer = AdamW(model: model, options: adam)
        modelRNG = Xoshiro256(seed: options.seed, stream: 0x6D6F_6465_6C)   // "model"
        if resumeState == nil, let initial = initialParameters {
            try model.assignParameters(initial.tensors, source: initial.source)
        }
        if let state = resumeState, let checkpoint = lastCheckpoint {
            try model.loadParameters(resumeTensors, prefix: "param/", file: checkpoint)
            for (buffer, prefix) in [(optimizer.m, "adam_m/"), (optimizer.v, "adam_v/")] {
                for p in model.parameterTable {
                    guard let t = resumeTensors[prefix + p.name], t.values.count == p.count else {
                        throw TrainingError.mismatch("\(checkpoint): optimizer tensor \(prefix + p.name) is missing or has the wrong size")
                    }
                    _ = UnsafeMutableBufferPointer(start: buffer + p.offset, count: p.count).update(from: t.values)
                }
            }
            optimizer.step = state.step
            modelRNG = state.modelRNG
        }
        stream = try BatchStream(index: index, options: streamOptions, position: resumeState?.stream,
                                 expectedVocabulary: (config.vocabSize, index.meta.vocabSHA256))
    }

    /// Parameters of the generator and of the discriminator (shared embeddings counted in both).
    public var parameterCounts: (generator: Int, discriminator: Int, total: Int) {
        var gen = 0, disc = 0
        for p in model.parameterTable {
            if p.name.hasPrefix("generator.") { gen += p.count } else if p.name.hasPrefix("discriminator.") { disc += p.count } else { gen += p.count; disc += p.count }
        }
        return (gen, disc, model.parameterCount)
    }

    /// Runs until `options.steps`, logging, evaluating and checkpointing on the way.
    public func run(_ report: (TrainingEvent) -> Void) throws {
        let fm = FileManager.default
        let checkpoints = runDirectory.appendingPathComponent("checkpoints")
        try fm.createDirectory(at: checkpoints, withIntermediateDirectories: true)
        // Checkpoints a killed run left half-written (never renamed into place).
        for name in (try? fm.contentsOfDirectory(atPath: checkpoints.path)) ?? [] where name.hasPrefix(".step-") {
            try? fm.removeItem(at: checkpoints.appendingPathComponent(name))
        }
        let start = optimizer.step
        let counts = parameterCounts
        let tokensPerStep = options.batchSize * index.meta.maxSeqLength
        report(.started([
            "model: generator \(counts.generator) parameters (hidden \(config.generatorHiddenSize), \(config.generatorLayers) layers, \(config.generatorHeads) heads), discriminator \(counts.discriminator) (hidden \(config.hiddenSize), \(config.numLayers) layers, \(config.numHeads) heads), \(counts.total) in all; embedding \(config.embeddingSize), vocabulary \(config.vocabSize)",
            "data: \(index.sequenceCount) sequences in \(index.directory.path); training \(stream.trainSequenceCount) sequences, \(stream.trainSequenceCount / options.batchSize) steps per epoch; held out \(index.sequenceCount - stream.trainSequenceCount)",
            "step: batch \(options.batchSize) x \(index.meta.maxSeqLength) = \(tokensPerStep) tokens, \(streamOptions.masking.maxPredictions) predictions per sequence; lr \(options.learningRate), warm-up \(options.warmupSteps), \(options.steps) steps, seed \(options.seed)",
        ]))
        if let last = lastCheckpoint { report(.resumed(step: start, from: last)) }
        let metricsURL = runDirectory.appendingPathComponent("metrics.jsonl")
        try keepMetrics(upTo: start, in: metricsURL)
        let metrics = try FileHandle(forWritingTo: metricsURL)
        defer { try? metrics.close() }
        try metrics.seekToEnd()
        if !systemRecord.isEmpty { try writeSystemRecord(metrics, step: start) }
        try writeRunConfig()

        var sums = resumedWindow ?? MetricSums()
        var windowStart = DispatchTime.now().uptimeNanoseconds
        let runStart = windowStart
        var windowTokens = 0
        var totalTokens = 0
        var step = start
        while step < options.steps {
            let (batch, position, skipped) = try stream.next()
            if !skipped.isEmpty { report(.skippedFrames(skipped)) }
            model.zeroGradients()
            let result = model.step(inputs(batch), training: true, computeGradients: true, rng: &modelRNG)
            guard result.totalLoss.isFinite else {
                throw TrainingError.nonFinite(step: step + 1, what: "loss", lastCheckpoint: lastCheckpoint)
            }
            let (norm, lr) = optimizer.update(model)
            guard norm.isFinite else {
                throw TrainingError.nonFinite(step: step + 1, what: "gradient norm", lastCheckpoint: lastCheckpoint)
            }
            step += 1
            sums.add(result, batch: batch, gradientNorm: norm)
            let tokens = batch.attentionMask.reduce(0) { $0 + Int($1) }
            windowTokens += tokens
            totalTokens += tokens
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - runStart) / 1e9
            report(.progress(step: step, loss: Double(result.totalLoss), tokensPerSecond: Double(totalTokens) / max(seconds, 1e-9),
                             secondsPerStep: seconds / Double(step - start)))
            if step % options.logEvery == 0 || step == options.steps {
                let now = DispatchTime.now().uptimeNanoseconds
                var values = [("learning_rate", Double(lr))] + sums.values()
                values.append(("tokens_per_second", Double(windowTokens) / (Double(now - windowStart) / 1e9)))
                values.append(("elapsed_seconds", Double(now - runStart) / 1e9))
                try writeLine(metrics, step: step, kind: "train", values: values)
                report(.logged(step: step, values: values))
                sums = MetricSums()
                windowTokens = 0
                windowStart = now
            }
            if options.evalEvery > 0 && (step % options.evalEvery == 0 || step == options.steps) {
                let values = try evaluate()
                try writeLine(metrics, step: step, kind: "eval", values: values)
                report(.evaluated(step: step, values: values))
            }
            if (options.saveEvery > 0 && step % options.saveEvery == 0) || step == options.steps {
                let path = try saveCheckpoint(step: step, position: position, openWindow: sums)
                report(.checkpointed(step: step, path: path))
            }
        }
    }

    /// Metrics on the held-out split: dropout off, fixed masks and fixed sampling noise.
    public func evaluate() throws -> [(String, Double)] {
        var sums = MetricSums()
        var rng = Xoshiro256(seed: options.seed, stream: 0x6576_616C)   // "eval": the same every time
        for (batch, rows) in try stream.heldOutBatches(limit: options.evalBatches) {
            let result = model.step(inputs(batch), training: false, computeGradients: false, rng: &rng)
            sums.add(result, batch: batch, rows: rows)
        }
        return sums.values().filter { $0.0 != "gradient_norm" }
    }

    private func inputs(_ b: MaskedBatch) -> ElectraInputs {
        ElectraInputs(batchSize: b.batchSize, seqLength: b.seqLength, maxPredictions: b.maxPredictions,
                      inputIDs: b.inputIDs, segmentIDs: b.segmentIDs, attentionMask: b.attentionMask,
                      maskedPositions: b.maskedPositions, maskedOriginalIDs: b.maskedOriginalIDs,
                      maskedWeights: b.maskedWeights)
    }

    private func writeLine(_ handle: FileHandle, step: Int, kind: String, values: [(String, Double)]) throws {
        var line = "{\"step\":\(step),\"kind\":\"\(kind)\""
        for (k, v) in values { line += ",\"\(k)\":\(v.isFinite ? "\(v)" : "null")" }
        line += "}\n"
        try handle.write(contentsOf: Data(line.utf8))
    }

    /// {"step":S,"kind":"system",...}: the machine facts of this session (systemRecord), before its first step.
    private func writeSystemRecord(_ handle: FileHandle, step: Int) throws {
        var line = "{\"step\":\(step),\"kind\":\"system\""
        for (k, v) in systemRecord.sorted(by: { $0.key < $1.key }) {
            let value = try JSONSerialization.data(withJSONObject: v, options: [.fragmentsAllowed])
            line += ",\"\(k)\":" + String(decoding: value, as: UTF8.self)
        }
        try handle.write(contentsOf: Data((line + "}\n").utf8))
    }

    /// Keeps only the metric lines up to `step` (a killed run may have logged past its checkpoint).
    private func keepMetrics(upTo step: Int, in url: URL) throws {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            FileManager.default.createFile(atPath: url.path, contents: nil)
            return
        }
        let kept = text.split(separator: "\n").filter { line in
            guard let data = line.data(using: .utf8),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let s = object["step"] as? Int else { return false }
            return s < step || (s == step && object["kind"] as? String != "system")  // this session writes its own
        }
        try writeFileAtomically(Data((kept.joined(separator: "\n") + (kept.isEmpty ? "" : "\n")).utf8), to: url)
    }

    private func writeRunConfig() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        struct RunConfig: Codable { var model: ElectraConfig; var training: TrainingOptions; var shards: String; var vocabSHA256: String }
        let data = try encoder.encode(RunConfig(model: config, training: options, shards: index.directory.path,
                                                vocabSHA256: index.meta.vocabSHA256))
        try writeFileAtomically(data, to: runDirectory.appendingPathComponent("config.json"))
    }

    /// Writes OUT/checkpoints/step-N/ (weights.bin + state.json) into a temporary directory,
    /// fsyncs it and renames it into place; then keeps the newest `keepCheckpoints`.
    func saveCheckpoint(step: Int, position: StreamPosition, openWindow: MetricSums) throws -> String {
        let fm = FileManager.default
        let checkpoints = runDirectory.appendingPathComponent("checkpoints")
        let final = checkpoints.appendingPathComponent("step-\(step)")
        let temporary = checkpoints.appendingPathComponent(".step-\(step).tmp-\(getpid())")
        try? fm.removeItem(at: temporary)
        try fm.createDirectory(at: temporary, withIntermediateDirectories: true)
        var tensors = model.parameterTensors(prefix: "param/")
        for (buffer, prefix) in [(optimizer.m, "adam_m/"), (optimizer.v, "adam_v/")] {
            tensors += model.parameterTable.map { (prefix + $0.name, $0.shape, UnsafeBufferPointer(start: buffer + $0.offset, count: $0.count)) }
        }
        try TensorFile.write(tensors, metadata: ["step": "\(step)"], to: temporary.appendingPathComponent("weights.bin"))
        let state = CheckpointState(step: step, config: config, options: options, vocabSize: index.meta.vocabSize,
                                    vocabSHA256: index.meta.vocabSHA256, modelRNG: modelRNG, stream: position,
                                    openWindow: openWindow.steps > 0 ? openWindow : nil)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writeFileAtomically(try encoder.encode(state), to: temporary.appendingPathComponent("state.json"))
        fsyncDirectory(temporary)
        try checkpointWriteHook?(step)
        try? fm.removeItem(at: final)
        guard rename(temporary.path, final.path) == 0 else {
            throw TrainingError.mismatch("\(final.path): cannot be written: \(String(cString: strerror(errno)))")
        }
        fsyncDirectory(checkpoints)
        lastCheckpoint = final.path
        for old in Trainer.completeCheckpoints(in: runDirectory).dropLast(max(1, options.keepCheckpoints)) {
            try? fm.removeItem(at: old)
        }
        return final.path
    }

    /// Complete checkpoints (renamed into place), oldest first.
    static func completeCheckpoints(in run: URL) -> [URL] {
        let dir = run.appendingPathComponent("checkpoints")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.compactMap { name -> (Int, URL)? in
            guard name.hasPrefix("step-"), let n = Int(name.dropFirst(5)) else { return nil }
            let url = dir.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: url.appendingPathComponent("state.json").path),
                  FileManager.default.fileExists(atPath: url.appendingPathComponent("weights.bin").path) else { return nil }
            return (n, url)
        }.sorted { $0.0 < $1.0 }.map(\.1)
    }
}

/// An exclusive lock on RUN/.lock for the life of a trainer: two processes never write one run.
final class RunLock {
    private let fd: Int32

    init(_ run: URL) throws {
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        let path = run.appendingPathComponent(".lock").path
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw TrainingError.mismatch("\(path): cannot be created (\(String(cString: strerror(errno)))); check the --out directory and its permissions")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw TrainingError.busy(run.path)
        }
    }

    deinit { close(fd) }
}

private func describe(_ c: ElectraConfig) -> String {
    "(vocabulary \(c.vocabSize), embedding \(c.embeddingSize), hidden \(c.hiddenSize) x \(c.numLayers) layers, generator hidden \(c.generatorHiddenSize))"
}

/// A checkpoint read back for export or inspection.
public struct LoadedCheckpoint {
    public var path: String
    public var step: Int
    public var config: ElectraConfig
    public var vocabSHA256: String
    /// Model parameters by table name (without the "param/" prefix).
    public var parameters: [String: (shape: [Int], values: [Float])]
    /// The shard directory the run trained on (from RUN/config.json), when recorded.
    public var shards: String?
}

/// Reads checkpoint `step` (nil: the newest complete one) of a run directory.
public func loadCheckpoint(run: URL, step: Int? = nil) throws -> LoadedCheckpoint {
    let all = Trainer.completeCheckpoints(in: run)
    let chosen: URL?
    if let step { chosen = all.first { $0.lastPathComponent == "step-\(step)" } } else { chosen = all.last }
    guard let dir = chosen else {
        throw TrainingError.noCheckpoint(run.appendingPathComponent("checkpoints").path + (step.map { " (step \($0))" } ?? ""))
    }
    let state = try CheckpointState.read(dir)
    let tensors = try TensorFile.read(dir.appendingPathComponent("weights.bin")).tensors
    var parameters: [String: (shape: [Int], values: [Float])] = [:]
    for (name, t) in tensors where name.hasPrefix("param/") { parameters[String(name.dropFirst(6))] = t }
    var shards: String?
    if let data = try? Data(contentsOf: run.appendingPathComponent("config.json")),
       let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
        shards = object["shards"] as? String
    }
    return LoadedCheckpoint(path: dir.path, step: state.step, config: state.config, vocabSHA256: state.vocabSHA256,
                            parameters: parameters, shards: shards)
}
