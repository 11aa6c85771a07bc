// electra-train [train]: pre-train ELECTRA on the shards written by electra-prep shard.
import ArgumentParser
import Foundation
import Kernels
import Model
import Sharding
import Training

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pre-train a generator + discriminator on the CPU (the default subcommand).",
        discussion: """
            Streams the shards through dynamic masking, trains both models with AdamW as ELECTRA does \
            (lr x (1 - step/T) x min(1, step/W)), logs metrics to OUT/metrics.jsonl, evaluates on the \
            held-out split and writes checkpoints to OUT/checkpoints/step-N/. --resume continues from the \
            newest complete checkpoint with exactly the batches and numbers an uninterrupted run gives.
            """)

    @Option(help: "The shard directory written by electra-prep shard.")
    var shards = "data"
    @Option(help: "Model size: \(ElectraConfig.presetNames.joined(separator: ", ")) (default tiny; on --resume, the run's).")
    var preset: String?
    @Option(help: "Override the embedding size of the preset.") var embeddingSize: Int?
    @Option(help: "Override the discriminator hidden size.") var hiddenSize: Int?
    @Option(help: "Override the number of layers (both models).") var layers: Int?
    @Option(help: "Override the discriminator's attention heads.") var heads: Int?
    @Option(help: "Generator hidden size as a fraction of the discriminator's.") var generatorFraction: Double?
    @Option(help: "Hidden and attention dropout (default 0.1 as ELECTRA).") var dropout: Float?
    @Option(help: "Training steps (optimizer updates; default 300).") var steps: Int?
    @Option(help: "Sequences per batch (default 32).") var batchSize: Int?
    @Option(help: "Peak learning rate (default: the preset's, 1e-4 for tiny, 5e-4 for small, 2e-4 for base and large).")
    var learningRate: Float?
    @Option(help: "Linear warm-up steps (default 50).") var warmupSteps: Int?
    @Option(help: "Seed of everything random: initialization, masking, sampling, dropout, shuffling (default 0).") var seed: UInt64?
    @Option(help: "The run directory.") var out = "runs/tiny"
    @Option(help: "Threads for matrix products.") var threads = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Write training metrics every K steps (default 10).") var logEvery: Int?
    @Option(help: "Evaluate on the held-out split every E steps (0: only at the end; default 100).") var evalEvery: Int?
    @Option(help: "Held-out batches per evaluation (default 4).") var evalBatches: Int?
    @Option(help: "Write a checkpoint every C steps, and at the end (default 100).") var saveEvery: Int?
    @Option(help: "Checkpoints to keep (default 3).") var keepCheckpoints: Int?
    @Option(help: "Share of tokens to predict (default 0.15).") var maskProb: Float?
    @Option(help: "Share of the chosen positions replaced by [MASK] (default 0.85).") var maskFraction: Float?
    @Flag(help: "Continue from the newest complete checkpoint in --out; options not given are the run's.") var resume = false
    @Option(help: "Start from the weights of a HuggingFace ELECTRA folder (electra-train export output, or a discriminator folder with an optional generator/ beside it).")
    var initFrom: String?

    func validate() throws {
        if let preset, ElectraConfig.preset(preset, vocabSize: 100) == nil {
            throw ValidationError("unknown --preset \(preset): choose one of \(ElectraConfig.presetNames.joined(separator: ", "))")
        }
        for (name, value) in [("--steps", steps), ("--batch-size", batchSize), ("--log-every", logEvery), ("--threads", threads),
                              ("--eval-batches", evalBatches), ("--keep-checkpoints", keepCheckpoints)] {
            if let value, value < 1 { throw ValidationError("\(name) must be at least 1 (got \(value))") }
        }
        for (name, value) in [("--warmup-steps", warmupSteps), ("--eval-every", evalEvery), ("--save-every", saveEvery)] {
            if let value, value < 0 { throw ValidationError("\(name) must be 0 or more (got \(value))") }
        }
        if let learningRate, !(learningRate > 0 && learningRate.isFinite) { throw ValidationError("--learning-rate must be a positive number (got \(learningRate))") }
        if let maskProb, !(maskProb > 0 && maskProb < 1) { throw ValidationError("--mask-prob must be in (0, 1) (got \(maskProb))") }
        if let maskFraction, !(maskFraction >= 0 && maskFraction <= 1) { throw ValidationError("--mask-fraction must be in [0, 1] (got \(maskFraction))") }
    }

    func run() throws {
        setvbuf(stdout, nil, _IOLBF, 0)   // progress lines appear as they happen, also in logs
        setComputeThreads(threads)
        let runURL = URL(fileURLWithPath: out)
        let index = try ShardIndex(directory: URL(fileURLWithPath: shards))
        // On --resume, what is not given on the command line is the run's (from its newest checkpoint).
        let previous = resume ? try resumableSettings(run: runURL) : nil
        let modelGiven = preset != nil || embeddingSize != nil || hiddenSize != nil || layers != nil || heads != nil
            || generatorFraction != nil || dropout != nil
        var config: ElectraConfig
        if let previous, !modelGiven {
            config = previous.config
        } else {
            config = ElectraConfig.preset(preset ?? "tiny", vocabSize: index.meta.vocabSize)!
            if embeddingSize != nil || hiddenSize != nil || layers != nil || heads != nil || generatorFraction != nil {
                config = ElectraConfig(vocabSize: index.meta.vocabSize, embeddingSize: embeddingSize ?? config.embeddingSize,
                                       hiddenSize: hiddenSize ?? config.hiddenSize, numLayers: layers ?? config.numLayers,
                                       numHeads: heads ?? (hiddenSize == nil ? config.numHeads : nil),
                                       generatorFraction: generatorFraction ?? Double(config.generatorHiddenSize) / Double(config.hiddenSize),
                                       maxPositions: max(config.maxPositions, index.meta.maxSeqLength))
            }
            config.maxPositions = max(config.maxPositions, index.meta.maxSeqLength)
            config.dropout = dropout ?? 0.1
        }
        var options = previous?.options ?? {
            var o = TrainingOptions()
            o.steps = 300; o.batchSize = 32; o.warmupSteps = 50; o.seed = 0
            o.learningRate = ElectraConfig.presetLearningRate(preset ?? "tiny") ?? 1e-4
            o.logEvery = 10; o.evalEvery = 100; o.evalBatches = 4; o.saveEvery = 100; o.keepCheckpoints = 3
            o.maskProbability = 0.15; o.maskTokenFraction = 0.85
            return o
        }()
        if let steps { options.steps = steps }
        if let batchSize { options.batchSize = batchSize }
        if let learningRate { options.learningRate = learningRate }
        if let warmupSteps { options.warmupSteps = warmupSteps }
        if let seed { options.seed = seed }
        if let logEvery { options.logEvery = logEvery }
        if let evalEvery { options.evalEvery = evalEvery }
        if let evalBatches { options.evalBatches = evalBatches }
        if let saveEvery { options.saveEvery = saveEvery }
        if let keepCheckpoints { options.keepCheckpoints = keepCheckpoints }
        if let maskProb { options.maskProbability = maskProb }
        if let maskFraction { options.maskTokenFraction = maskFraction }
        if let previous, options.steps <= previous.step {
            throw ValidationError("\(out) is already at step \(previous.step): pass --steps above \(previous.step) to train further")
        }
        let initial = try initFrom.map { (tensors: try loadHuggingFaceInit($0, config: config), source: $0) }
        let trainer = try Trainer(config: config, options: options, shards: URL(fileURLWithPath: shards),
                                  runDirectory: runURL, resume: resume, initialParameters: initial)
        let blas = blasReport()   // the kernel in use and a 0.1 s sgemm probe, for the header and metrics.jsonl
        trainer.systemRecord = blas.jsonFields
        if let step = ProcessInfo.processInfo.environment["ELECTRA_TRAIN_KILL_DURING_CHECKPOINT"].flatMap(Int.init) {
            // Fault injection for tools/check-resume.sh: die as a power cut would, mid-checkpoint.
            trainer.checkpointWriteHook = { if $0 == step { kill(getpid(), SIGKILL) } }
        }
        let total = options.steps
        let progress = ProgressLine(enabled: isatty(1) != 0)
        var lastEval: [(String, Double)] = []
        var secondsPerStep = 0.0
        try trainer.run { event in
            switch event {
            case .started(let lines):
                print("electra-train: \(out), preset \(preset ?? (previous != nil && !modelGiven ? "of the run" : "tiny"))")
                (lines + ["blas: " + blas.summary]).forEach { print("  " + $0) }
            case .resumed(let step, let from):
                print("resumed at step \(step) from \(from)")
            case .progress(let step, let loss, let tokensPerSecond, let perStep):
                secondsPerStep = perStep
                progress.update(String(format: "step %d/%d  loss %.3f  %.0f tok/s", step, total, loss, tokensPerSecond)
                                + "  ETA " + formatDuration(perStep * Double(total - step)))
            case .logged(let step, let values):
                let v = Dictionary(uniqueKeysWithValues: values)
                progress.print(String(format: "step %d/%d  loss %.3f  gen %.3f (acc %.3f)  disc %.4f (auc %.3f)  lr %.2e  %.0f tok/s",
                                      step, total, v["loss"] ?? 0, v["generator_loss"] ?? 0, v["generator_accuracy"] ?? 0,
                                      v["discriminator_loss"] ?? 0, v["discriminator_auc"] ?? 0, v["learning_rate"] ?? 0,
                                      v["tokens_per_second"] ?? 0) + "  ETA " + formatDuration(secondsPerStep * Double(total - step)))
            case .evaluated(let step, let values):
                lastEval = values
                let v = Dictionary(uniqueKeysWithValues: values)
                progress.print(String(format: "eval @ %d: loss %.3f  generator accuracy %.3f  discriminator auc %.3f  accuracy %.3f",
                                      step, v["loss"] ?? 0, v["generator_accuracy"] ?? 0, v["discriminator_auc"] ?? 0,
                                      v["discriminator_accuracy"] ?? 0))
            case .checkpointed(_, let path):
                progress.print("checkpoint: \(path)")
            case .skippedFrames(let frames):
                progress.clear()
                frames.forEach { FileHandle.standardError.write(Data("warning: skipped \($0)\n".utf8)) }
            }
        }
        progress.clear()
        if !lastEval.isEmpty {
            print("held-out metrics:")
            for (k, v) in lastEval { print("  " + k.padding(toLength: 26, withPad: " ", startingAt: 0) + String(format: "%.4f", v)) }
        }
        print("metrics: \(out)/metrics.jsonl (plot: electra-train report \(out))")
    }
}

/// A progress line redrawn in place on a terminal (at most 10 times a second); nothing otherwise.
final class ProgressLine {
    let enabled: Bool
    private var shown = false
    private var lastDraw = 0.0

    init(enabled: Bool) { self.enabled = enabled }

    func update(_ text: String) {
        guard enabled else { return }
        let now = Date().timeIntervalSinceReferenceDate
        guard now - lastDraw >= 0.1 else { return }
        lastDraw = now
        Swift.print("\r\u{1B}[K" + text, terminator: "")
        fflush(stdout)
        shown = true
    }

    /// Prints a whole line (above the progress line, which the next update redraws).
    func print(_ line: String) {
        clear()
        Swift.print(line)
    }

    func clear() {
        guard shown else { return }
        Swift.print("\r\u{1B}[K", terminator: "")
        fflush(stdout)
        shown = false
    }
}

/// "42s", "3m05s", "1h02m".
func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "?" }
    let s = Int(seconds.rounded())
    if s < 60 { return "\(s)s" }
    if s < 3600 { return String(format: "%dm%02ds", s / 60, s % 60) }
    return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60)
}
