// Normalization + pre-tokenization against HF's BertNormalizer + BertPreTokenizer words.
import Foundation
import TestSupport
@testable import Tokenization
import XCTest

final class BertPreTokenizerTests: XCTestCase {
    private func words(_ bytes: [UInt8], _ pre: inout BertPreTokenizer) -> (words: [String], invalid: Int) {
        var out: [String] = []
        let invalid = bytes.withUnsafeBytes { raw in
            pre.forEachWord(in: raw) { out.append(String(decoding: $0, as: UTF8.self)) }
        }
        return (out, invalid)
    }

    func testSimpleEnglish() {
        var pre = BertPreTokenizer(options: TokenizerOptions())
        XCTAssertEqual(words(Array("Hello, World! It's 3.14".utf8), &pre).words,
                       ["hello", ",", "world", "!", "it", "'", "s", "3", ".", "14"])
        XCTAssertEqual(words([], &pre).words, [])
        XCTAssertEqual(words(Array("  \t ".utf8), &pre).words, [])
    }

    func testAccentsChineseAndCase() {
        var pre = BertPreTokenizer(options: TokenizerOptions())
        XCTAssertEqual(words(Array("Héllo 北京 İstanbul ΣΑΣ".utf8), &pre).words, ["hello", "北", "京", "istanbul", "σασ"])
        var cased = BertPreTokenizer(options: TokenizerOptions(lowercase: false))
        XCTAssertEqual(words(Array("Héllo 北京".utf8), &cased).words, ["Héllo", "北", "京"])
    }

    func testInvalidUTF8IsCountedAndDropped() {
        var pre = BertPreTokenizer(options: TokenizerOptions())
        let (w, invalid) = words(Array("ok ".utf8) + [0xFF, 0xC3] + Array(" x\u{E9}".utf8) + [0xE2, 0x82], &pre)
        XCTAssertEqual(w, ["ok", "xe"])
        XCTAssertEqual(invalid, 4)
    }

    /// Every hard case under every option set gives HF's words.
    func testMatchesHFWordsOnHardCases() throws {
        let golden = try Golden.load()
        let lines = try Golden.hardCaseLines()
        var failures = 0
        for (name, opts) in golden.options.sorted(by: { $0.key < $1.key }) {
            var pre = BertPreTokenizer(options: opts.tokenizerOptions)
            for c in golden.cases where c.options == name {
                let got = words(lines[c.line], &pre).words
                if got != c.words {
                    failures += 1
                    if failures <= 10 { XCTFail("\(name) line \(c.line + 1): got \(got) expected \(c.words)") }
                }
            }
        }
        XCTAssertEqual(failures, 0, "lines whose words differ from HF tokenizers \(golden.tokenizers)")
    }
}
