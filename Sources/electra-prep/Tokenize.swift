// electra-prep tokenize: prints the WordPiece tokens (or ids) of each input line, for checking
// and debugging (its speed: electra-dev bench-tokenize).
import ArgumentParser
import Corpus
import Foundation
import Tokenization

/// The tokenizer switches shared by the subcommands that tokenize (HF BertNormalizer's options).
struct TokenizerFlags: ParsableArguments {
    @Flag(name: .customLong("no-lower-case"), help: "Keep case (a cased model); accents are then kept too unless --strip-accents.")
    var noLowerCase = false
    @Flag(name: .customLong("no-strip-accents"), help: "Keep accents (no NFD + Mn removal) even when lower-casing.")
    var noStripAccents = false
    @Flag(name: .customLong("strip-accents"), help: "Strip accents even with --no-lower-case.")
    var stripAccents = false
    @Flag(name: .customLong("no-clean-text"), help: "Keep control/format characters and do not map whitespace to spaces.")
    var noCleanText = false
    @Flag(name: .customLong("no-chinese-chars"), help: "Do not split CJK ideographs into one word each.")
    var noChineseChars = false
    @Option(name: .customLong("max-chars-per-word"), help: "A longer word (in Unicode scalars) is one [UNK].")
    var maxCharsPerWord = 100

    func validate() throws {
        if noStripAccents && stripAccents { throw ValidationError("--strip-accents and --no-strip-accents exclude each other") }
        if maxCharsPerWord < 1 { throw ValidationError("--max-chars-per-word must be at least 1") }
    }

    var options: TokenizerOptions {
        TokenizerOptions(lowercase: !noLowerCase, stripAccents: stripAccents ? true : (noStripAccents ? false : nil),
                         cleanText: !noCleanText, handleChineseChars: !noChineseChars,
                         maxInputCharsPerWord: maxCharsPerWord)
    }
}

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the WordPiece tokens (or ids) of each input line, one output line per input line.",
        discussion: """
            Same tokens as HuggingFace tokenizers' BertWordPieceTokenizer (no [CLS]/[SEP]), except that \
            special tokens are never produced from text. Inputs are files (.zst/.gz read transparently), \
            directories (their files in sorted order) or - for standard input. Invalid UTF-8 is replaced \
            (clean-text then drops it) and reported once.
            """)

    @Argument(help: "Text files, directories, or - for standard input (default: -).")
    var inputs: [String] = []

    @Option(help: "The WordPiece vocabulary (vocab.txt, one token per line).")
    var vocab = "vocab/vocab.txt"

    @Flag(help: "Print token ids instead of tokens.")
    var ids = false

    @OptionGroup var tokenizer: TokenizerFlags

    func run() throws {
        let vocabulary = try Vocabulary(contentsOf: URL(fileURLWithPath: vocab))
        let sources = try expandCorpusArguments(inputs.isEmpty ? ["-"] : inputs)
        var tok = BertTokenizer(vocabulary: vocabulary, options: tokenizer.options)
        var out = OutputBuffer()
        let tokenBytes = vocabulary.tokens.map { Array($0.utf8) }
        var lineIDs: [UInt32] = []
        var invalidPerFile: [(String, Int)] = []
        // Progress on stderr, only for a person watching a terminal.
        let showProgress = isatty(2) != 0
        var lastReport = DispatchTime.now().uptimeNanoseconds
        var lines = 0
        for (index, source) in sources.enumerated() {
            let reader = try LineReader(source)
            var invalid = 0
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
                lineIDs.removeAll(keepingCapacity: true)
                invalid += tok.encode(line, into: &lineIDs)
                for (k, id) in lineIDs.enumerated() {
                    if k > 0 { out.append(0x20) }
                    if ids { out.appendDecimal(id) } else { out.append(tokenBytes[Int(id)]) }
                }
                out.append(0x0A)
                out.flushIfFull()
            }
            if invalid > 0 { invalidPerFile.append((source.description, invalid)) }
        }
        out.flush()
        if showProgress && lines >= 0x1000 { FileHandle.standardError.write(Data("\n".utf8)) }
        if !invalidPerFile.isEmpty {
            let total = invalidPerFile.reduce(0) { $0 + $1.1 }
            let detail = invalidPerFile.map { "\($0.0): \($0.1)" }.joined(separator: ", ")
            FileHandle.standardError.write(Data(
                "warning: \(total) invalid UTF-8 byte(s) were replaced by U+FFFD (\(detail)); check the input's encoding\n".utf8))
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
