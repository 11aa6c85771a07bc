// The pre-training loop (run_pretraining.py): batches from the shard stream, one forward and
// backward of generator + discriminator, AdamW, metrics, held-out evaluation and checkpoints
// (Checkpoint.swift) in a run directory (RunDirectory.swift), resumable bit for bit.
import Batching
import Foundation
import Masking
import Model
import Randomness
import Sharding

/// Runs ELECTRA pre-training over a shard directory, writing into a run directory.
public final class Trainer {
    public let config: ElectraConfig
    public let options: TrainingOptions
    /// The run directory, locked while this trainer exists.
    public let directory: RunDirectory
    public var runDirectory: URL { directory.url }
    let index: ShardIndex
    let model: ElectraModel
    let optimizer: AdamW
    let stream: BatchStream
    let streamOptions: BatchStreamOptions
    var modelRNG: Xoshiro256
    var lastCheckpoint: String?
    var resumedWindow: MetricSums?
    /// Called with the step once a checkpoint's files are written and synced, before its
    /// directory is renamed into place: where fault injection (electra-dev crash-train, the
    /// tests) throws or kills the process, leaving an incomplete checkpoint that resuming ignores.
    public var checkpointWriteHook: ((Int) throws -> Void)?
    /// Machine facts written as a "system" record before the first step of each session
    /// (electra-train: the BLAS kernel in use and the sgemm rate, Kernels.blasReport().jsonFields).
    public var systemRecord: [String: Any] = [:]

    /// Prepares a run: a fresh model, or the newest complete checkpoint of `runDirectory` when
    /// `resume` is set (its vocabulary, configuration, batch size, seed and masking must match).
    public init(config: ElectraConfig, options: TrainingOptions, shards: URL, runDirectory: URL, resume: Bool,
                initialParameters: (tensors: [String: (shape: [Int], values: [Float])], source: String)? = nil) throws {
        index = try ShardIndex(directory: shards)
        directory = try RunDirectory(runDirectory)
        let newest = Checkpoint.complete(in: runDirectory).last
        if !resume, let newest {
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
            guard let newest else {
                throw TrainingError.noCheckpoint(directory.checkpoints.path)
            }
            let state = try Checkpoint.readState(newest)
            let facts = ShardFacts(directory: shards.path, vocabSize: index.meta.vocabSize,
                                   vocabSHA256: index.meta.vocabSHA256, maxSeqLength: index.meta.maxSeqLength)
            try checkResumable(ResumableRun(checkpoint: newest, step: state.step, config: state.config, options: state.options,
                                            vocabSize: state.vocabSize, vocabSHA256: state.vocabSHA256),
                               config: config, options: options, shards: facts)
            resumeTensors = try Checkpoint.readTensors(newest)
            resumeState = state
            resumedWindow = state.openWindow
            lastCheckpoint = newest.path
        }
        guard config.vocabSize == index.meta.vocabSize else {
            throw TrainingError.incompatible(path: shards.path, problem: "the shards use a vocabulary of \(index.meta.vocabSize) tokens, the model \(config.vocabSize); build the model for these shards")
        }
        self.config = config
        self.options = options
        model = try ElectraModel(config: config, batchSize: options.batchSize, seqLength: index.meta.maxSeqLength,
                                 maxPredictions: streamOptions.masking.maxPredictions, seed: options.seed)
        optimizer = AdamW(model: model, options: options.adamW)
        modelRNG = Xoshiro256(seed: options.seed, stream: 0x6D6F_6465_6C)   // "model"
        if resumeState == nil, let initial = initialParameters {
            try model.assignParameters(initial.tensors, source: initial.source)
        }
        if let state = resumeState, let checkpoint = lastCheckpoint {
            try Checkpoint.restore(resumeTensors, into: model, optimizer: optimizer, file: URL(fileURLWithPath: checkpoint))
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
        try directory.prepareCheckpoints()
        let start = optimizer.step
        let counts = parameterCounts
        let tokensPerStep = options.batchSize * index.meta.maxSeqLength
        report(.started([
            "model: generator \(counts.generator) parameters (hidden \(config.generatorHiddenSize), \(config.generatorLayers) layers, \(config.generatorHeads) heads), discriminator \(counts.discriminator) (hidden \(config.hiddenSize), \(config.numLayers) layers, \(config.numHeads) heads), \(counts.total) in all; embedding \(config.embeddingSize), vocabulary \(config.vocabSize)",
            "data: \(index.sequenceCount) sequences in \(index.directory.path); training \(stream.trainSequenceCount) sequences, \(stream.trainSequenceCount / options.batchSize) steps per epoch; held out \(index.sequenceCount - stream.trainSequenceCount)",
            "step: batch \(options.batchSize) x \(index.meta.maxSeqLength) = \(tokensPerStep) tokens, \(streamOptions.masking.maxPredictions) predictions per sequence; lr \(options.learningRate), warm-up \(options.warmupSteps), \(options.steps) steps, seed \(options.seed)",
        ]))
        if let last = lastCheckpoint { report(.resumed(step: start, from: last)) }
        let metrics = try directory.openMetrics(keepingUpTo: start)
        try directory.writeConfig(model: config, training: options, shards: index.directory.path, vocabSHA256: index.meta.vocabSHA256)
        if !systemRecord.isEmpty { try metrics.writeSystem(step: start, fields: systemRecord) }

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
            let result = model.step(batch, training: true, computeGradients: true, rng: &modelRNG)
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
                try metrics.write(step: step, kind: "train", values: values)
                report(.logged(step: step, values: values))
                sums = MetricSums()
                windowTokens = 0
                windowStart = now
            }
            if options.evalEvery > 0 && (step % options.evalEvery == 0 || step == options.steps) {
                let values = try evaluate()
                try metrics.write(step: step, kind: "eval", values: values)
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
            let result = model.step(batch, training: false, computeGradients: false, rng: &rng)
            sums.add(result, batch: batch, rows: rows)
        }
        return sums.values().filter { $0.0 != "gradient_norm" }
    }

    /// Writes checkpoint `step` (parameters, Adam moments, state), then keeps the newest
    /// `keepCheckpoints`.
    func saveCheckpoint(step: Int, position: StreamPosition, openWindow: MetricSums) throws -> String {
        let state = CheckpointState(step: step, config: config, options: options, vocabSize: index.meta.vocabSize,
                                    vocabSHA256: index.meta.vocabSHA256, modelRNG: modelRNG, stream: position,
                                    openWindow: openWindow.steps > 0 ? openWindow : nil)
        let final = try Checkpoint.write(to: directory.checkpoints, state: state,
                                         tensors: Checkpoint.tensors(model: model, optimizer: optimizer),
                                         beforeRename: checkpointWriteHook)
        lastCheckpoint = final.path
        Checkpoint.rotate(in: directory.url, keep: options.keepCheckpoints)
        return final.path
    }
}
