// electra-dev bench-tokenize: the tokenizer's speed on one thread, input read into memory first
// and nothing printed per line (tools/bench-tokenizer.sh compares it with HuggingFace tokenizers).
import ArgumentParser
import Corpus
import Foundation
import Tokenization

struct BenchTokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-tokenize",
        abstract: "Time the WordPiece tokenizer (default options) on one thread: MB/s with a cold and a warm word cache.")

    @Argument(help: "Text files, directories, or - for standard input (default: -).")
    var inputs: [String] = []

    @Option(help: "The WordPiece vocabulary (vocab.txt, one token per line).")
    var vocab = "vocab/vocab.txt"

    @Option(help: "Passes over the input (the best is reported).")
    var passes = 5

    /// Reads every input into memory, then tokenizes it `passes` times with a fresh tokenizer
    /// (cold word cache; its construction is not timed) each pass, followed by a second pass with
    /// the cache warm; prints MB/s of the best cold and warm passes.
    func run() throws {
        let vocabulary = try Vocabulary(contentsOf: URL(fileURLWithPath: vocab))
        let sources = try expandCorpusArguments(inputs.isEmpty ? ["-"] : inputs)
        let options = TokenizerOptions()
        var text: [UInt8] = []
        for source in sources {
            try LineReader(source).forEachBlock { text.append(contentsOf: $0) }
        }
        var lines: [Range<Int>] = []
        text.withUnsafeBytes { raw in
            splitLines(raw) { line in
                let start = line.baseAddress! - raw.baseAddress!
                lines.append(start..<start + line.count)
            }
        }
        let bytes = Double(text.count)
        var best = Double.infinity, bestWarm = Double.infinity
        var tokens = 0, invalid = 0, words = 0
        try text.withUnsafeBytes { raw in
            var ids: [UInt32] = []
            ids.reserveCapacity(1 << 12)
            for _ in 0..<max(1, passes) {
                var tok = BertTokenizer(vocabulary: vocabulary, options: options)
                for warm in [false, true] {
                    tokens = 0
                    invalid = 0
                    let start = DispatchTime.now().uptimeNanoseconds
                    for range in lines {
                        ids.removeAll(keepingCapacity: true)
                        invalid += tok.encode(UnsafeRawBufferPointer(rebasing: raw[range]), into: &ids)
                        tokens += ids.count
                    }
                    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                    if warm { bestWarm = min(bestWarm, seconds) } else { best = min(best, seconds) }
                }
                words = tok.cachedWords
            }
            if tokens < 0 { throw ExitCode.failure }  // keeps the loop's work observable
        }
        print(String(format: "%.3f MB/s (cold word cache, best of %d), %.3f MB/s (warm cache); %d bytes, %d lines, %d tokens, %d distinct words, %d invalid UTF-8 bytes",
                     bytes / best / 1e6, max(1, passes), bytes / bestWarm / 1e6, text.count, lines.count, tokens, words, invalid))
    }
}
