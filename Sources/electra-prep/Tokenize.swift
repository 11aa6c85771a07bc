// electra-prep tokenize: prints the WordPiece tokens (or ids) of each input line, for checking
// and debugging (its speed: electra-dev bench-tokenize).
import ArgumentParser
import Corpus
import Foundation
import Tokenization

/// The tokenizer switches shared by the subcommands that tokenize (HF BertNormalizer's options).
/// Their defaults come from the vocabulary's tokenizer_config.json when it has one.
struct TokenizerFlags: ParsableArguments {
    @Flag(name: .customLong("lower-case"), help: "Lower-case (BERT uncased); the default unless the vocabulary's tokenizer_config.json says otherwise.")
    var lowerCase = false
    @Flag(name: .customLong("no-lower-case"), help: "Keep case (a cased model); accents are then kept too unless --strip-accents.")
    var noLowerCase = false
    @Flag(name: .customLong("no-strip-accents"), help: "Keep accents (no NFD + Mn removal) even when lower-casing.")
    var noStripAccents = false
    @Flag(name: .customLong("strip-accents"), help: "Strip accents even with --no-lower-case.")
    var stripAccents = false
    @Flag(name: .customLong("no-clean-text"), help: "Keep control/format characters (NUL and U+FFFD included) and do not map whitespace to spaces.")
    var noCleanText = false
    @Flag(name: .customLong("no-chinese-chars"), help: "Do not split CJK ideographs into one word each.")
    var noChineseChars = false
    @Option(name: .customLong("max-chars-per-word"), help: "A longer word (in Unicode scalars) becomes one [UNK] (default 100).")
    var maxCharsPerWord: Int?

    func validate() throws {
        if noStripAccents && stripAccents { throw ValidationError("--strip-accents and --no-strip-accents exclude each other") }
        if lowerCase && noLowerCase { throw ValidationError("--lower-case and --no-lower-case exclude each other") }
        if let m = maxCharsPerWord, m < 1 { throw ValidationError("--max-chars-per-word must be at least 1") }
    }

    /// The options from the flags alone, over the defaults (BERT uncased).
    var options: TokenizerOptions { (try? resolved(over: nil)) ?? TokenizerOptions() }

    /// The flags applied over `config`'s options (or the defaults when nil).
    /// - Throws: `ValidationError` naming each flag that contradicts the file, and the file's value.
    func resolved(over config: TokenizerConfigFile?) throws -> TokenizerOptions {
        var options = config?.options ?? TokenizerOptions()
        var conflicts: [String] = []
        let file = config?.path ?? TokenizerConfigFile.fileName
        func set<T: Equatable>(_ flag: String, _ given: T?, _ current: T, _ key: String, _ apply: (inout TokenizerOptions) -> Void) {
            guard let given, given != current else { return }
            if config != nil { conflicts.append("\(flag) contradicts \(file) (\(key): \(current))") } else { apply(&options) }
        }
        set(lowerCase ? "--lower-case" : "--no-lower-case", lowerCase ? true : (noLowerCase ? false : nil), options.lowercase,
            "do_lower_case") { $0.lowercase = !noLowerCase }
        set(stripAccents ? "--strip-accents" : "--no-strip-accents", stripAccents ? true : (noStripAccents ? false : nil),
            options.stripsAccents, "strip_accents") { $0.stripAccents = stripAccents }
        set("--no-clean-text", noCleanText ? false : nil, options.cleanText, "clean_text") { $0.cleanText = false }
        set("--no-chinese-chars", noChineseChars ? false : nil, options.handleChineseChars, "tokenize_chinese_chars") {
            $0.handleChineseChars = false
        }
        set("--max-chars-per-word \(maxCharsPerWord ?? 0)", maxCharsPerWord, options.maxInputCharsPerWord,
            "max_input_chars_per_word") { $0.maxInputCharsPerWord = maxCharsPerWord! }
        if !conflicts.isEmpty {
            throw ValidationError(conflicts.joined(separator: "; ") + ". The vocabulary was built with those options; drop the flag, or build a vocabulary with them")
        }
        return options
    }

    /// The options for `vocab`: its tokenizer_config.json's, with the flags (which must agree);
    /// without one, the flags over the defaults, said once on standard error.
    func options(forVocabulary vocab: String) throws -> TokenizerOptions {
        let config: TokenizerConfigFile?
        do { config = try TokenizerConfigFile.besideVocabulary(URL(fileURLWithPath: vocab)) } catch {
            throw ValidationError("\(error)")
        }
        let options = try resolved(over: config)
        if config == nil {
            FileHandle.standardError.write(Data("note: \(vocab) has no \(TokenizerConfigFile.fileName) beside it; tokenizing with \(describe(options))\n".utf8))
        }
        return options
    }
}

/// "lower-case, accents stripped, clean text, CJK split" for a note.
func describe(_ o: TokenizerOptions) -> String {
    [o.lowercase ? "lower-case" : "cased", o.stripsAccents ? "accents stripped" : "accents kept",
     o.cleanText ? "clean text" : "no clean text", o.handleChineseChars ? "CJK split" : "CJK not split"]
        .joined(separator: ", ") + (o.maxInputCharsPerWord != 100 ? ", max \(o.maxInputCharsPerWord) chars per word" : "")
        + (o.lowercase && o.stripsAccents && o.cleanText && o.handleChineseChars ? " (the BERT uncased defaults)" : "")
}

/// The corpus format switches (text or JSONL).
struct FormatFlags: ParsableArguments {
    @Option(help: "Input format, text or jsonl (default: jsonl for .jsonl, .jsonl.zst, .jsonl.gz, else text).")
    var format: String?
    @Option(name: .customLong("jsonl-field"), help: "The JSONL field holding each record's text.")
    var jsonlField = "text"
    @Flag(help: "Refuse a JSONL input with a bad line (default: skip it, counted and named by file:line).")
    var strict = false

    func validate() throws {
        if let format, format != "text" && format != "jsonl" { throw ValidationError("--format must be text or jsonl (got \(format))") }
        if jsonlField.isEmpty { throw ValidationError("--jsonl-field must not be empty") }
    }

    /// `sources` with the format applied: --format for all, else what each name implies.
    func apply(_ sources: [CorpusSource]) -> [CorpusSource] {
        sources.map { source in
            var s = source
            switch format {
            case "text": s.format = .text
            case "jsonl": s.format = .jsonl(field: jsonlField)
            default: if case .jsonl = s.format { s.format = .jsonl(field: jsonlField) }
            }
            return s
        }
    }
}

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the WordPiece tokens (or ids) of each input line, one output line per input line.",
        discussion: """
            Same tokens as HuggingFace tokenizers' BertWordPieceTokenizer (no [CLS]/[SEP]), except that \
            special tokens are never produced from text. Inputs are files (.zst/.gz read transparently), \
            directories (their files in sorted order) or - for standard input. Invalid UTF-8 is replaced \
            by U+FFFD; clean-text then drops it, and NUL bytes, as HF does (with --no-clean-text they \
            stay: a word holding one is [UNK]); lines that held either are counted and reported. A \
            file is refused as binary only when its first 8 KB hold a NUL or it starts like a known \
            binary format. JSONL inputs print the lines of each record's text, then a blank line. \
            Options default to the vocabulary's tokenizer_config.json.
            """)

    @Argument(help: "Text files, directories, or - for standard input (default: -).")
    var inputs: [String] = []

    @Option(help: "The WordPiece vocabulary (vocab.txt, one token per line).")
    var vocab = "vocab/vocab.txt"

    @Flag(help: "Print token ids instead of tokens.")
    var ids = false

    @Flag(help: "Print each token's begin:end offsets instead (Unicode scalars of the input line, end exclusive: Python string indices, as BertTokenizerFast's return_offsets_mapping).")
    var offsets = false

    @OptionGroup var tokenizer: TokenizerFlags

    @OptionGroup var input: FormatFlags

    func run() throws {
        if ids && offsets { throw ValidationError("--ids and --offsets print different things: pass one") }
        let vocabulary = try Vocabulary(contentsOf: URL(fileURLWithPath: vocab))
        let sources = try expandCorpusArguments(inputs.isEmpty ? ["-"] : inputs)
        var tok = BertTokenizer(vocabulary: vocabulary, options: try tokenizer.options(forVocabulary: vocab))
        var out = OutputBuffer()
        let tokenBytes = vocabulary.tokens.map { Array($0.utf8) }
        var lineIDs: [UInt32] = []
        var damagedPerFile: [(String, lines: Int, bytes: Int)] = []
        var badRecords: [BadRecord] = []
        var badRecordCount = 0
        // Progress on stderr, only for a person watching a terminal.
        let showProgress = isatty(2) != 0
        var lastReport = DispatchTime.now().uptimeNanoseconds
        var lines = 0
        for (index, source) in input.apply(sources).enumerated() {
            let reader = try TextReader(source)
            reader.strict = input.strict
            var invalid = 0, damaged = 0
            try reader.forEachLine { line in
                lines += 1
                if showProgress && lines & 0xFFF == 0 {
                    let now = DispatchTime.now().uptimeNanoseconds
                    if now - lastReport > 1_000_000_000 {
                        lastReport = now
                        let done = reader.totalBytes.map { " (\(100 * reader.bytesRead / max($0, 1))%)" } ?? ""
                        FileHandle.standardError.write(Data(
                            "\rtokenize: file \(index + 1)/\(sources.count) \(source)\(done), \(lines) lines   ".utf8))
                    }
                }
                if offsets {
                    var bad = 0
                    let spans = tok.encodeWithOffsets(line, invalidBytes: &bad)
                    if bad > 0 || containsNUL(line) { damaged += 1 }
                    invalid += bad
                    for (k, span) in spans.enumerated() {
                        if k > 0 { out.append(0x20) }
                        out.appendDecimal(UInt32(span.start))
                        out.append(0x3A)
                        out.appendDecimal(UInt32(span.end))
                    }
                    out.append(0x0A)
                    out.flushIfFull()
                    return
                }
                lineIDs.removeAll(keepingCapacity: true)
                let bad = tok.encode(line, into: &lineIDs)
                if bad > 0 || containsNUL(line) { damaged += 1 }
                invalid += bad
                for (k, id) in lineIDs.enumerated() {
                    if k > 0 { out.append(0x20) }
                    if ids { out.appendDecimal(id) } else { out.append(tokenBytes[Int(id)]) }
                }
                out.append(0x0A)
                out.flushIfFull()
            }
            if damaged > 0 { damagedPerFile.append((source.description, damaged, invalid)) }
            badRecords += reader.badRecords.prefix(max(0, 10 - badRecords.count))
            badRecordCount += reader.badRecordCount
        }
        out.flush()
        if showProgress && lines >= 0x1000 { FileHandle.standardError.write(Data("\n".utf8)) }
        if !damagedPerFile.isEmpty {
            let total = damagedPerFile.reduce(0) { $0 + $1.lines }
            let detail = damagedPerFile.map { "\($0.0): \($0.lines) line(s), \($0.bytes) invalid byte(s)" }.joined(separator: "; ")
            let fate = tok.options.cleanText ? "clean-text dropped NUL and U+FFFD" : "--no-clean-text kept NUL and U+FFFD"
            FileHandle.standardError.write(Data(
                "warning: \(total) line(s) held NUL bytes or invalid UTF-8 (read as U+FFFD); \(fate) (\(detail))\n".utf8))
        }
        for bad in badRecords { FileHandle.standardError.write(Data("warning: \(bad); line skipped\n".utf8)) }
        if badRecordCount > badRecords.count {
            FileHandle.standardError.write(Data("warning: \(badRecordCount) bad JSONL line(s) skipped in all\n".utf8))
        }
    }
}

/// Buffered standard output: bytes are collected and written in large chunks.
fileprivate struct OutputBuffer {
    private var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(1 << 20) }

    mutating func append(_ b: UInt8) { bytes.append(b) }
    mutating func append(_ b: [UInt8]) { bytes.append(contentsOf: b) }

    mutating func appendDecimal(_ value: UInt32) {
        var v = value
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat { d[n] = UInt8(48 + v % 10); v /= 10; n += 1 } while v > 0
            for k in stride(from: n - 1, through: 0, by: -1) { bytes.append(d[k]) }
        }
    }

    mutating func flushIfFull() { if bytes.count >= 1 << 20 { flush() } }

    mutating func flush() {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(1, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    // A closed pipe (e.g. `| head`) ends the output quietly.
                    Foundation.exit(errno == EPIPE ? 0 : 1)
                }
                offset += n
            }
        }
        bytes.removeAll(keepingCapacity: true)
    }
}
