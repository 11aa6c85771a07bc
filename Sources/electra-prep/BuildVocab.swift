// electra-prep build-vocab: learns a WordPiece vocabulary from a corpus.
import ArgumentParser
import CommandLineSupport
import Corpus
import Durability
import Foundation
import Tokenization
import VocabularyLearning

/// The error for a subcommand given no corpus: it names what to pass (the bundled sample too).
func noCorpusError(_ subcommand: String, _ purpose: String) -> ValidationError {
    ValidationError("no corpus given: pass the text files or directories \(purpose), e.g. `electra-prep \(subcommand) data/sample/` for the bundled sample corpus (tools/setup.sh extracts it)")
}

struct BuildVocab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build-vocab",
        abstract: "Learn a WordPiece vocabulary (vocab.txt) from a corpus.",
        usage: "electra-prep build-vocab <corpus> ... [<options>]",
        discussion: """
            Words are normalized and split exactly as the tokenizer does; pieces are learned by \
            frequency merges with ## continuation. The output holds [PAD] [UNK] [CLS] [SEP] [MASK] \
            (ids 0-4), every kept character as c and ##c, then the learned pieces; beside it, \
            tokenizer_config.json records the options. The same corpus and options give the same \
            bytes whatever --threads is.
            """)

    @Argument(help: "Text files, directories, or - for standard input (the bundled sample corpus: data/sample/).")
    var corpus: [String] = []

    @Option(help: "Number of tokens in the vocabulary.")
    var vocabSize = 30_522

    @Option(help: "Where to write vocab.txt (tokenizer_config.json goes beside it).")
    var out = "vocab/vocab.txt"

    @Option(help: "A piece must occur at least this many times to be learned.")
    var minFrequency = 2

    @Option(help: "Keep at most this many distinct characters (the most frequent).")
    var limitAlphabet = 1_000

    @OptionGroup var tokenizer: TokenizerFlags

    @OptionGroup var input: FormatFlags

    @Option(help: ArgumentHelp("Bound of the word table: past it the rarest words are dropped as memory-bounded counters do (about 300 bytes of peak memory a word); 0 counts every word.", valueName: "n"))
    var maxWords = defaultMaxDistinctWords

    @Option(name: .customLong("threads"), help: "Threads for word counting (default: all cores; at most 16 are used).")
    var threadCount: Int?
    /// --threads, else all cores (an optional flag: the help says "all cores", not this machine's count).
    var threads: Int { threadCount ?? ProcessInfo.processInfo.activeProcessorCount }

    func validate() throws {
        if corpus.isEmpty { throw noCorpusError("build-vocab", "to learn the vocabulary from") }
        if vocabSize < 6 { throw ValidationError("--vocab-size must be at least 6") }
        if minFrequency < 1 { throw ValidationError("--min-frequency must be at least 1") }
        if limitAlphabet < 1 { throw ValidationError("--limit-alphabet must be at least 1") }
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
        if maxWords < 0 { throw ValidationError("--max-words must be 0 (unbounded) or more") }
    }

    func run() throws {
        setvbuf(stdout, nil, _IOLBF, 0)   // the lines appear as they happen, also in logs
        let start = Date()
        let url = URL(fileURLWithPath: out)
        let configURL = url.deletingLastPathComponent().appendingPathComponent(TokenizerConfigFile.fileName)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw ValidationError("--out \(out) is a directory: pass the file to write, e.g. --out \(url.appendingPathComponent("vocab.txt").relativePath)")
        }
        // Before the corpus is read (hours on a large one): a place that cannot be written fails now.
        try prepareWritableDirectory(url.deletingLastPathComponent())
        print("build-vocab: writing \(url.path) and \(configURL.lastPathComponent) beside it (--out to choose another place)")
        let sources = input.apply(try expandCorpusArguments(corpus))
        let progress = ProgressLine()
        Interruption.install(command: "electra-prep build-vocab", atOnce: "nothing was written")
        do {
            try learn(sources: sources, url: url, configURL: configURL, start: start, progress: progress)
        } catch VocabularyLearningError.stopped {
            progress.finish()
            Interruption.report("electra-prep build-vocab", "stopped before \(url.path) was written (nothing written; \(url.lastPathComponent) and \(configURL.lastPathComponent) are as they were); to start again: \(resumeCommand(adding: nil))")
        }
    }

    /// Counts the words of `sources`, learns the vocabulary and writes it to `url` (and its
    /// tokenizer configuration to `configURL`); stops with `VocabularyLearningError.stopped` on a signal.
    func learn(sources: [CorpusSource], url: URL, configURL: URL, start: Date, progress: ProgressLine) throws {
        let counts = try countWords(sources: sources, tokenizer: tokenizer.options, threads: threads, strict: input.strict,
                                    maxWords: maxWords == 0 ? nil : maxWords, progress: { event in
            switch event {
            case .reading(let read, let total, let source):
                progress.progress(rateLine(bytes: read, total: total, start: start, label: "counting words in \(source)"))
            case .refused(let error):
                progress.message("skip: \(error); not counted")
            default:
                break
            }
        }, shouldStop: { Interruption.requested })
        progress.finish()
        if counts.damagedLines > 0 {
            printError("warning: \(counts.damagedLines) line(s) held NUL bytes or invalid UTF-8 (\(counts.invalidUTF8Bytes) invalid bytes, read as U+FFFD); \(tokenizer.options.cleanText ? "clean-text dropped them" : "--no-clean-text kept them")")
        }
        for bad in counts.badRecords { printError("warning: \(bad); line skipped") }
        if counts.badRecordCount > counts.badRecords.count {
            printError("warning: \(counts.badRecordCount) bad JSONL line(s) skipped in all")
        }
        guard counts.counter.distinctWords > 0 else {
            throw VocabularyLearningError.emptyCorpus(sources.map(\.description).joined(separator: ", "))
        }
        var options = VocabularyLearnerOptions()
        options.vocabSize = vocabSize
        options.minFrequency = minFrequency
        options.limitAlphabet = limitAlphabet
        let learned = try learnWordPieceVocabulary(words: counts.counter.sortedWords(), options: options, progress: { event in
            if case .merging(let done, let target) = event {
                progress.progress("merges \(done)/\(target)")
            }
        }, shouldStop: { Interruption.requested })
        progress.finish()
        if Interruption.requested { throw VocabularyLearningError.stopped }
        try writeVocabulary(learned, to: url, tokenizer: tokenizer.options, learner: options,
                            corpusSHA256: counts.corpusSHA256)
        if learned.isShort {
            printError("warning: the corpus filled only \(learned.tokens.count) of \(vocabSize) tokens (no pair occurs \(minFrequency) times any more)")
        }
        let seconds = Date().timeIntervalSince(start)
        print("""
            wrote \(url.path) (\(learned.tokens.count) tokens) and \(configURL.path)
              corpus: \(counts.bytesRead) bytes\(counts.refused.isEmpty ? "" : " (\(counted(sources.count - counts.refused.count, "input")); \(counts.refused.count) refused, named above)"), \(counts.counter.totalWords) words, \(counts.counter.distinctWords) distinct\(counts.counter.prunedWords > 0 ? " kept (--max-words \(maxWords); rarest dropped \(counts.counter.prunedWords) times)" : "")
              alphabet: \(learned.alphabetSize) characters (each as c and ##c), merges: \(learned.merges)
              time: \(String(format: "%.2f", seconds)) s
            """)
    }
}
