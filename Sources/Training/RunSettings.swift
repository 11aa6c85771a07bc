// From what a command line asks for to the model configuration and options a run trains with.
// A fresh run takes the defaults (TrainingOptions, the preset) for what is not given; a resumed
// run takes its newest checkpoint's values for what is not given, may change its schedule and
// bookkeeping (steps, learning rate, warm-up, logging, evaluation, checkpoints), and may not
// change what its stream position and weights mean (vocabulary, model size, batch size, seed,
// masking). Nor what it reads: without --shards it reads the shard directory it recorded, and
// another --shards must hold the same dataset.
import Foundation
import Model
import Sharding

/// What a command line asks for; nil: not given.
public struct TrainingRequest: Equatable, Sendable {
    /// Model size: a preset and overrides of its sizes.
    public var preset: String?
    public var embeddingSize: Int?
    public var hiddenSize: Int?
    public var layers: Int?
    public var heads: Int?
    public var generatorFraction: Double?
    public var dropout: Float?
    /// What the run learns from (part of the model: a resumed run keeps its own).
    public var objective: PretrainingObjective?
    /// Training options.
    public var steps: Int?
    public var batchSize: Int?
    public var learningRate: Float?
    public var warmupSteps: Int?
    public var seed: UInt64?
    public var logEvery: Int?
    public var evalEvery: Int?
    public var evalBatches: Int?
    public var saveEvery: Int?
    public var keepCheckpoints: Int?
    public var maskProbability: Float?
    public var maskTokenFraction: Float?
    /// A training-FLOPs budget; without `steps`, the run's steps are the budget's (the first step
    /// at or past it), so the learning rate decays to 0 there.
    public var maxFlops: Double?
    public var saveAtFlops: [Double]?

    public init() {}

    /// Whether any model-size option is given (then the configuration is built from them and the
    /// preset, also on resume, and must equal the run's).
    public var givesModel: Bool {
        preset != nil || embeddingSize != nil || hiddenSize != nil || layers != nil || heads != nil
            || generatorFraction != nil || dropout != nil || objective != nil
    }
}

/// The shard facts a configuration depends on.
public struct ShardFacts: Equatable, Sendable {
    public var directory: String
    public var vocabSize: Int
    public var vocabSHA256: String
    public var maxSeqLength: Int

    public init(directory: String, vocabSize: Int, vocabSHA256: String, maxSeqLength: Int) {
        self.directory = directory
        self.vocabSize = vocabSize
        self.vocabSHA256 = vocabSHA256
        self.maxSeqLength = maxSeqLength
    }
}

/// The configuration and options a run trains with.
public struct ResolvedRun: Equatable {
    public var config: ElectraConfig
    public var options: TrainingOptions
    /// The preset's name, or nil when the model is the resumed run's.
    public var preset: String?
}

/// The hidden and attention dropout of a run that does not name one (ELECTRA's).
public let defaultDropout: Float = 0.1

extension TrainingRequest {
    /// The configuration and options of a fresh run (`previous` nil) or of a resumed one.
    /// - Throws: `TrainingError.alreadyTrained` when `steps` does not go past the run's step;
    ///   `.incompatible` when the request changes what a resumed run cannot change.
    public func resolve(shards: ShardFacts, previous: ResumableRun?) throws -> ResolvedRun {
        var config: ElectraConfig
        let preset = previous != nil && !givesModel ? nil : (self.preset ?? TrainingOptions.defaultPreset)
        if let previous, !givesModel {
            config = previous.config
        } else {
            let name = preset!
            guard var base = ElectraConfig.preset(name, vocabSize: shards.vocabSize) else {
                throw ModelError.badConfiguration("unknown preset \(name): choose one of \(ElectraConfig.presetNames.joined(separator: ", "))")
            }
            if embeddingSize != nil || hiddenSize != nil || layers != nil || heads != nil || generatorFraction != nil {
                base = ElectraConfig(vocabSize: shards.vocabSize, embeddingSize: embeddingSize ?? base.embeddingSize,
                                     hiddenSize: hiddenSize ?? base.hiddenSize, numLayers: layers ?? base.numLayers,
                                     numHeads: heads ?? (hiddenSize == nil ? base.numHeads : nil),
                                     generatorFraction: generatorFraction ?? Double(base.generatorHiddenSize) / Double(base.hiddenSize),
                                     maxPositions: max(base.maxPositions, shards.maxSeqLength))
            }
            config = base
            config.maxPositions = max(config.maxPositions, shards.maxSeqLength)
            config.dropout = dropout ?? defaultDropout
            config.objective = objective == .electra ? nil : objective   // ELECTRA's files as before
        }
        var options = previous?.options ?? TrainingOptions(preset: preset!)!
        if let steps { options.steps = steps }
        if let batchSize { options.batchSize = batchSize }
        if let learningRate { options.learningRate = learningRate }
        if let warmupSteps {
            options.warmupSteps = warmupSteps
        } else if previous == nil {
            options.warmupSteps = TrainingOptions.defaultWarmupSteps(steps: options.steps)
        }
        if let seed { options.seed = seed }
        if let logEvery { options.logEvery = logEvery }
        if let evalEvery { options.evalEvery = evalEvery }
        if let evalBatches { options.evalBatches = evalBatches }
        if let saveEvery { options.saveEvery = saveEvery }
        if let keepCheckpoints { options.keepCheckpoints = keepCheckpoints }
        if let maskProbability { options.maskProbability = maskProbability }
        if let maskTokenFraction { options.maskTokenFraction = maskTokenFraction }
        if let saveAtFlops { options.saveAtFlops = saveAtFlops.sorted() }
        if let maxFlops {
            options.maxFlops = maxFlops
            if steps == nil {
                options.steps = stepsForBudget(maxFlops, perStep: config.trainingFLOPsPerStep(
                    batchSize: options.batchSize, sequenceLength: shards.maxSeqLength))
            }
        }
        if let previous {
            if options.steps <= previous.step {
                throw TrainingError.alreadyTrained(run: previous.checkpoint.deletingLastPathComponent().deletingLastPathComponent().path,
                                                   step: previous.step)
            }
            try checkResumable(previous, config: config, options: options, shards: shards)
        }
        return ResolvedRun(config: config, options: options, preset: preset)
    }
}

/// Refuses to resume `run` with another vocabulary, model configuration, batch size, seed or
/// masking: the weights and the stream position only mean something with those. The schedule
/// may change (lower --learning-rate after a divergence, more --steps).
func checkResumable(_ run: ResumableRun, config: ElectraConfig, options: TrainingOptions, shards: ShardFacts) throws {
    let state = run.checkpoint.appendingPathComponent(Checkpoint.stateName).path
    if run.vocabSHA256 != shards.vocabSHA256 || run.vocabSize != shards.vocabSize {
        throw TrainingError.incompatible(path: state, problem: "the checkpoint was trained with a vocabulary of \(run.vocabSize) tokens (sha256 \(run.vocabSHA256.prefix(12))), the shards in \(shards.directory) use \(shards.vocabSize) tokens (sha256 \(shards.vocabSHA256.prefix(12))); resume with the run's shards or start a new run in another --out")
    }
    if run.config != config {
        throw TrainingError.incompatible(path: state, problem: "the checkpoint's model configuration \(describe(run.config)) differs from the requested \(describe(config)); leave the model options out to resume, or start a new run in another --out")
    }
    let was = run.options
    for (name, old, new) in [("--batch-size", "\(was.batchSize)", "\(options.batchSize)"),
                             ("--seed", "\(was.seed)", "\(options.seed)"),
                             ("--mask-prob", "\(was.maskProbability)", "\(options.maskProbability)"),
                             ("--mask-fraction", "\(was.maskTokenFraction)", "\(options.maskTokenFraction)")] where old != new {
        throw TrainingError.incompatible(path: state, problem: "the checkpoint was trained with \(name) \(old), the resumed run asks for \(new); resume with \(name) \(old) or start a new run in another --out")
    }
}

private func describe(_ c: ElectraConfig) -> String {
    "(objective \(c.trainingObjective.rawValue), vocabulary \(c.vocabSize), embedding \(c.embeddingSize), hidden \(c.hiddenSize) x \(c.numLayers) layers, generator hidden \(c.generatorHiddenSize))"
}

/// The first step count whose FLOPs reach `budget` (at least 1).
public func stepsForBudget(_ budget: Double, perStep: Double) -> Int {
    var n = max(1, Int((budget / perStep).rounded(.up)))
    while n > 1 && Double(n - 1) * perStep >= budget { n -= 1 }
    while Double(n) * perStep < budget { n += 1 }
    return n
}

/// The shard directory a resumed run reads: `given` (--shards) when it holds the dataset of the
/// directory recorded in RUN/config.json (the same shard files: a copy, or the directory moved),
/// the recorded one when `given` is nil, nil when the run records none.
/// - Throws: `TrainingError.incompatible` naming RUN/config.json when `given` holds another
///   dataset: the stream position and the weights only mean something over the run's data.
/// - Complexity: opens both shard indexes when `given` is not the recorded path.
public func resumedShardDirectory(run: URL, given: String?) throws -> String? {
    guard let recorded = RunDirectory.recordedShards(run: run) else { return given }
    guard let given else {
        if !FileManager.default.fileExists(atPath: URL(fileURLWithPath: recorded).appendingPathComponent("index.sqlite").path) {
            throw TrainingError.io(path: recorded, failure: "the run's shard directory (recorded in \(run.appendingPathComponent("config.json").path)) holds no index.sqlite",
                                   remedy: "pass --shards with the directory the run's shards are in now")
        }
        return recorded
    }
    func canonical(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path }
    if canonical(given) == canonical(recorded) { return given }
    // The recorded directory is gone (moved, or deleted): nothing to compare with; the
    // vocabulary and the stream position are still checked against the checkpoint.
    guard let was = try? ShardIndex(directory: URL(fileURLWithPath: recorded)) else { return given }
    let now = try ShardIndex(directory: URL(fileURLWithPath: given))
    // Another vocabulary: the checkpoint's own check names both vocabularies, more usefully.
    if now.meta.vocabSHA256 != was.meta.vocabSHA256 { return given }
    if now.shards.map(\.sha256) != was.shards.map(\.sha256) {
        throw TrainingError.incompatible(
            path: run.appendingPathComponent("config.json").path,
            problem: "the run trained on the shards in \(recorded) (\(was.sequenceCount) sequences in \(was.shards.count) shard files), --shards \(given) holds another dataset (\(now.sequenceCount) sequences in \(now.shards.count) shard files); leave out --shards to resume on the run's shards, or start a new run in another --out")
    }
    return given
}
