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
        abstract: "Fine-tune a pre-trained discriminator on a classification, regression or tagging task.",
        discussion: "Tasks: \(TaskSpec.glueNames.joined(separator: ", ")) (GLUE's TSV files), custom (--text-column ...), tagging (CoNLL-style token<TAB>tag files, BIO tags; --token-column, --tag-column), or squad (SQuAD v1.1/v2.0 JSON; --max-seq-length, --doc-stride, --max-query-length). Writes OUT/metrics.jsonl, OUT/best.bin (the best dev epoch), OUT/checkpoint.bin; electra-train export OUT writes it for transformers.")

    @Option(help: "The model: a pre-training run (runs/NAME), an exported discriminator (hf/NAME or hf/NAME/discriminator).") var model: String
    @Option(help: "A GLUE task name, custom, tagging, or squad.") var task: String
    @Option(help: "Training file.") var train: String
    @Option(help: "Dev file, evaluated after every epoch (the best checkpoint is chosen on it); repeat for more (MNLI: matched, then mismatched).") var dev: [String] = []
    @Option(help: "Run directory (default: runs/<model name>-<task>).") var out: String?
    @Option(help: "custom: the text column (a header name; for JSONL a key).") var textColumn: String?
    @Option(help: "custom: the second text column of a pair task.") var textPairColumn: String?
    @Option(help: "custom: the label column.") var labelColumn = "label"
    @Option(help: "custom: the class names in order; tagging: the tags (default: those of the training file, sorted).") var labels: String?
    @Option(help: "squad: tokens per window, [CLS] and [SEP]s included (ELECTRA's 512).") var maxSeqLength = 512
    @Option(help: "squad: tokens two windows of one context share.") var docStride = 128
    @Option(help: "squad: the question is cut to this many tokens.") var maxQueryLength = 64
    @Flag(help: "squad: refuse a file with a bad question (default: skip it, counted and named by question id).") var strict = false
    @Option(help: "tagging: the token's column, from 1.") var tokenColumn = 1
    @Option(help: "tagging: the tag's column, from 1 (default: the last).") var tagColumn: Int?
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
        if task == "squad" {
            spec = .squad(windowing: SquadWindowing(maxSeqLength: maxSeqLength, maxQueryLength: maxQueryLength, docStride: docStride),
                          version: .v1)   // the version is the training file's
        } else if task == "tagging" {
            guard tokenColumn >= 1, (tagColumn ?? 2) >= 1 else { throw ValidationError("--token-column and --tag-column count from 1") }
            spec = .tagging(layout: ConllLayout(tokenColumn: tokenColumn - 1, tagColumn: tagColumn.map { $0 - 1 }),
                            labels: labels.map { $0.split(separator: ",").map(String.init) } ?? [])
        } else if task == "custom" {
            guard let textColumn else { throw ValidationError("--task custom needs --text-column (and --label-column if it is not \"label\")") }
            spec = TaskSpec(name: "custom", format: TableFormat.of(path: train) ?? .tsv, hasHeader: true, text: .name(textColumn),
                            textPair: textPairColumn.map { .name($0) }, label: .name(labelColumn),
                            labels: labels.map { $0.split(separator: ",").map(String.init) } ?? [], regression: regression,
                            metric: regression ? .correlation : .accuracy)
            guard TableFormat.of(path: train) != nil else { throw ValidationError("\(train): name it .tsv, .csv or .jsonl so that its format is known") }
        } else {
            guard let glue = TaskSpec.glue(task) else {
                throw ValidationError("unknown task \(task): one of \(TaskSpec.glueNames.joined(separator: ", ")), custom, tagging, or squad")
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

        let created = !FileManager.default.fileExists(atPath: runURL.path)
        try prepareWritableDirectory(runURL)   // a read-only --out: refused before any work
        defer {   // refused input: the directory made for it goes again (nothing was written in it)
            if created, (try? FileManager.default.contentsOfDirectory(atPath: runURL.path))?.isEmpty == true {
                try? FileManager.default.removeItem(at: runURL)
            }
        }
        // Read, label and tokenize (nothing is written before the input is known to be usable).
        let vocabulary = try Vocabulary(tokens: source.vocabulary)
        let specialIDs = (Int32(vocabulary.padID), Int32(vocabulary.clsID), Int32(vocabulary.sepID))
        let prepared: Prepared
        switch spec.metric {
        case .entityF1: prepared = try prepareTagging(&spec, options: options, vocabulary: vocabulary, tokenizer: source.tokenizer, specialIDs: specialIDs)
        case .squad: prepared = try prepareSquad(&spec, options: options, vocabulary: vocabulary, tokenizer: source.tokenizer, specialIDs: specialIDs,
                                                 maxPositions: source.config.maxPositions)
        default: prepared = try prepareClassification(&spec, options: options, vocabulary: vocabulary, tokenizer: source.tokenizer, specialIDs: specialIDs)
        }
        var setup = FineTuneSetup(task: spec, options: options, config: source.config, seqLength: prepared.seqLength,
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
        // An export of the same task with the same labels brings its head; otherwise the head starts random.
        var initial = fromScratch ? [:] : source.tensors
        let headOut = initial["classifier.out_proj.weight"] ?? initial["classifier.weight"]
        if let headOut, headOut.shape.first != setup.numLabels || source.setup.map({ $0.task.metric != spec.metric }) ?? false {
            initial = initial.filter { !$0.key.hasPrefix("classifier.") }
        }
        if spec.metric != .squad { initial = initial.filter { !$0.key.hasPrefix("qa_outputs.") } }
        let tuner = try FineTuner(setup: setup, run: runURL, workload: try prepared.makeWorkload(setup), initial: initial, resume: resume)
        print("electra-train finetune: \(spec.name) from \(fromScratch ? "random initialization, the sizes of " : "")\(source.description)")
        print("  " + prepared.summary)
        print("  \(counted(tuner.totalSteps, "step")) (\(counted(options.epochs, "epoch")) x \(tuner.stepsPerEpoch)), batch \(options.batchSize) x \(setup.seqLength) tokens, lr \(options.learningRate), layer-wise decay \(options.layerwiseDecay)")
        let progress = ProgressLine(enabled: isatty(1) != 0)
        let start = Date()
        Interruption.install(command: "electra-train finetune", atOnce: "\(outPath)/checkpoint.bin holds the last complete checkpoint; continue with --resume")
        let outcome = try tuner.fit(checkpointEvery: checkpointEvery, stopRequested: { Interruption.requested }) { event in
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
        if case .stopped(let step) = outcome {
            Interruption.report("electra-train finetune", "stopped after step \(step), checkpoint \(outPath)/checkpoint.bin written; to continue: \(resumeCommand(adding: "--resume"))")
        }
        print("done in \(formatDuration(Date().timeIntervalSince(start))); metrics: \(outPath)/metrics.jsonl (plot: electra-train report \(outPath)); export: electra-train export \(outPath) --out DIR")
    }

    /// What the two kinds of task hand to the common part of `run`.
    struct Prepared {
        var seqLength: Int
        var summary: String
        var makeWorkload: (FineTuneSetup) throws -> any FineTuningWorkload
    }

    /// Classification and regression: the table files, their labels and features.
    func prepareClassification(_ spec: inout TaskSpec, options: FineTuningOptions, vocabulary: Vocabulary, tokenizer: TokenizerOptions,
                               specialIDs: (Int32, Int32, Int32)) throws -> Prepared {
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
            warnBadRows(file.path, file.badRows, of: file.badRows.count + file.examples.count, unit: "rows")
        }
        var encoder = FeatureEncoder(vocabulary: vocabulary, options: tokenizer, maxLength: options.maxLength)
        let rowsRead = trainFile.examples.count
        let labels = spec.labels, regression = spec.regression
        let trainFeatures = options.trainingExamples(trainFile.examples).map { encoder.encode($0, labels: labels, regression: regression) }
        let devSets = devFiles.map { $0.examplesWithUnknownLabels.map { encoder.encode($0, labels: labels, regression: regression) } }
        let devFeatures = devSets.first ?? []
        let longest = (trainFeatures + devSets.flatMap { $0 }).map(\.ids.count).max() ?? 2
        let extra = zip(dev, devSets).dropFirst().map { (URL(fileURLWithPath: $0.0).deletingPathExtension().lastPathComponent, $0.1) }
        var summary = "\(counted(trainFeatures.count, "training row"))\(trainFeatures.count > rowsRead ? " (\(counted(rowsRead, "pair")) in both orders)" : ""), \(counted(devFeatures.count, "dev row")), \(spec.regression ? "regression" : "labels " + spec.labels.joined(separator: ","))"
        for file in devFiles where !file.unknownLabels.isEmpty {
            let names = Set(file.unknownLabels.compactMap(\.label)).sorted().map { "\"\($0)\"" }.joined(separator: ", ")
            summary += "\n  \(file.path): \(file.unknownLabels.count) rows with labels \(knownFrom) lacks (\(names)) are evaluated as wrong predictions (--unknown-dev-labels wrong)"
        }
        return Prepared(seqLength: max(longest, 2), summary: summary) { setup in
            let workload = try ClassificationWorkload(setup: setup, train: trainFeatures, dev: devFeatures, specialIDs: specialIDs)
            workload.extraDev = extra
            return workload
        }
    }

    /// Tagging: the CoNLL files, their tags (a dev tag never seen in training is refused) and features.
    func prepareTagging(_ spec: inout TaskSpec, options: FineTuningOptions, vocabulary: Vocabulary, tokenizer: TokenizerOptions,
                        specialIDs: (Int32, Int32, Int32)) throws -> Prepared {
        guard dev.count <= 1 else { throw ValidationError("tagging takes one --dev file") }
        let layout = spec.layout ?? ConllLayout()
        let trainFile = try readConllFile(train, layout: layout)
        let devFile = try dev.first.map { try readConllFile($0, layout: layout) }
        for file in [trainFile] + (devFile.map { [$0] } ?? []) where !file.badLines.isEmpty {
            warnBadLines(file, what: "skipped")
        }
        if spec.labels.isEmpty {
            spec.labels = tagsOf(trainFile.sentences)
            guard spec.labels.count >= 2 else { throw ValidationError("\(train): only one tag (\(spec.labels.first ?? "")) in the training file; pass --labels") }
        } else if let unknown = unknownTags(trainFile.sentences, known: spec.labels, file: train).first {
            throw ValidationError("\(unknown.first): tag \(unknown.tag) is not in --labels (\(unknown.count) times in \(train))")
        }
        if let devFile {
            let unknown = unknownTags(devFile.sentences, known: spec.labels, file: devFile.path)
            guard unknown.isEmpty else {
                let list = unknown.map { "  \($0.tag): \($0.count) times, first at \($0.first)" }.joined(separator: "\n")
                throw ValidationError("\(devFile.path): \(unknown.count) tag(s) never seen in the training file \(train), which the model could not predict:\n\(list)\n---> HINT: pass every tag with --labels (e.g. --labels \((spec.labels + unknown.map(\.tag)).sorted().joined(separator: ","))), or check that the files use the same tag set")
            }
        }
        var encoder = TaggingEncoder(vocabulary: vocabulary, options: tokenizer, maxLength: options.maxLength)
        let labels = spec.labels
        let trainFeatures = trainFile.sentences.map { encoder.encode($0, labels: labels) }
        let devSentences = devFile?.sentences ?? []
        let devFeatures = devSentences.map { encoder.encode($0, labels: labels) }
        let longest = (trainFeatures + devFeatures).map(\.ids.count).max() ?? 2
        let cut = (trainFeatures + devFeatures).filter { $0.wordStarts.contains(-1) }.count
        let summary = "\(trainFeatures.count) training sentences (\(trainFile.tokenCount) words), \(devFeatures.count) dev sentences, \(labels.count) tags \(labels.joined(separator: ","))"
            + (cut > 0 ? "; \(cut) sentences have words without a token (cut at --max-length \(options.maxLength), or nothing left after cleaning): those words count as O" : "")
        return Prepared(seqLength: max(longest, 2), summary: summary) { setup in
            try TaggingWorkload(setup: setup, train: trainFeatures, dev: devFeatures, devSentences: devSentences, specialIDs: specialIDs)
        }
    }

    /// Question answering: the SQuAD files (the training file's version), windows and labels.
    func prepareSquad(_ spec: inout TaskSpec, options: FineTuningOptions, vocabulary: Vocabulary, tokenizer: TokenizerOptions,
                      specialIDs: (Int32, Int32, Int32), maxPositions: Int) throws -> Prepared {
        guard dev.count <= 1 else { throw ValidationError("squad takes one --dev file") }
        guard var windowing = spec.windowing else { throw ValidationError("squad: no window sizes") }
        guard windowing.maxSeqLength <= maxPositions else {
            throw ValidationError("--max-seq-length \(windowing.maxSeqLength) is more than the model's \(maxPositions) positions")
        }
        windowing.maxSeqLength = max(windowing.maxSeqLength, 4)
        let trainFile = try readSquadFile(train, strict: strict)
        let devFile = try dev.first.map { try readSquadFile($0, strict: strict) }
        for file in [trainFile] + (devFile.map { [$0] } ?? []) where !file.problems.isEmpty {
            FileHandle.standardError.write(Data("warning: \(file.path): skipped \(file.problems.count) bad question(s) of \(file.problems.count + file.examples.count)\n".utf8))
            for p in file.problems.prefix(10) { FileHandle.standardError.write(Data("  \(p)\n".utf8)) }
            if file.problems.count > 10 { FileHandle.standardError.write(Data("  ... and \(file.problems.count - 10) more\n".utf8)) }
        }
        spec.squadVersion = trainFile.version
        let version = devFile?.version == .v2 ? SquadVersion.v2 : trainFile.version
        var tokenizerInstance = BertTokenizer(vocabulary: vocabulary, options: tokenizer)
        let trainFeatures = try squadFeatures(trainFile.examples, tokenizer: &tokenizerInstance, windowing: windowing)
        let devExamples = devFile?.examples ?? []
        let devFeatures = try squadFeatures(devExamples, tokenizer: &tokenizerInstance, windowing: windowing)
        let longest = (trainFeatures + devFeatures).map(\.ids.count).max() ?? 2
        let answerable = trainFeatures.filter { $0.start != 0 }.count
        let summary = "\(trainFile.examples.count) training questions (SQuAD \(trainFile.version.rawValue)) in \(trainFeatures.count) windows (\(answerable) holding the answer), \(devExamples.count) dev questions in \(devFeatures.count) windows; windows of \(windowing.maxSeqLength) tokens, doc stride \(windowing.docStride), questions cut to \(windowing.maxQueryLength)"
        return Prepared(seqLength: max(longest, 2), summary: summary) { setup in
            try QuestionAnsweringWorkload(setup: setup, train: trainFeatures, dev: devFeatures, devExamples: devExamples, version: version,
                                          specialIDs: specialIDs)
        }
    }
}

/// Prints the bad rows (lines) of a file on standard error: a count and the first ten.
func warnBadRows(_ path: String, _ bad: [BadRow], of total: Int, unit: String) {
    FileHandle.standardError.write(Data("warning: \(path): skipped \(bad.count) bad \(unit) of \(total)\n".utf8))
    for row in bad.prefix(10) { FileHandle.standardError.write(Data("  \(row)\n".utf8)) }
    if bad.count > 10 { FileHandle.standardError.write(Data("  ... and \(bad.count - 10) more\n".utf8)) }
}

/// Prints a CoNLL file's bad lines on standard error: the counts and the first ten.
func warnBadLines(_ file: ConllFile, what: String) {
    FileHandle.standardError.write(Data("warning: \(file.path): \(file.badLines.count) bad lines; \(file.skippedSentences) sentences \(what), \(file.sentences.count) kept\n".utf8))
    for row in file.badLines.prefix(10) { FileHandle.standardError.write(Data("  \(row)\n".utf8)) }
    if file.badLines.count > 10 { FileHandle.standardError.write(Data("  ... and \(file.badLines.count - 10) more\n".utf8)) }
}

/// What `finetune` does with dev rows whose label the task lacks.
enum UnknownDevLabels: String, ExpressibleByArgument, CaseIterable {
    /// Stop, naming the labels and their rows.
    case refuse
    /// Evaluate those rows as wrong predictions.
    case wrong
}
