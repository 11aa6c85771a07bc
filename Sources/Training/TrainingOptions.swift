// What a training run is given (its options), what it reports as it goes (its events) and how it
// fails (its errors). The defaults here are the product's: electra-train's flags and help text
// read them, so a run started without flags trains with exactly these.
import Foundation
import Masking
import Model

/// Settings of a training run (the electra-train options).
public struct TrainingOptions: Codable, Equatable, Sendable {
    /// The model preset a run uses when none is named.
    public static let defaultPreset = "tiny"
    /// A run with no flags: `TrainingOptions()`.
    public static let defaults = TrainingOptions()

    /// Optimizer updates.
    public var steps = 300
    /// Sequences per batch.
    public var batchSize = 32
    /// Peak learning rate (the default preset's; `init(preset:)` takes another preset's).
    public var learningRate: Float = ElectraConfig.presetLearningRate(TrainingOptions.defaultPreset)!
    /// Linear warm-up steps (`defaultWarmupSteps(steps:)` of the default 300 steps: 100).
    public var warmupSteps = TrainingOptions.defaultWarmupSteps(steps: 300)
    /// Seed of everything random: initialization, masking, sampling, dropout, shuffling.
    public var seed: UInt64 = 0
    /// A training line in metrics.jsonl every `logEvery` steps.
    public var logEvery = 10
    /// Held-out evaluation every `evalEvery` steps (0: only at the end).
    public var evalEvery = 100
    /// Held-out batches per evaluation.
    public var evalBatches = 4
    /// A checkpoint every `saveEvery` steps (0: only at the end), and always at the end.
    public var saveEvery = 100
    /// Complete checkpoints kept (the newest ones).
    public var keepCheckpoints = 3
    /// Share of tokens to predict.
    public var maskProbability: Float = MaskingOptions().maskProbability
    /// Share of the chosen positions replaced by [MASK].
    public var maskTokenFraction: Float = MaskingOptions().maskTokenFraction
    /// Stop at the first step whose cumulative training FLOPs (as the paper counts them, see
    /// `ElectraConfig.trainingFLOPsPerStep`) reach this budget; nil: no budget. Optional here and
    /// below so that options written before these existed still read.
    public var maxFlops: Double?
    /// Keep a checkpoint at the first step at or past each of these cumulative FLOPs, outside the
    /// rotation of `keepCheckpoints`; nil: none.
    public var saveAtFlops: [Double]?

    public init() {}

    /// The warm-up of a run of `steps` that names none: a fifth of the steps, at least 100 and at
    /// most 10,000 (google-research/electra's, for its 1M steps). The original's AdamW has no bias
    /// correction, so an update early in a run is larger than the learning rate by about
    /// (1 - 0.9^t) / sqrt(1 - 0.999^t): 3.2x at update 100, 1.4x at 1,000. Behind its 10,000
    /// warm-up steps that never shows; behind 50 (this tool's old default) the tiny preset's
    /// discriminator took updates of 4.5x its 1e-3 and collapsed in every run (issue 28). A fifth
    /// of the run keeps the effective peak near 1e-3 at the tiny preset's 5e-4 for runs of 300
    /// to 50,000 steps (docs/ARCHITECTURE.md, "Default recipe").
    public static func defaultWarmupSteps(steps: Int) -> Int {
        min(10_000, max(100, steps / 5))
    }

    /// The defaults, with the learning rate of `preset` (nil for an unknown preset).
    public init?(preset: String) {
        guard let rate = ElectraConfig.presetLearningRate(preset) else { return nil }
        learningRate = rate
    }

    /// The AdamW settings of this run: its learning rate and warm-up, decaying to 0 at `steps`.
    public var adamW: AdamWOptions {
        var adam = AdamWOptions()
        adam.learningRate = learningRate
        adam.warmupSteps = warmupSteps
        adam.totalSteps = steps
        return adam
    }
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

/// Training problems, each naming what failed and what to do.
public enum TrainingError: Error, CustomStringConvertible {
    case nonFinite(step: Int, what: String, lastCheckpoint: String?)
    /// A file or directory could not be read or written: its path, what failed, what to do.
    case io(path: String, failure: String, remedy: String)
    /// A checkpoint that exists but cannot be used: its path, the problem, what to do.
    case badCheckpoint(path: String, problem: String)
    /// A resumed run, its checkpoint and the shards do not fit together: the file whose record
    /// disagrees, and the disagreement with what to do.
    case incompatible(path: String, problem: String)
    case noCheckpoint(String)
    case existingRun(String, newest: String)
    case busy(String)
    /// `--steps` does not go past the step the run already reached.
    case alreadyTrained(run: String, step: Int)
    /// The global batch cannot be split over the ranks and micro-batches asked for.
    case split(String)
    /// A rank's parameters differ from rank 0's (checksums compared every few hundred steps).
    case diverged(step: Int, ranks: [Int])

    public var description: String {
        switch self {
        case .nonFinite(let step, let what, let last):
            return "step \(step): the \(what) is NaN or infinite; training stopped. " +
                (last.map { "The last good checkpoint is \($0): lower --learning-rate and resume from it." }
                    ?? "No checkpoint was written yet: lower --learning-rate and start again.")
        case .io(let path, let failure, let remedy): return "\(path): \(failure); \(remedy)"
        case .badCheckpoint(let path, let problem):
            return "\(path): \(problem); delete that checkpoint directory to resume from an older one"
        case .incompatible(let path, let problem): return "\(path): \(problem)"
        case .noCheckpoint(let dir): return "\(dir): no complete checkpoint (train first; to start a run afresh, leave out --resume)"
        case .existingRun(let dir, let newest):
            return "\(dir) already holds a run (newest checkpoint \(newest)): pass --resume to continue it, or choose another --out (or delete it) to start afresh"
        case .busy(let dir):
            return "\(dir): another electra-train process is writing to this run directory; wait for it or choose another --out"
        case .alreadyTrained(let run, let step):
            return "\(run) is already at step \(step): pass --steps above \(step) to train further"
        case .split(let why): return why
        case .diverged(let step, let ranks):
            return "step \(step): the parameters of rank(s) \(ranks.map(String.init).joined(separator: ", ")) differ from rank 0's (a faulty node or a nondeterministic build); the job stops: resume from the last checkpoint, without that node"
        }
    }
}

/// The message of a failed system call (`errno`).
func systemError() -> String { String(cString: strerror(errno)) }
