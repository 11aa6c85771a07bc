// The golden tables written by tools/make-tokenizer-fixtures.py from HF tokenizers: every line
// of hard-cases.txt under several option sets, with HF's words and WordPiece tokens.
import Foundation
import TestSupport
import Tokenization

struct Golden: Decodable {
    struct Options: Decodable {
        var lowercase: Bool
        var strip_accents: Bool?
        var clean_text: Bool
        var handle_chinese_chars: Bool

        var tokenizerOptions: TokenizerOptions {
            TokenizerOptions(lowercase: lowercase, stripAccents: strip_accents, cleanText: clean_text,
                             handleChineseChars: handle_chinese_chars)
        }
    }
    struct Case: Decodable {
        var line: Int
        var options: String
        var words: [String]
        var tokens: [String]
        var ids: [UInt32]
    }
    var tokenizers: String
    var options: [String: Options]
    var cases: [Case]

    static func load() throws -> Golden {
        try JSONDecoder().decode(Golden.self, from: Data(contentsOf: fixtureURL("tokenizer/golden.json")))
    }

    /// The raw bytes of each line of hard-cases.txt (split on \n, like LineReader).
    static func hardCaseLines() throws -> [[UInt8]] {
        var lines = try Data(contentsOf: fixtureURL("tokenizer/hard-cases.txt")).split(separator: 0x0A, omittingEmptySubsequences: false)
            .map { [UInt8]($0) }
        if lines.last?.isEmpty == true { lines.removeLast() }
        return lines
    }
}
