// electra-train finetune: the discriminator on a downstream task (GLUE or a custom file), with
// google-research/electra's fine-tuning hyperparameters (configure_finetuning.py).
import ArgumentParser
import CommandLineSupport
import Durability
import FineTuning
import Foundation
import Kernels
import Model
import Tokenization

struct Finetune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fine-tune a pre-trained discriminator on a classification or regression task.",
        discussion: "Tasks: \(TaskSpec.glueNames.joined(separator: ", ")) (GLUE's TSV files), or custom (--text-column ...). Writes OUT/metrics.jsonl, OUT/best.bin (the best dev epoch), OUT/checkpoint.bin; electra-train export OUT writes it for transformers.")

    @Option(help: "The model: a pre-training run (runs/NAME), an exported discriminator (hf/NAME or hf/NAME/discriminator).") var model: String
    @Option(help: "A GLUE task name, or custom.") var task: String
    @Option(help: "Training file.") var train: String
    @Option(help: "Dev file, evaluated after every epoch (the best checkpoint is chosen on it); repeat for more (MNLI: matched, then mismatched).") var dev: [String] = []
    @Option(help: "Run directory (default: runs/<model name>-<task>).") var out: String?
    @Option(help: "custom: the text column (a header name; for JSONL a key).") var textColumn: String?
    @Option(help: "custom: the second text column of a pair task.") var textPairColumn: String?
    @Option(help: "custom: the label column.") var labelColumn = "label"
    @Option(help: "custom: the class names in order (default: those of the training file, sorted).") var labels: String?
    @Flag(help: "custom: a regression task (one output, mean squared error).") var regression = false
    @Option(help: "Dev rows whose label is not one of the task's (the training file's, or --labels; compared case included): refuse stops the run, naming them; wrong evaluates them as wrong predictions (without a dev loss).")
    var unknownDevLabels: UnknownDevLabels = .refuse
    @Option(help: "Peak learning rate (configure_finetuning.py: 1e-4; the paper uses 3e-4 for Small).") var learningRate: Float = 1e-4
    @Option(help: "Layer-wise learning-rate decay (0.8; 0 turns it off).") var layerwiseDecay: Float = 0.8
    @Option(help: "Weight decay.") var weightDecay: Float = 0.01
    @Option(help: "Warm-up as a fraction of the steps.") var warmupProportion: Float = 0.1
    @Option(help: "Batch size.") var batchSize = 32
    @Option(help: "Epochs (default: 10 for rte and sts-b, 3 otherwise).") var epochs: Int?
    @Option(help: "Maximum tokens per example, [CLS] and [SEP]s included.") var maxLength = 128
    @Option(help: "Dropout.") var dropout: Float = 0.1
    @Flag(inversion: .prefixedNo, help: "Train the pairs in both orders (configure_finetuning.py's double_unordered; default: on for mrpc and sts-b, off otherwise).") var doubleUnordered: Bool?
    @Option(help: "Seed (initialization of the head, dropout, data order).") var seed: UInt64 = 0
    @Option(help: "Also write a checkpoint every N steps (always after each epoch).") var checkpointEvery = 0
    @Option(help: "Threads for matrix products.") var threads = ProcessInfo.processInfo.activeProcessorCount
    @Flag(help: "Continue the run in --out from its checkpoint.") var resume = false
    @Flag(help: "Ignore the model's weights (only its sizes and vocabulary): the baseline without pre-training.") var fromScratch = false

    func run() throws {
        setComputeThreads(threads)
        guard batchSize > 0, maxLength >= 3, (epochs ?? 1) > 0 else { throw ValidationError("--batch-size, --epochs must be positive and --max-length at least 3") }
        let source = try loadEncoderSource(model)
        var spec: TaskSpec
        if task == "custom" {
            guard let textColumn else { throw ValidationError("--task custom needs --text-column (and --label-column if it is not \"label\")") }
            spec = TaskSpec(name: "custom", format: TableFormat.of(path: train) ?? .tsv, hasHeader: true, text: .name(textColumn),
                            textPair: textPairColumn.map { .name($0) }, label: .name(labelColumn),
                            labels: labels.map { $0.split(separator: ",").map(String.init) } ?? [], regression: regression,
                            metric: regression ? .correlation : .accuracy)
            guard TableFormat.of(path: train) != nil else { throw ValidationError("\(train): name it .tsv, .csv or .jsonl so that its format is known") }
        } else {
            guard let glue = TaskSpec.glue(task) else {
                throw ValidationError("unknown task \(task): one of \(TaskSpec.glueNames.joined(separator: ", ")), or custom")
            }
            spec = glue
        }
        var options = FineTuningOptions()
        options.learningRate = learningRate; options.layerwiseDecay = layerwiseDecay; options.weightDecay = weightDecay
        options.warmupProportion = warmupProportion; options.batchSize = batchSize; options.epochs = epochs ?? spec.epochs
        options.maxLength = min(maxLength, source.config.maxPositions); options.dropout = dropout; options.seed = seed
        if doubleUnordered ?? TaskSpec.unorderedPairTasks.contains(spec.name) {
            guard spec.textPair != nil else { throw ValidationError("--double-unordered needs a pair task (--text-pair-column)") }
            options.doubleUnordered = true
        }

        let outPath = out ?? "runs/\(URL(fileURLWithPath: model).lastPathComponent)-\(spec.name)"
        let runURL = URL(fileURLWithPath: outPath)
        let existing = FileManager.default.fileExists(atPath: runURL.appendingPathComponent("checkpoint.bin").path)
        if existing && !resume {
            throw ValidationError("\(outPath) already holds a fine-tuning run: pass --resume to continue it, or choose another --out")
        }
        if resume && !existing { throw ValidationError("\(outPath): no checkpoint to resume (leave out --resume to start)") }

        // Read, label and tokenize.
        let trainFile = try readTaskFile(train, spec: spec)
        if spec.labels.isEmpty && !spec.regression {
            spec.labels = labelsOf(trainFile.examples)
            guard spec.labels.count >= 2 else { throw ValidationError("\(train): only one label (\(spec.labels.first ?? "")) in the training file; pass --labels") }
        }
        // A row whose label the task lacks is never skipped: dropping dev rows would inflate its
        // metrics. Training rows can only lack a label of --labels or of a GLUE task.
        let knownFrom = labels != nil ? "--labels" : (task == "custom" ? "the training file" : "task \(spec.name)")
        if let error = trainFile.unknownLabelsError(known: spec.labels, source: knownFrom,
                                                     hint: labels != nil ? "--labels must name every label of the training file, case included"
                                                                         : "check that --task \(spec.name) matches the file") {
            throw error
        }
        let devFiles = try dev.map { try readTaskFile($0, spec: spec) }
        if unknownDevLabels == .refuse {
            for file in devFiles {
                if let error = file.unknownLabelsError(known: spec.labels, source: knownFrom,
                                                       hint: "fix the labels of \(file.path)\(labels != nil ? " or --labels" : task == "custom" ? " or of the training file" : ""), or pass --unknown-dev-labels wrong to evaluate these rows as wrong predictions") {
                    throw error
                }
            }
        }
        for file in [trainFile] + devFiles where !file.badRows.isEmpty {
            FileHandle.standardError.write(Data("warning: \(file.path): skipped \(counted(file.badRows.count, "bad row")) of \(file.badRows.count + file.examples.count)\n".utf8))
            for row in file.badRows.prefix(10) { FileHandle.standardError.write(Data("  \(row)\n".utf8)) }
            if file.badRows.count > 10 { FileHandle.standardError.write(Data("  ... and \(file.badRows.count - 10) more\n".utf8)) }
        }
        let vocabulary = try Vocabulary(tokens: source.vocabulary)
        var encoder = FeatureEncoder(vocabulary: vocabulary, options: source.tokenizer, maxLength: options.maxLength)
        let rowsRead = trainFile.examples.count
        let trainFeatures = options.trainingExamples(trainFile.examples).map { encoder.encode($0, labels: spec.labels, regression: spec.regression) }
        let devSets = devFiles.map { $0.examplesWithUnknownLabels.map { encoder.encode($0, labels: spec.labels, regression: spec.regression) } }
        let devFeatures = devSets.first ?? []
        let longest = (trainFeatures + devSets.flatMap { $0 }).map(\.ids.count).max() ?? 2
        var setup = FineTuneSetup(task: spec, options: options, config: source.config, seqLength: max(longest, 2),
                                  model: model, train: train, dev: dev.first, tokenizer: tokenizerRecord(source.tokenizer))
        try FileManager.default.createDirectory(at: runURL, withIntermediateDirectories: true)
        // One process writes a run: RUN/.lock is held until this command ends.
        let lock: DirectoryLock
        do {
            lock = try DirectoryLock(runURL)
        } catch DirectoryLockError.busy {
            throw ValidationError("\(outPath): another electra-train process is writing to this run directory; wait for it or choose another --out")
        }
        defer { withExtendedLifetime(lock) {} }
        let setupURL = runURL.appendingPathComponent("finetune.json")
        if resume {
            let previous = try readSetup(runURL)
            guard previous.task == setup.task, previous.options == setup.options, previous.seqLength == setup.seqLength else {
                throw ValidationError("\(setupURL.path): the run was started with another task, data or options; resume with the same ones or choose another --out")
            }
            setup = previous
        } else {
            let json = JSONEncoder()
            json.outputFormatting = [.prettyPrinted, .sortedKeys]
            try writeFileAtomically(try json.encode(setup), to: setupURL)
            try writeFileAtomically(Data((source.vocabulary.joined(separator: "\n") + "\n").utf8), to: runURL.appendingPathComponent("vocab.txt"))
            try? FileManager.default.removeItem(at: runURL.appendingPathComponent("metrics.jsonl"))
        }
        // A classifier export with the same labels brings its head; otherwise the head starts random.
        var initial = fromScratch ? [:] : source.tensors
        if let head = initial["classifier.out_proj.weight"], head.shape.first != setup.numLabels {
            initial = initial.filter { !$0.key.hasPrefix("classifier.") }
        }
        let tuner = try FineTuner(setup: setup, run: runURL, train: trainFeatures, dev: devFeatures, initial: initial,
                                  specialIDs: (Int32(vocabulary.padID), Int32(vocabulary.clsID), Int32(vocabulary.sepID)), resume: resume)
        tuner.extraDev = zip(dev, devSets).dropFirst().map { (URL(fileURLWithPath: $0.0).deletingPathExtension().lastPathComponent, $0.1) }
        print("electra-train finetune: \(spec.name) from \(fromScratch ? "random initialization, the sizes of " : "")\(source.description)")
        print("  \(counted(trainFeatures.count, "training row"))\(trainFeatures.count > rowsRead ? " (\(counted(rowsRead, "pair")) in both orders)" : ""), \(counted(devFeatures.count, "dev row")), \(spec.regression ? "regression" : "labels " + spec.labels.joined(separator: ","))")
        for file in devFiles where !file.unknownLabels.isEmpty {
            let names = Set(file.unknownLabels.compactMap(\.label)).sorted().map { "\"\($0)\"" }.joined(separator: ", ")
            print("  \(file.path): \(file.unknownLabels.count) rows with labels \(knownFrom) lacks (\(names)) are evaluated as wrong predictions (--unknown-dev-labels wrong)")
        }
        print("  \(counted(tuner.totalSteps, "step")) (\(counted(options.epochs, "epoch")) x \(tuner.stepsPerEpoch)), batch \(options.batchSize) x \(setup.seqLength) tokens, lr \(options.learningRate), layer-wise decay \(options.layerwiseDecay)")
        let progress = ProgressLine(enabled: isatty(1) != 0)
        let start = Date()
        try tuner.fit(checkpointEvery: checkpointEvery) { event in
            switch event {
            case .resumed(let step):
                print("resumed at step \(step) from \(outPath)/checkpoint.bin")
            case .progress(let step, let total, let loss, let examples, let tokens):
                let perStep = Date().timeIntervalSince(start) / Double(step)
                progress.update(String(format: "step %d/%d  loss %.4f  %.1f examples/s  %.0f tok/s", step, total, loss, examples, tokens)
                                + "  ETA " + formatDuration(perStep * Double(total - step)))
            case .evaluated(let epoch, let step, let values, let best):
                progress.print("epoch \(epoch) (step \(step)) dev: " + values.map { "\($0.0) \(String(format: "%.4f", $0.1))" }.joined(separator: "  ")
                               + (best ? "  (best so far: best.bin)" : ""))
            }
        }
        progress.clear()
        print("done in \(formatDuration(Date().timeIntervalSince(start))); metrics: \(outPath)/metrics.jsonl (plot: electra-train report \(outPath)); export: electra-train export \(outPath) --out DIR")
    }
}

/// What `finetune` does with dev rows whose label the task lacks.
enum UnknownDevLabels: String, ExpressibleByArgument, CaseIterable {
    /// Stop, naming the labels and their rows.
    case refuse
    /// Evaluate those rows as wrong predictions.
    case wrong
}
