// `electra-prep shard`: tokenizes a corpus on all cores and packs it into ELECTRA pre-training
// examples in zstd shards indexed by SQLite (see data/FORMAT.md).
import ArgumentParser
import Corpus
import CommandLineSupport
import Durability
import Foundation
import Sharding
import Tokenization

extension BertTokenizer: LineEncoder {}

struct Shard: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tokenize and pack a corpus into ELECTRA pre-training shards (zstd + SQLite index).",
        usage: "electra-prep shard <corpus> ... [<options>]",
        discussion: """
        A blank line ends a document. Examples are packed as ELECTRA's \
        build_pretraining_dataset.py does (segments A and B, its 10% single-segment and 5% \
        short-target draws), every random draw seeded by --seed: the same inputs, options and seed \
        give the same bytes whatever --threads is. By default no token is lost (--packing lossless): \
        a line longer than an example is split into its sentences (then at the token limit), and the \
        sentence that crosses an example's end continues in the document's next example. \
        --packing original keeps build_pretraining_dataset.py's rules, which cut every line to \
        --max-seq-length tokens and drop the overflow of every example (fine for one short \
        sentence per line; most of a corpus with a paragraph or a document per line is lost); the \
        summary and `inspect` count the tokens in and the tokens kept.
        Running it again with more inputs adds only what is new (inputs are recognised by content \
        hash); after an interruption it finishes the job. Binary inputs (a NUL in the first 8 KB, or \
        a binary signature) and damaged compressed inputs are skipped with a warning; NUL bytes and \
        invalid UTF-8 further on are dropped as HF's clean-text does, and their lines counted. JSONL \
        inputs (--format jsonl, or .jsonl[.zst|.gz]): each record is a document. The tokenizer \
        options default to the vocabulary's tokenizer_config.json. Exits non-zero when inputs were \
        refused and nothing was sharded. The index only ever lists complete shards.
        """)

    @Argument(help: "Text files, directories (recursively) or - for standard input; .zst/.gz are decompressed (the bundled sample corpus: data/sample/).")
    var corpus: [String] = []

    @Option(help: "The WordPiece vocabulary (vocab.txt).")
    var vocab = "vocab/vocab.txt"

    @Option(help: "Output directory (index.sqlite and shards/).")
    var out = "data"

    @Option(help: "Tokens per example, [CLS] and [SEP] included.")
    var maxSeqLength = 128

    @Option(help: "Seed of every random draw of the packing.")
    var seed: UInt64 = 0

    @Option(help: "lossless: every token of every document in exactly one sequence; original: build_pretraining_dataset.py's rules, which drop what overflows.")
    var packing: PackingChoice = .lossless

    @Option(name: .customLong("threads"), help: "Tokenizer threads (default: all cores).")
    var threadCount: Int?
    /// --threads, else all cores (an optional flag: the help says "all cores", not this machine's count).
    var threads: Int { threadCount ?? ProcessInfo.processInfo.activeProcessorCount }

    @OptionGroup var tokenizer: TokenizerFlags

    @OptionGroup var input: FormatFlags

    @Option(help: "Sequences per zstd frame.")
    var sequencesPerFrame = 1024

    @Option(help: "Frames per shard file.")
    var framesPerShard = 64

    @Option(help: "zstd compression level (1-19).")
    var compressionLevel: Int32 = 3

    @Flag(help: "Print where the time went: start-up, and each thread's CPU seconds against the wall time (a thread busy all along is what limits the run).")
    var timings = false

    func validate() throws {
        if corpus.isEmpty { throw noCorpusError("shard", "to shard") }
        guard (5...65_535).contains(maxSeqLength) else { throw ValidationError("--max-seq-length must be between 5 and 65535") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard sequencesPerFrame >= 1, sequencesPerFrame <= 1 << 20 else { throw ValidationError("--sequences-per-frame must be in 1...1048576") }
        guard framesPerShard >= 1 else { throw ValidationError("--frames-per-shard must be at least 1") }
        guard (1...19).contains(compressionLevel) else { throw ValidationError("--compression-level must be in 1...19") }
    }

    func run() throws {
        try prepareWritableDirectory(URL(fileURLWithPath: out))   // a read-only --out: refused before any work
        let sources = input.apply(try expandCorpusArguments(corpus))
        if !FileManager.default.fileExists(atPath: vocab) {
            throw ValidationError("\(vocab): no such vocabulary; build one with `electra-prep build-vocab`, or pass --vocab vocab/bert-base-uncased.txt")
        }
        let vocabulary = try Vocabulary(contentsOf: URL(fileURLWithPath: vocab))
        let tokenizerOptions = try tokenizer.options(forVocabulary: vocab)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let optionsJSON = String(decoding: try encoder.encode(tokenizerOptions), as: UTF8.self)
        let shardVocabulary = try ShardVocabulary(tokens: vocabulary.tokens, sha256: vocabulary.sha256,
                                                  tokenizerOptions: optionsJSON, name: vocab)
        var options = ShardingOptions()
        options.maxSeqLength = maxSeqLength
        options.seed = seed
        options.threads = threads
        options.sequencesPerFrame = sequencesPerFrame
        options.framesPerShard = framesPerShard
        options.compressionLevel = compressionLevel
        options.strict = input.strict
        options.packing = packing.packing
        // One vocabulary trie for every worker thread (each builds only its own word cache).
        let tokenizer = BertTokenizer(vocabulary: vocabulary, options: tokenizerOptions)
        let builder = try ShardBuilder(outputDirectory: URL(fileURLWithPath: out), vocabulary: shardVocabulary,
                                       options: options) {
            tokenizer.copyForAnotherThread()
        }
        Interruption.install(command: "electra-prep shard", atOnce: "the index lists only the shards committed before; run the same command again to continue")
        builder.stopRequested = { Interruption.requested }
        let reporter = ProgressLine()
        let start = Date()
        let setupSeconds = start.timeIntervalSince(processStart)
        let summary: ShardingSummary
        do {
            summary = try shard(builder, sources: sources, reporter: reporter, start: start)
        } catch ShardingError.stopped(let at, let inside) {
            reporter.finish()
            let index = try? ShardIndex(directory: URL(fileURLWithPath: out))
            let kept = index.map { "\(counted($0.sources.count, "input")) in \(counted($0.shards.count, "shard file")) committed" } ?? "nothing committed"
            Interruption.report("electra-prep shard", "stopped \(inside ? "inside" : "before") \(at): \(kept) in \(out) (shard files not committed were removed); to continue: \(resumeCommand(adding: nil))")
        }
        reporter.finish()
        try report(summary, setupSeconds: setupSeconds)
    }

    /// Runs `builder` over `sources`, showing its events on `reporter`.
    func shard(_ builder: ShardBuilder, sources: [CorpusSource], reporter: ProgressLine, start: Date) throws -> ShardingSummary {
        try builder.run(sources: sources) { event in
            switch event {
            case .removedIncompleteShards(let files):
                reporter.message("removed \(files.count) incomplete shard file(s) left by an interrupted run; their inputs are sharded again")
            case .skipped(let path, let reason, _):
                reporter.message("skip: \(path): \(reason)")
            case .warning(let text):
                reporter.message("warning: \(text)")
            case .progress(let p):
                guard reporter.due else { break }
                let elapsed = Date().timeIntervalSince(start)
                var line = "shard: [\(p.sourceIndex + 1)/\(p.sourceCount)] \(p.sourcePath)"
                if let total = p.totalBytes, total > 0 {
                    line += String(format: " %.1f%%", 100 * Double(p.bytesRead) / Double(total))
                }
                line += String(format: " %.1f MB, %.1f MB/s, %d sequences", Double(p.bytesRead) / 1e6,
                               Double(p.bytesRead) / 1e6 / max(elapsed, 1e-9), p.sequences)
                if let total = p.totalBytes, total > p.bytesRead, p.bytesRead > 0 {
                    line += String(format: ", ETA %.0f s", Double(total - p.bytesRead) * elapsed / Double(p.bytesRead))
                }
                reporter.progress(line)
            case .finishedSource(let s):
                guard sources.count <= 20 else { break }   // many inputs: the summary says it
                reporter.message("done: \(s.path): \(counted(s.documents, "document")), \(counted(s.lines, "line")), \(counted(s.sequences, "sequence")), \(counted(s.tokens, "token"))")
            }
        }
    }

    /// The summary lines of a finished run; throws `ExitCode.failure` when nothing was sharded.
    func report(_ summary: ShardingSummary, setupSeconds: Double) throws {
        let elapsed = summary.timings.wallSeconds
        let rateBytes = max(summary.textBytes, summary.bytesRead)
        var read = String(format: "%.1f MB of text", Double(summary.textBytes) / 1e6)
        if summary.bytesRead != summary.textBytes { read += String(format: " (%.1f MB read)", Double(summary.bytesRead) / 1e6) }
        print(String(format: "%@: %d sequences, %d tokens from %d input(s) (%d skipped) in %d new shard(s); %@ in %.2f s = %.1f MB/s",
                     out, summary.sequences, summary.tokens, summary.sourcesSharded, summary.sourcesSkipped,
                     summary.shardsWritten, read, elapsed, Double(rateBytes) / 1e6 / max(elapsed, 1e-9)))
        if timings { printTimings(summary.timings, setupSeconds: setupSeconds) }
        let account = TokenAccount(inputTokens: summary.inputTokens, droppedLongLineTokens: summary.droppedLongLineTokens,
                                   droppedOverflowTokens: summary.droppedOverflowTokens)
        if summary.sourcesSharded > 0 {
            account.describe(maxSeqLength: maxSeqLength).forEach { print("  " + $0) }
        }
        if account.isLossy {
            print(String(format: "warning: only %.1f%% of the input's tokens reached the shards; without --packing original every token is kept", 100 * (account.keptFraction ?? 1)))
        }
        if summary.damagedLines > 0 || summary.badRecords > 0 {
            print("  \(summary.damagedLines) line(s) held NUL bytes or invalid UTF-8 (sharded, those characters dropped by clean-text); \(summary.badRecords) bad JSONL line(s) skipped")
        }
        if summary.sourcesSharded == 0 && summary.sourcesRefused > 0 {
            printError("error: nothing was sharded: \(summary.sourcesRefused) input(s) refused (see the messages above)")
            throw ExitCode.failure
        }
        if summary.sourcesSharded > 0 && summary.sequences == 0 {
            // Inputs were read (not skipped as already sharded) and none held text to pack.
            printError("error: nothing was sharded: the \(summary.sourcesSharded) input(s) read hold no text that tokenizes (blank or empty)")
            throw ExitCode.failure
        }
    }
}

/// `--packing`'s values.
enum PackingChoice: String, ExpressibleByArgument, CaseIterable {
    case lossless, original
    var packing: Packing { self == .lossless ? .lossless : .original }
}

/// When `main` started (it touches this global first).
let processStart = Date()

/// The `--timings` lines: start-up, then each thread's CPU seconds and share of the run's wall time.
func printTimings(_ t: ShardTimings, setupSeconds: Double) {
    func busy(_ cpu: Double) -> String {
        String(format: "%.2f s CPU = %3.0f%% of the run", cpu, 100 * cpu / max(t.wallSeconds, 1e-9))
    }
    let workers = t.workerCPU
    let mean = workers.isEmpty ? 0 : workers.reduce(0, +) / Double(workers.count)
    print(String(format: "timings: %.2f s before the run (arguments, vocabulary, tokenizer); run %.2f s wall, first block handed out after %.3f s",
                 setupSeconds, t.wallSeconds, t.firstBlockSeconds))
    print("  workers (\(workers.count))  \(busy(mean)) each on average, busiest \(String(format: "%.2f", workers.max() ?? 0)) s")
    print("  packing thread  \(busy(t.packingCPU))")
    print("  read-ahead      \(busy(t.readingCPU))")
    print("  hashing         \(busy(t.hashingCPU))")
    print("  writing         \(busy(t.writingCPU))")
}

