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
    @Option(help: "Model size: \(ElectraConfig.presetNames.joined(separator: ", ")).")
    var preset = "tiny"
    @Option(help: "Override the embedding size of the preset.") var embeddingSize: Int?
    @Option(help: "Override the discriminator hidden size.") var hiddenSize: Int?
    @Option(help: "Override the number of layers (both models).") var layers: Int?
    @Option(help: "Override the discriminator's attention heads.") var heads: Int?
    @Option(help: "Generator hidden size as a fraction of the discriminator's.") var generatorFraction: Double?
    @Option(help: "Training steps (optimizer updates).") var steps = 300
    @Option(help: "Sequences per batch.") var batchSize = 32
    @Option(help: "Peak learning rate.") var learningRate: Float = 5e-4
    @Option(help: "Linear warm-up steps.") var warmupSteps = 30
    @Option(help: "Seed of everything random (initialization, masking, sampling, dropout, shuffling).") var seed: UInt64 = 0
    @Option(help: "The run directory.") var out = "runs/tiny"
    @Option(help: "Threads for matrix products.") var threads = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Write training metrics every K steps.") var logEvery = 10
    @Option(help: "Evaluate on the held-out split every E steps (0: only at the end).") var evalEvery = 100
    @Option(help: "Held-out batches per evaluation.") var evalBatches = 4
    @Option(help: "Write a checkpoint every C steps (and at the end).") var saveEvery = 100
    @Option(help: "Checkpoints to keep.") var keepCheckpoints = 3
    @Option(help: "Share of tokens to predict.") var maskProb: Float = 0.15
    @Option(help: "Share of the chosen positions replaced by [MASK].") var maskFraction: Float = 0.85
    @Flag(help: "Continue from the newest complete checkpoint in --out.") var resume = false

    func validate() throws {
        if ElectraConfig.preset(preset, vocabSize: 100) == nil {
            throw ValidationError("unknown --preset \(preset): choose one of \(ElectraConfig.presetNames.joined(separator: ", "))")
        }
        if steps < 1 || batchSize < 1 || logEvery < 1 || threads < 1 { throw ValidationError("--steps, --batch-size, --log-every and --threads must be at least 1") }
        if !(maskProb > 0 && maskProb < 1) || !(maskFraction >= 0 && maskFraction <= 1) { throw ValidationError("--mask-prob must be in (0, 1) and --mask-fraction in [0, 1]") }
    }

    func run() throws {
        setComputeThreads(threads)
        let index = try ShardIndex(directory: URL(fileURLWithPath: shards))
        var config = ElectraConfig.preset(preset, vocabSize: index.meta.vocabSize)!
        if embeddingSize != nil || hiddenSize != nil || layers != nil || heads != nil || generatorFraction != nil {
            config = ElectraConfig(vocabSize: index.meta.vocabSize, embeddingSize: embeddingSize ?? config.embeddingSize,
                                   hiddenSize: hiddenSize ?? config.hiddenSize, numLayers: layers ?? config.numLayers,
                                   numHeads: heads ?? (hiddenSize == nil ? config.numHeads : nil),
                                   generatorFraction: generatorFraction ?? Double(config.generatorHiddenSize) / Double(config.hiddenSize),
                                   maxPositions: max(config.maxPositions, index.meta.maxSeqLength))
        }
        config.maxPositions = max(config.maxPositions, index.meta.maxSeqLength)
        var options = TrainingOptions()
        options.steps = steps; options.batchSize = batchSize; options.learningRate = learningRate
        options.warmupSteps = warmupSteps; options.seed = seed; options.logEvery = logEvery
        options.evalEvery = evalEvery; options.evalBatches = evalBatches; options.saveEvery = saveEvery
        options.keepCheckpoints = keepCheckpoints; options.maskProbability = maskProb; options.maskTokenFraction = maskFraction
        let trainer = try Trainer(config: config, options: options, shards: URL(fileURLWithPath: shards),
                                  runDirectory: URL(fileURLWithPath: out), resume: resume)
        let tty = isatty(1) != 0
        var lastEval: [(String, Double)] = []
        let start = Date()
        try trainer.run { event in
            switch event {
            case .started(let lines):
                print("electra-train: \(out), preset \(preset)")
                lines.forEach { print("  " + $0) }
            case .resumed(let step, let from):
                print("resumed at step \(step) from \(from)")
            case .logged(let step, let values):
                let v = Dictionary(uniqueKeysWithValues: values)
                let elapsed = Date().timeIntervalSince(start)
                let eta = elapsed / Double(max(1, step - (trainer.options.steps - steps))) * Double(steps - step)
                let line = String(format: "step %d/%d  loss %.3f  gen %.3f (acc %.3f)  disc %.4f (auc %.3f)  lr %.2e  %.0f tok/s  ETA %.0fs",
                                  step, steps, v["loss"] ?? 0, v["generator_loss"] ?? 0, v["generator_accuracy"] ?? 0,
                                  v["discriminator_loss"] ?? 0, v["discriminator_auc"] ?? 0, v["learning_rate"] ?? 0,
                                  v["tokens_per_second"] ?? 0, max(0, eta))
                print(tty ? line : line)
            case .evaluated(let step, let values):
                lastEval = values
                let v = Dictionary(uniqueKeysWithValues: values)
                print(String(format: "eval @ %d: loss %.3f  generator accuracy %.3f  discriminator auc %.3f  accuracy %.3f",
                             step, v["loss"] ?? 0, v["generator_accuracy"] ?? 0, v["discriminator_auc"] ?? 0,
                             v["discriminator_accuracy"] ?? 0))
            case .checkpointed(_, let path):
                print("checkpoint: \(path)")
            case .skippedFrames(let frames):
                frames.forEach { FileHandle.standardError.write(Data("warning: skipped \($0)\n".utf8)) }
            }
        }
        if !lastEval.isEmpty {
            print("held-out metrics:")
            for (k, v) in lastEval { print("  " + k.padding(toLength: 26, withPad: " ", startingAt: 0) + String(format: "%.4f", v)) }
        }
        print("metrics: \(out)/metrics.jsonl (plot: electra-train report \(out))")
    }
}
