// Token offsets (encodeWithOffsets): HF's offsets (BertTokenizerFast's return_offsets_mapping,
// taken from tokenizers 0.23.3 with the BERT uncased vocabulary) on cases that move characters
// around: accents, punctuation, CJK, invalid UTF-8, a dropped NUL, lower-case expansions,
// canonical reordering, an over-long word, ligatures; and the ids always equal `encode`'s.
import Foundation
import TestSupport
@testable import Tokenization
import XCTest

final class OffsetTests: XCTestCase {
    private func spans(_ bytes: [UInt8], options: TokenizerOptions = TokenizerOptions()) -> (tokens: [String], offsets: [String]) {
        var t = BertTokenizer(vocabulary: BertTokenizerTests.bert, options: options)
        let s = bytes.withUnsafeBytes { t.encodeWithOffsets($0) }
        return (t.tokens(s.map(\.id)), s.map { "\($0.start):\($0.end)" })
    }

    func testOffsetsEqualHF() {
        let cases: [([UInt8], [String], [String])] = [
            (Array("Héllo, World!".utf8), ["hello", ",", "world", "!"], ["0:5", "5:6", "7:12", "12:13"]),
            (Array("unaffable".utf8), ["una", "##ffa", "##ble"], ["0:3", "3:6", "6:9"]),
            (Array("我爱NLP".utf8), ["我", "[UNK]", "nl", "##p"], ["0:1", "1:2", "2:4", "4:5"]),
            ([0x61, 0xFF, 0x62, 0x20, 0x63], ["ab", "c"], ["0:3", "4:5"]),                  // U+FFFD counts one, then is dropped
            (Array("İstanbul café".utf8), ["istanbul", "cafe"], ["0:8", "9:13"]),
            (Array("x\u{E0}\u{323}y \u{344}".utf8), ["x", "##ay"], ["0:1", "1:4"]),          // NFD reorders; the marks go
            ([0x61, 0x62, 0x00, 0x63, 0x09, 0x41, 0xC2, 0xA0, 0x42], ["abc", "a", "b"], ["0:4", "5:6", "7:8"]),
            (Array((String(repeating: "z", count: 101) + " ok").utf8), ["[UNK]", "ok"], ["0:101", "102:104"]),
            (Array("ﬁne ß".utf8), ["ﬁ", "##ne", "ß"], ["0:1", "1:3", "4:5"]),
        ]
        for (bytes, tokens, offsets) in cases {
            let got = spans(bytes)
            XCTAssertEqual(got.tokens, tokens, "\(bytes)")
            XCTAssertEqual(got.offsets, offsets, "\(bytes)")
        }
    }

    func testIdsEqualEncodeOnHardCasesUnderEveryOptionSet() throws {
        let data = try Data(contentsOf: fixtureURL("tokenizer/hard-cases.txt"))
        let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        let sets = [TokenizerOptions(), TokenizerOptions(lowercase: false), TokenizerOptions(stripAccents: false),
                    TokenizerOptions(lowercase: false, stripAccents: true), TokenizerOptions(cleanText: false),
                    TokenizerOptions(handleChineseChars: false),
                    TokenizerOptions(lowercase: false, stripAccents: false, cleanText: false, handleChineseChars: false)]
        for options in sets {
            var t = BertTokenizer(vocabulary: BertTokenizerTests.bert, options: options)
            for line in lines {
                let bytes = Array(line)
                var ids: [UInt32] = []
                _ = bytes.withUnsafeBytes { t.encode($0, into: &ids) }
                let s = bytes.withUnsafeBytes { t.encodeWithOffsets($0) }
                XCTAssertEqual(s.map(\.id), ids, "\(options): \(String(decoding: bytes, as: UTF8.self))")
            }
        }
    }
}
