// The pre-training loop (run_pretraining.py): batches from the shard stream, one forward and
// backward of generator + discriminator, AdamW, metrics, held-out evaluation and checkpoints
// (Checkpoint.swift) in a run directory (RunDirectory.swift), resumable bit for bit. Under
// mpirun each rank computes its share of every global batch (DataParallel.swift); rank 0 alone
// writes the run directory.
import Batching
import Distributed
import Foundation
import Masking
import Model
import Randomness
import Sharding

/// Runs ELECTRA pre-training over a shard directory, writing into a run directory.
public final class Trainer {
    public let config: ElectraConfig
    public let options: TrainingOptions
    /// The run directory, locked while this trainer exists (rank 0's; nil on the other ranks,
    /// which write nothing).
    public let directory: RunDirectory?
    public let runDirectory: URL
    public let parallel: ParallelOptions
    var communicator: Communicator { parallel.communicator }
    /// Rows of the global batch each rank computes, and of each micro-batch.
    let rowsPerRank: Int, rowsPerMicroBatch: Int
    let reducer: GradientReducer
    let accumulator: GradientAccumulator?
    let index: ShardIndex
    let model: ElectraModel
    let optimizer: AdamW
    let stream: BatchStream
    let streamOptions: BatchStreamOptions
    var lastCheckpoint: String?
    var resumedWindow: MetricSums?
    /// Training FLOPs of one step of the global batch, as the paper counts them.
    public let flopsPerStep: Double
    /// Training FLOPs up to the step the run starts from (the checkpoint's).
    var startFlops = 0.0
    /// The mixed shard directories (`--shards a=0.7,b=0.3`), in order; empty for one directory.
    var mixtureNames: [String] = []
    var mixtureWeights: [Double] = []
    /// Sequences in the shard directory, or in all the mixed ones.
    var dataSequenceCount = 0
    /// Called with the step once a checkpoint's files are written and synced, before its
    /// directory is renamed into place: where fault injection (electra-dev crash-train, the
    /// tests) throws or kills the process, leaving an incomplete checkpoint that resuming ignores.
    public var checkpointWriteHook: ((Int) throws -> Void)?
    /// Machine facts written as a "system" record before the first step of each session
    /// (electra-train: the BLAS kernel in use and the sgemm rate, Kernels.blasReport().jsonFields).
    public var systemRecord: [String: Any] = [:]
    /// Called on this rank after the update of each step with the step and the parameters: where
    /// fault injection (electra-dev diverge-train) makes one rank's parameters differ.
    public var afterUpdateHook: ((Int, UnsafeMutableBufferPointer<Float>) -> Void)?
    /// Polled after every step (electra-train: SIGINT or SIGTERM arrived). When it is true on any
    /// rank, every rank stops after that step (the ranks agree through a sum), rank 0 writing a
    /// checkpoint of it first, and `run` returns `.stopped`.
    public var stopRequested: () -> Bool = { false }

    /// Prepares a run: a fresh model, or the newest complete checkpoint of `runDirectory` when
    /// `resume` is set (its vocabulary, configuration, batch size, seed and masking must match).
    /// With several ranks (`parallel.communicator`), each computes batchSize / ranks rows per
    /// step in `parallel.accumulate` micro-batches, and rank 0's parameters (and moments) are
    /// broadcast to the others before the first step.
    public init(config: ElectraConfig, options: TrainingOptions, shards: URL, runDirectory: URL, resume: Bool,
                initialParameters: (tensors: [String: (shape: [Int], values: [Float])], source: String)? = nil,
                parallel: ParallelOptions = ParallelOptions(), mixture: MixtureSpec? = nil) throws {
        let ranks = parallel.communicator.size, K = parallel.accumulate
        guard K >= 1, options.batchSize % (ranks * K) == 0 else {
            throw TrainingError.split("--batch-size \(options.batchSize) cannot be split into \(ranks) rank(s) x \(K) micro-batch(es) of equal rows: choose a batch size that is a multiple of \(ranks * max(K, 1))")
        }
        self.parallel = parallel
        rowsPerRank = options.batchSize / ranks
        rowsPerMicroBatch = rowsPerRank / K
        index = try ShardIndex(directory: shards)
        self.runDirectory = runDirectory
        directory = parallel.communicator.isRoot ? try RunDirectory(runDirectory) : nil
        let newest = Checkpoint.complete(in: runDirectory).last
        if !resume, let newest {
            throw TrainingError.existingRun(runDirectory.path, newest: newest.lastPathComponent)
        }
        let streamOptions = options.batchStreamOptions(meta: index.meta)
        self.streamOptions = streamOptions
        var resumeState: CheckpointState?
        var resumeTensors: [String: (shape: [Int], values: [Float])] = [:]
        if resume {
            guard let newest else {
                if !parallel.communicator.isRoot {
                    throw TrainingError.io(path: runDirectory.path, failure: "rank \(parallel.communicator.rank) sees no complete checkpoint there",
                                           remedy: "on --resume every rank reads the run directory: put --out on storage all nodes share, or copy the run directory to each node")
                }
                throw TrainingError.noCheckpoint(runDirectory.appendingPathComponent("checkpoints").path)
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
        flopsPerStep = config.trainingFLOPsPerStep(batchSize: options.batchSize, sequenceLength: index.meta.maxSeqLength)
        if let state = resumeState { startFlops = state.trainFlops ?? Double(state.step) * flopsPerStep }
        model = try ElectraModel(config: config, batchSize: rowsPerMicroBatch, seqLength: index.meta.maxSeqLength,
                                 maxPredictions: streamOptions.masking.maxPredictions, seed: options.seed)
        optimizer = AdamW(model: model, options: options.adamW)
        reducer = GradientReducer(communicator: parallel.communicator, overlap: parallel.overlap)
        accumulator = K > 1 ? GradientAccumulator(count: model.parameterCount) : nil
        if resumeState == nil, let initial = initialParameters {
            try model.assignParameters(initial.tensors, source: initial.source)
        }
        if let state = resumeState, let checkpoint = lastCheckpoint {
            try Checkpoint.restore(resumeTensors, into: model, optimizer: optimizer, file: URL(fileURLWithPath: checkpoint))
            optimizer.step = state.step
        }
        if ranks > 1 {   // every rank starts from rank 0's numbers
            let n = model.parameterCount
            for buffer in [model.parameters, optimizer.m, optimizer.v] {
                try parallel.communicator.broadcast(UnsafeMutableBufferPointer(start: buffer, count: n), root: 0)
            }
        }
        if let mixture {
            mixtureNames = mixture.sources.map(\.path)
            mixtureWeights = normalizedWeights(mixture.sources.map(\.weight))
            let index = self.index
            var total = 0
            let sources = try mixture.sources.map { source -> MixtureSource in
                let other = try ShardIndex(directory: URL(fileURLWithPath: source.path))
                let (a, b) = (index.meta, other.meta)
                if a.vocabSHA256 != b.vocabSHA256 || a.maxSeqLength != b.maxSeqLength
                    || [a.padID, a.clsID, a.sepID, a.maskID] != [b.padID, b.clsID, b.sepID, b.maskID] {
                    throw TrainingError.incompatible(path: source.path, problem: "mixed shard directories must share the vocabulary (sha256 \(b.vocabSHA256.prefix(12)) here, \(a.vocabSHA256.prefix(12)) in \(index.directory.path)) and the sequence length (\(b.maxSeqLength) here, \(a.maxSeqLength) there); shard them with the same vocabulary and --max-seq-length")
                }
                total += other.sequenceCount
                return MixtureSource(name: source.path, frames: other, weight: source.weight)
            }
            dataSequenceCount = total
            stream = try BatchStream(mixture: sources, options: streamOptions, position: resumeState?.stream)
        } else {
            dataSequenceCount = index.sequenceCount
            stream = try BatchStream(index: index, options: streamOptions, position: resumeState?.stream,
                                     expectedVocabulary: (config.vocabSize, index.meta.vocabSHA256))
        }
    }

    /// Parameters of the generator and of the discriminator (shared embeddings counted in both).
    public var parameterCounts: (generator: Int, discriminator: Int, total: Int) {
        var gen = 0, disc = 0
        for p in model.parameterTable {
            if p.name.hasPrefix("generator.") { gen += p.count } else if p.name.hasPrefix("discriminator.") { disc += p.count } else { gen += p.count; disc += p.count }
        }
        return (gen, disc, model.parameterCount)
    }

    /// How `run` ended.
    public enum Outcome: Equatable {
        /// All `options.steps` were done.
        case finished
        /// `stopRequested` said stop: the run stopped after `step`, checkpointed in `checkpoint`
        /// (rank 0's path; "" on the other ranks).
        case stopped(step: Int, checkpoint: String)
    }

    /// Runs until `options.steps` (or until `stopRequested`), logging, evaluating and
    /// checkpointing on the way.
    @discardableResult
    public func run(_ emit: (TrainingEvent) -> Void) throws -> Outcome {
        let isRoot = communicator.isRoot
        func report(_ event: TrainingEvent) { if isRoot { emit(event) } }   // rank 0 alone reports
        try directory?.prepareCheckpoints()
        let start = optimizer.step
        let counts = parameterCounts
        func n(_ count: Int, _ noun: String) -> String { "\(count) \(noun)\(count == 1 ? "" : "s")" }   // "1 head", "4 heads"
        let tokensPerStep = options.batchSize * index.meta.maxSeqLength
        let heldOut = heldOutSequenceCount
        let modelLine = config.trainingObjective == .mlm
            ? "model: masked LM (BERT's objective) \(counts.total) parameters (hidden \(config.hiddenSize), \(n(config.numLayers, "layer")), \(n(config.numHeads, "head")), masked-LM head to the embedding); embedding \(config.embeddingSize), vocabulary \(config.vocabSize)"
            : "model: generator \(counts.generator) parameters (hidden \(config.generatorHiddenSize), \(n(config.generatorLayers, "layer")), \(n(config.generatorHeads, "head"))), discriminator \(counts.discriminator) (hidden \(config.hiddenSize), \(n(config.numLayers, "layer")), \(n(config.numHeads, "head"))), \(counts.total) in all; embedding \(config.embeddingSize), vocabulary \(config.vocabSize)"
                + (config.trainingObjective == .electra15 ? "; objective electra-15 (the discriminator's loss at the masked positions only)" : "")
        report(.started([
            modelLine,
            (mixtureNames.isEmpty ? "data: \(index.sequenceCount) sequences in \(index.directory.path)"
                : "data: mixed by sample proportion, " + mixtureNames.indices.map { "\(mixtureNames[$0]) (weight \(mixtureWeights[$0]))" }.joined(separator: ", "))
                + "; training \(stream.trainSequenceCount) sequences, \(n(stream.trainSequenceCount / options.batchSize, "step")) per epoch; held out \(heldOut)",
        ] + (heldOut > 0 ? [] : [noHeldOutReason]) + [
            "step: batch \(options.batchSize) x \(index.meta.maxSeqLength) = \(tokensPerStep) tokens, \(streamOptions.masking.maxPredictions) predictions per sequence; lr \(options.learningRate), warm-up \(options.warmupSteps), \(n(options.steps, "step")), seed \(options.seed)",
            "compute: \(flopsText(flopsPerStep)) training FLOPs per step (google-research/electra's flops_computation.py)"
                + (options.maxFlops.map { ", budget \(flopsText($0)) (--max-flops)" } ?? "")
                + (options.saveAtFlops.map { ", checkpoints kept at \($0.map(flopsText).joined(separator: ", "))" } ?? ""),
            "split: \(communicator.size) rank(s) x \(parallel.accumulate) micro-batch(es) of \(rowsPerMicroBatch) rows"
                + (communicator.size > 1 ? ", gradients summed \(reducer.overlap ? "during" : "after") the backward pass" : ""),
        ]))
        if let last = lastCheckpoint { report(.resumed(step: start, from: last)) }
        let metrics = try directory?.openMetrics(keepingUpTo: start)
        try directory?.writeConfig(model: config, training: options, shards: index.directory.path, vocabSHA256: index.meta.vocabSHA256)
        if !systemRecord.isEmpty { try metrics?.writeSystem(step: start, fields: systemRecord) }

        var sums = resumedWindow ?? MetricSums()
        var windowStart = DispatchTime.now().uptimeNanoseconds
        let runStart = windowStart
        var windowTokens = 0, windowWait = 0.0, windowReduce = 0.0
        var totalTokens = 0
        var step = start
        var flops = startFlops
        var budgetReached = options.maxFlops.map { flops >= $0 } ?? false
        while step < options.steps && !budgetReached {
            let (batch, position, skipped) = try stream.next()
            if !skipped.isEmpty { report(.skippedFrames(skipped)) }
            let (tally, communication) = try computeGradients(batch, step: step)
            guard tally.sums[0].isFinite else {
                throw TrainingError.nonFinite(step: step + 1, what: "loss", lastCheckpoint: lastCheckpoint)
            }
            let (norm, lr) = optimizer.update(model)   // the global norm: the gradients are summed
            guard norm.isFinite else {
                throw TrainingError.nonFinite(step: step + 1, what: "gradient norm", lastCheckpoint: lastCheckpoint)
            }
            step += 1
            let flopsBefore = flops
            flops = startFlops + Double(step - start) * flopsPerStep
            if let budget = options.maxFlops, flops >= budget { budgetReached = true }
            let last = step == options.steps || budgetReached
            // The --save-at-flops points this step reached (the first step at or past each).
            let keptAt = (options.saveAtFlops ?? []).filter { flopsBefore < $0 && $0 <= flops }
            afterUpdateHook?(step, UnsafeMutableBufferPointer(start: model.parameters, count: model.parameterCount))
            sums.add(tally, gradientNorm: norm)
            let tokens = batch.attentionMask.reduce(0) { $0 + Int($1) }
            windowTokens += tokens
            windowWait += communication.waitSeconds
            windowReduce += communication.reduceSeconds
            if parallel.checksumEvery > 0 && communicator.size > 1 && step % parallel.checksumEvery == 0 {
                try compareParameters(step: step)
            }
            totalTokens += tokens
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - runStart) / 1e9
            report(.progress(step: step, loss: tally.sums[0], tokensPerSecond: Double(totalTokens) / max(seconds, 1e-9),
                             secondsPerStep: seconds / Double(step - start)))
            if step % options.logEvery == 0 || last {
                let now = DispatchTime.now().uptimeNanoseconds
                var values = [("learning_rate", Double(lr))] + sums.values()
                values.append(("tokens_per_second", Double(windowTokens) / (Double(now - windowStart) / 1e9)))
                values.append(("elapsed_seconds", Double(now - runStart) / 1e9))
                // Per step: seconds waited for the gradient sum after the backward pass, and spent in all-reduce.
                values.append(("communication_wait_seconds", windowWait / Double(max(sums.steps, 1))))
                values.append(("allreduce_seconds", windowReduce / Double(max(sums.steps, 1))))
                values.append(("train_flops", flops))
                // A mixture: the sequences taken from each directory since the run began.
                for (name, source) in zip(mixtureNames, position.sources ?? []) {
                    values.append(("sequences_from_" + name, Double(source.sequencesConsumed)))
                }
                try metrics?.write(step: step, kind: "train", values: values)
                report(.logged(step: step, values: values))
                sums = MetricSums()
                windowTokens = 0
                windowWait = 0
                windowReduce = 0
                windowStart = now
            }
            if options.evalEvery > 0 && (step % options.evalEvery == 0 || last) {
                // The others go on and wait in the next step's sum. Without a held-out set there
                // is nothing to measure: no eval line (the start said so).
                if communicator.isRoot, let values = try evaluate() {
                    try metrics?.write(step: step, kind: "eval", values: values)
                    report(.evaluated(step: step, values: values))
                }
            }
            let saved = (options.saveEvery > 0 && step % options.saveEvery == 0) || last || !keptAt.isEmpty
            if communicator.isRoot && saved {
                let kept = keptAt.isEmpty ? nil
                    : "kept at \(keptAt.map(flopsText).joined(separator: ", ")) training FLOPs (--save-at-flops; this step has \(flopsText(flops))): checkpoint rotation leaves it"
                let path = try saveCheckpoint(step: step, position: position, openWindow: sums, flops: flops, kept: kept)
                report(.checkpointed(step: step, path: path))
            }
            if !last, try stopAgreed() {
                if communicator.isRoot && !saved {
                    let path = try saveCheckpoint(step: step, position: position, openWindow: sums, flops: flops, kept: nil)
                    report(.checkpointed(step: step, path: path))
                }
                return .stopped(step: step, checkpoint: lastCheckpoint ?? "")
            }
        }
        return .finished
    }

    /// Whether any rank was asked to stop (every rank calls this after every step: one sum of a
    /// number over the ranks, so that all stop after the same step).
    func stopAgreed() throws -> Bool {
        let here = stopRequested()
        guard communicator.size > 1 else { return here }
        return try communicator.sum(here ? 1 : 0) > 0
    }

    /// Sequences of the held-out split (0 when the shards hold a single frame: the split takes
    /// whole frames and leaves at least one for training).
    public var heldOutSequenceCount: Int { index.sequenceCount - stream.trainSequenceCount }

    /// Why there is no held-out set, and what to do about it.
    var noHeldOutReason: String {
        let n = index.sequenceCount
        return "no held-out set, so no evaluation: the shards hold \(index.frames.count) frame(s) of \(n) sequence(s), and the held-out split takes whole frames, leaving at least one for training; for a held-out set, shard more text or shard again with smaller frames (electra-prep shard --sequences-per-frame \(max(1, n / 10)) holds out about a tenth)"
    }

    /// Metrics on the held-out split: dropout off, fixed masks and sampling keyed by (seed,
    /// held-out batch, row), computed in micro-batches of this rank's model: the same figures
    /// whatever the split (up to the rounding of the partial losses' sum). Nil when nothing is
    /// held out (`heldOutSequenceCount` 0): there is nothing to measure.
    public func evaluate() throws -> [(String, Double)]? {
        let batches = try stream.heldOutBatches(limit: options.evalBatches)
        guard !batches.isEmpty else { return nil }
        var sums = MetricSums()
        var spread = HiddenSpread(units: model.config.hiddenSize)
        var predicted: [Int32: Int] = [:]   // generator argmax at the masked slots
        let m = rowsPerMicroBatch
        for (number, (batch, rows)) in batches.enumerated() {
            let batch = maskedLMInput(batch, key: derivedKey(options.seed, 0x6576_616C, UInt64(number)))
            let (masked, real) = batch.lossNormalizers
            var tally = StepTally()
            for first in stride(from: 0, to: batch.batchSize, by: m) {
                let keys = StepKeys(key: derivedKey(options.seed, 0x6576_616C, UInt64(number)), firstRow: first,
                                    maskedTokens: masked, realTokens: real)
                let part = batch.rows(first..<(first + m))
                let result = model.step(part, training: false, computeGradients: false, keys: keys)
                let counted = min(m, max(0, rows - first))
                tally.add(result, batch: part, rows: counted)
                // The collapse signals over the rows counted (evaluation batches may repeat rows).
                if counted > 0, var hidden = result.discriminatorHidden {
                    if counted < m {
                        hidden = HiddenSpread(units: model.config.hiddenSize)
                        model.lastDiscriminatorOutput { output in
                            hidden.add(output, rows: counted * part.seqLength,
                                       mask: Array(part.attentionMask.prefix(counted * part.seqLength)))
                        }
                    }
                    spread.add(hidden)
                    for slot in 0..<(counted * part.maxPredictions) where part.maskedWeights[slot] > 0 {
                        predicted[result.generatorPredictions[slot], default: 0] += 1
                    }
                }
            }
            sums.add(tally)
        }
        let slots = predicted.values.reduce(0, +)
        return sums.values().filter { $0.0 != "gradient_norm" } + [
            ("discriminator_spread", spread.value),
            ("generator_top_share", slots > 0 ? Double(predicted.values.max() ?? 0) / Double(slots) : 0),
        ]
    }

    /// Below this last-layer spread the discriminator has collapsed: the same vector at every
    /// position (tools/compare-learning.sh: collapsed runs, ours and PyTorch's, end under 0.001;
    /// live ones above 0.05).
    public static let collapsedSpread = 0.01

    /// Step `step`'s gradient of the whole global batch in `model.gradients` on every rank: this
    /// rank's rows in micro-batches (keyed by their rows in the global batch, normalised by the
    /// global batch's counts), summed over micro-batches and then over ranks. Returns the
    /// step's metrics over the global batch and what the communication cost.
    func computeGradients(_ batch: MaskedBatch, step: Int) throws -> (StepTally, GradientReducer.StepReport) {
        let (masked, real) = batch.lossNormalizers
        let m = rowsPerMicroBatch, K = parallel.accumulate
        let g = model.gradients
        var tally = StepTally()
        // With one micro-batch, each finished piece of the gradient goes to the reducer at once.
        let ready: ((Range<Int>) -> Void)? = K == 1 && communicator.size > 1 ? { [reducer] range in
            reducer.submit(UnsafeMutableBufferPointer(start: g + range.lowerBound, count: range.count))
        } : nil
        let batch = maskedLMInput(batch, key: StepKeys.training(seed: options.seed, step: step).key)
        for k in 0..<K {
            let first = communicator.rank * rowsPerRank + k * m
            var keys = StepKeys.training(seed: options.seed, step: step)
            keys.firstRow = first
            keys.maskedTokens = masked
            keys.realTokens = real
            let part = batch.rows(first..<(first + m))
            model.zeroGradients()
            let result = model.step(part, training: true, computeGradients: true, keys: keys, gradientsReady: ready)
            tally.add(result, batch: part)
            accumulator?.add(g, first: k == 0)
        }
        if let accumulator {
            g.update(from: accumulator.buffer, count: model.parameterCount)
            if communicator.size > 1 { reducer.submit(UnsafeMutableBufferPointer(start: g, count: model.parameterCount)) }
        }
        let communication = try reducer.finish()
        return (try tally.global(communicator), communication)
    }

    /// The batch the model reads: as it is for ELECTRA; for BERT's objective, the masked slots
    /// redrawn 80% [MASK] / 10% random / 10% kept (keyed by the step's or held-out batch's key
    /// and the global row: the same on every rank and micro-batch).
    func maskedLMInput(_ batch: MaskedBatch, key: UInt64) -> MaskedBatch {
        guard config.trainingObjective == .mlm else { return batch }
        var batch = batch
        batch.replaceForMaskedLM(maskID: streamOptions.specials.mask, vocabularySize: config.vocabSize,
                                 key: derivedKey(key, 4))
        return batch
    }

    /// Compares a checksum of the parameters over ranks; a rank whose parameters differ from
    /// rank 0's stops the job.
    func compareParameters(step: Int) throws {
        let sums = try communicator.allGather(checksum(model.parameters, model.parameterCount))
        let diverged = sums.indices.filter { sums[$0] != sums[0] }
        if !diverged.isEmpty { throw TrainingError.diverged(step: step, ranks: diverged) }
    }

    /// Writes checkpoint `step` (parameters, Adam moments, state), then keeps the newest
    /// `keepCheckpoints`.
    func saveCheckpoint(step: Int, position: StreamPosition, openWindow: MetricSums, flops: Double,
                        kept: String? = nil) throws -> String {
        guard let directory else { return "" }
        let state = CheckpointState(step: step, config: config, options: options, vocabSize: index.meta.vocabSize,
                                    vocabSHA256: index.meta.vocabSHA256, stream: position,
                                    openWindow: openWindow.steps > 0 ? openWindow : nil, trainFlops: flops)
        let final = try Checkpoint.write(to: directory.checkpoints, state: state,
                                         tensors: Checkpoint.tensors(model: model, optimizer: optimizer),
                                         kept: kept, beforeRename: checkpointWriteHook)
        lastCheckpoint = final.path
        Checkpoint.rotate(in: directory.url, keep: options.keepCheckpoints)
        return final.path
    }
}

extension TrainingOptions {
    /// The batch stream of a run over shards described by `meta`: what the trainer trains on
    /// (also what `electra-dev dump-batches` writes and Python's electra_shards reproduces).
    public func batchStreamOptions(meta: ShardMeta) -> BatchStreamOptions {
        var stream = BatchStreamOptions()
        stream.batchSize = batchSize
        stream.seed = seed
        stream.masking = MaskingOptions(maskProbability: maskProbability, maskTokenFraction: maskTokenFraction,
                                        maxSeqLength: meta.maxSeqLength)
        stream.specials = SpecialTokenIDs(pad: Int32(meta.padID), cls: Int32(meta.clsID),
                                          sep: Int32(meta.sepID), mask: Int32(meta.maskID))
        return stream
    }
}

/// "8.68e10": FLOPs as the paper writes them (three significant digits).
public func flopsText(_ x: Double) -> String {
    String(format: "%.3g", x).replacingOccurrences(of: "e+", with: "e").replacingOccurrences(of: "e0", with: "e")
}
