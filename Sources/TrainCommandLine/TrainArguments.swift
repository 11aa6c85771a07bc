// The flags of a training run, shared by `electra-train train` and `electra-dev crash-train`
// (the same run with a fault injected): parsing and checking them, turning them into a
// `TrainingRequest`, and opening the trainer. Defaults and help text come from the library's
// option types (TrainingOptions, the presets). Nothing here prints.
import ArgumentParser
import Batching
import Distributed
import Durability
import Foundation
import Interop
import Kernels
import Model
import Sharding
import Training

private let defaults = TrainingOptions.defaults

/// The options of a training run.
public struct TrainArguments: ParsableArguments {
    @Option(help: "The shard directory written by electra-prep shard (default data; on --resume, the run's: another directory must hold the same shards), or several mixed by sample proportion: web=0.7,books=0.3 (paths with weights; metrics.jsonl counts the sequences of each).")
    public var shards: String?
    @Option(help: "Model size: \(ElectraConfig.presetNames.joined(separator: ", ")) (default \(TrainingOptions.defaultPreset); on --resume, the run's).")
    public var preset: String?
    @Option(help: "Override the embedding size of the preset.") public var embeddingSize: Int?
    @Option(help: "Override the discriminator hidden size.") public var hiddenSize: Int?
    @Option(help: "Override the number of layers (both models).") public var layers: Int?
    @Option(help: "Override the discriminator's attention heads.") public var heads: Int?
    @Option(help: "Generator hidden size as a fraction of the discriminator's.") public var generatorFraction: Double?
    @Option(help: "Hidden and attention dropout (default \(defaultDropout) as ELECTRA).") public var dropout: Float?
    @Option(help: "Training steps (optimizer updates; default \(defaults.steps)).") public var steps: Int?
    @Option(help: "Sequences per batch (default \(defaults.batchSize)).") public var batchSize: Int?
    @Option(help: "Peak learning rate (default: the preset's, \(presetRates)).")
    public var learningRate: Float?
    @Option(help: "Linear warm-up steps (default: a fifth of --steps, at least 100 and at most 10,000; on --resume, the run's).") public var warmupSteps: Int?
    @Option(help: "Seed of everything random: initialization, masking, sampling, dropout, shuffling (default \(defaults.seed)).")
    public var seed: UInt64?
    @Option(help: "The run directory (default: runs/<preset>, e.g. runs/\(TrainingOptions.defaultPreset)).") public var out: String?
    @Option(help: "Compute threads (default: the cores this process may use; under mpirun, shared among the ranks of a machine).")
    public var threads: Int?
    @Option(help: "Micro-batches per step (and per rank) whose gradients are summed before the update: a batch that does not fit in memory, or the single-process twin of that many ranks.")
    public var accumulate = 1
    @Flag(help: "Under mpirun: sum the gradients over ranks after the backward pass instead of during it.")
    public var noOverlap = false
    @Option(help: "Under mpirun: compare a checksum of the parameters over ranks every N steps (0: never).")
    public var checksumEvery = 200
    @Option(name: .customLong("stall-timeout"),
            help: "Under mpirun: stop the job when a collective has waited this many seconds for another rank (default 600).")
    var stallTimeoutSeconds: Double?
    /// --stall-timeout, 600 s when not given (an optional flag, so that its help shows "600", not "600.0").
    public var stallTimeout: Double { stallTimeoutSeconds ?? 600 }
    @Option(help: "Write training metrics every K steps (default \(defaults.logEvery)).") public var logEvery: Int?
    @Option(help: "Evaluate on the held-out split every E steps (0: only at the end; default \(defaults.evalEvery)).")
    public var evalEvery: Int?
    @Option(help: "Held-out batches per evaluation (default \(defaults.evalBatches)).") public var evalBatches: Int?
    @Option(help: "Write a checkpoint every C steps, and at the end (default \(defaults.saveEvery)).") public var saveEvery: Int?
    @Option(help: "Checkpoints to keep (default \(defaults.keepCheckpoints)).") public var keepCheckpoints: Int?
    @Option(help: "Share of tokens to predict (default \(defaults.maskProbability)).") public var maskProb: Float?
    @Option(help: "Share of the chosen positions replaced by [MASK] (default \(defaults.maskTokenFraction)).")
    public var maskFraction: Float?
    @Flag(help: "Continue from the newest complete checkpoint in --out; options not given are the run's.")
    public var resume = false
    @Option(help: "What to learn: electra (replaced-token detection, the default), mlm (BERT's masked LM on the discriminator-sized encoder, 80% [MASK] / 10% random / 10% kept at the masked positions), electra-15 (the discriminator's loss at the masked positions only). On --resume, the run's.")
    public var objective: String?
    @Option(help: "Stop at the first step whose training FLOPs (counted as the ELECTRA paper counts them) reach this budget, e.g. 3e15; without --steps, the run's length (the learning rate decays to 0 there).")
    public var maxFlops: Double?
    @Option(help: "Keep a checkpoint at the first step at or past each of these training FLOPs, e.g. 1e14,3e14 (outside --keep-checkpoints' rotation).")
    public var saveAtFlops: String?
    @Option(help: "Start from the weights of a HuggingFace ELECTRA folder (electra-train export output, or a discriminator folder with an optional generator/ beside it).")
    public var initFrom: String?

    public init() {}

    /// The run directory: --out, else runs/<preset> (the preset asked for, or the default one).
    public var runDirectory: String { out ?? "runs/\(preset ?? TrainingOptions.defaultPreset)" }

    public func validate() throws {
        if let preset, ElectraConfig.preset(preset, vocabSize: 100) == nil {
            throw ValidationError("unknown --preset \(preset): choose one of \(ElectraConfig.presetNames.joined(separator: ", "))")
        }
        for (name, value) in [("--steps", steps), ("--batch-size", batchSize), ("--log-every", logEvery), ("--threads", threads),
                              ("--eval-batches", evalBatches), ("--keep-checkpoints", keepCheckpoints),
                              ("--accumulate", accumulate)] {
            if let value, value < 1 { throw ValidationError("\(name) must be at least 1 (got \(value))") }
        }
        for (name, value) in [("--warmup-steps", warmupSteps), ("--eval-every", evalEvery), ("--save-every", saveEvery),
                              ("--checksum-every", checksumEvery)] {
            if let value, value < 0 { throw ValidationError("\(name) must be 0 or more (got \(value))") }
        }
        if let learningRate, !(learningRate > 0 && learningRate.isFinite) { throw ValidationError("--learning-rate must be a positive number (got \(learningRate))") }
        if let maskProb, !(maskProb > 0 && maskProb < 1) { throw ValidationError("--mask-prob must be in (0, 1) (got \(maskProb))") }
        if let maskFraction, !(maskFraction >= 0 && maskFraction <= 1) { throw ValidationError("--mask-fraction must be in [0, 1] (got \(maskFraction))") }
        if let objective, PretrainingObjective(rawValue: objective) == nil {
            throw ValidationError("unknown --objective \(objective): choose one of \(PretrainingObjective.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let maxFlops, !(maxFlops > 0 && maxFlops.isFinite) { throw ValidationError("--max-flops must be a positive number (got \(maxFlops))") }
        _ = try flopsPoints()
    }

    /// --save-at-flops as numbers.
    func flopsPoints() throws -> [Double]? {
        try saveAtFlops.map { text in
            try text.split(separator: ",").map { item in
                guard let x = Double(item.trimmingCharacters(in: .whitespaces)), x > 0, x.isFinite else {
                    throw ValidationError("--save-at-flops takes positive numbers separated by commas, e.g. 1e14,3e14 (got \(item))")
                }
                return x
            }
        }
    }

    /// What the flags ask for (nil where a flag is not given).
    public var request: TrainingRequest {
        var r = TrainingRequest()
        r.preset = preset; r.embeddingSize = embeddingSize; r.hiddenSize = hiddenSize; r.layers = layers; r.heads = heads
        r.generatorFraction = generatorFraction; r.dropout = dropout
        r.steps = steps; r.batchSize = batchSize; r.learningRate = learningRate; r.warmupSteps = warmupSteps; r.seed = seed
        r.logEvery = logEvery; r.evalEvery = evalEvery; r.evalBatches = evalBatches; r.saveEvery = saveEvery
        r.keepCheckpoints = keepCheckpoints; r.maskProbability = maskProb; r.maskTokenFraction = maskFraction
        r.objective = objective.flatMap(PretrainingObjective.init(rawValue:))
        r.maxFlops = maxFlops; r.saveAtFlops = try? flopsPoints()
        return r
    }

    /// Sets the compute threads, resolves the run's settings (on --resume, what is not given is
    /// the run's), reads --init-from and opens the trainer for `communicator`'s rank.
    public func makeTrainer(communicator: Communicator = SingleProcess()) throws -> (trainer: Trainer, settings: ResolvedRun) {
        setComputeThreads(threads ?? (communicator.size > 1 ? computeThreadsPerRank(localRanks: communicator.localSize)
                                                            : ProcessInfo.processInfo.activeProcessorCount))
        let runURL = URL(fileURLWithPath: runDirectory)
        let mixture = try shards.flatMap { try MixtureSpec.parse($0) }
        let shards = mixture != nil ? self.shards! : ((resume ? try resumedShardDirectory(run: runURL, given: self.shards) : self.shards) ?? "data")
        let firstShards = mixture?.sources[0].path ?? shards
        let index = try ShardIndex(directory: URL(fileURLWithPath: firstShards))
        let previous = resume ? try resumableRun(runURL) : nil
        let facts = ShardFacts(directory: firstShards, vocabSize: index.meta.vocabSize, vocabSHA256: index.meta.vocabSHA256,
                               maxSeqLength: index.meta.maxSeqLength)
        let settings: ResolvedRun
        do {
            settings = try request.resolve(shards: facts, previous: previous)
        } catch TrainingError.alreadyTrained(_, let step) {
            throw ValidationError("\(runDirectory) is already at step \(step): pass --steps above \(step) to train further")
        }
        // Rank 0 reads --init-from; the trainer broadcasts its parameters to the others.
        let initial = try initFrom.flatMap { path in communicator.isRoot ? path : nil }.map { path in
            (tensors: try HuggingFacePair(URL(fileURLWithPath: path)).tensors(), source: path)
        }
        let trainer = try Trainer(config: settings.config, options: settings.options, shards: URL(fileURLWithPath: firstShards),
                                  runDirectory: runURL, resume: resume, initialParameters: initial, parallel: parallel(communicator),
                                  mixture: mixture)
        return (trainer, settings)
    }

    /// How the run splits its batch: the ranks of `communicator`, --accumulate, --no-overlap,
    /// --checksum-every.
    public func parallel(_ communicator: Communicator) -> ParallelOptions {
        var p = ParallelOptions()
        p.communicator = communicator
        p.accumulate = accumulate
        p.overlap = !noOverlap
        p.checksumEvery = checksumEvery
        return p
    }
}

/// The job's communicator for an executable: Open MPI's under mpirun (a collective that waits
/// longer than `stallTimeout` prints which and ends the whole job), else a single process.
public func jobCommunicator(stallTimeout: Double) throws -> Communicator {
    final class Box: @unchecked Sendable { var communicator: MPICommunicator? }
    let box = Box()
    let communicator = try makeCommunicator(stallTimeout: stallTimeout) { message in
        FileHandle.standardError.write(Data("electra-train: \(message)\n".utf8))
        box.communicator?.abort(code: 3)
    }
    box.communicator = communicator as? MPICommunicator
    return communicator
}

/// Runs `body`; under mpirun, a rank whose run fails prints its error and ends the whole job
/// (the other ranks would wait in their next collective forever), and a rank that succeeds
/// finalizes MPI.
public func runJob(_ communicator: Communicator, _ body: () throws -> Void) throws {
    guard let mpi = communicator as? MPICommunicator else { return try body() }
    do {
        try body()
    } catch {
        let message = FileProblem(error).map { "\($0)" } ?? "\(error)"   // a file error in words
        FileHandle.standardError.write(Data("electra-train: rank \(mpi.rank) of \(mpi.size): \(message)\n".utf8))
        mpi.abort(code: 1)
    }
    mpi.finalize()
}

/// "1e-3 for tiny, 5e-4 for small, 2e-4 for base and large".
private var presetRates: String {
    var groups: [(Float, [String])] = []
    for name in ElectraConfig.presetNames {
        let rate = ElectraConfig.presetLearningRate(name)!
        if let i = groups.firstIndex(where: { $0.0 == rate }) { groups[i].1.append(name) } else { groups.append((rate, [name])) }
    }
    return groups.map { rate, names in
        "\(scientific(rate)) for \(names.count > 1 ? names.dropLast().joined(separator: ", ") + " and " + names.last! : names[0])"
    }.joined(separator: ", ")
}

/// 1e-4, 5e-4, 2.5e-5: how the paper writes learning rates.
private func scientific(_ x: Float) -> String {
    let exponent = Int((log10(Double(x)) + 1e-6).rounded(.down))
    let mantissa = (Double(x) / pow(10, Double(exponent)) * 100).rounded() / 100
    return String(format: "%ge%d", mantissa, exponent)
}
