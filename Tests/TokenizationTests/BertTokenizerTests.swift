// WordPiece and the full tokenizer: a tiny hand-made vocabulary for the algorithm's rules, and
// HF's tokens for every hard case under every option set with the real BERT vocabulary.
import Foundation
import TestSupport
@testable import Tokenization
import XCTest

final class BertTokenizerTests: XCTestCase {
    static let bert = try! Vocabulary(contentsOf: repositoryRoot.appendingPathComponent("vocab/bert-base-uncased.txt"))

    private func tiny() throws -> Vocabulary {
        try Vocabulary(tokens: ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "a", "##a",
                                "##b", "b", "é", "##é", ",", "runn", "##ing", "run"])
    }

    func testGreedyLongestMatchWithContinuations() throws {
        var t = BertTokenizer(vocabulary: try tiny(), options: TokenizerOptions())
        XCTAssertEqual(t.tokens(t.encode("unaffable, running")), ["un", "##aff", "##able", ",", "runn", "##ing"])
        XCTAssertEqual(t.tokens(t.encode("aab ba")), ["a", "##a", "##b", "b", "##a"])
    }

    func testWholeWordUnknownWhenAnyPieceIsMissing() throws {
        var t = BertTokenizer(vocabulary: try tiny(), options: TokenizerOptions())
        // "unaffablez": the "z" has no piece, so the whole word is one [UNK].
        XCTAssertEqual(t.tokens(t.encode("un unaffablez a")), ["un", "[UNK]", "a"])
        XCTAssertEqual(t.encode("unaffablez"), [1])
    }

    func testMaxInputCharsCountsScalarsNotBytes() throws {
        var t = BertTokenizer(vocabulary: try tiny(), options: TokenizerOptions(lowercase: false))
        // 100 "é" (200 bytes) is still tokenized; 101 is one [UNK].
        XCTAssertEqual(t.encode(String(repeating: "é", count: 100)).count, 100)
        XCTAssertEqual(t.tokens(t.encode(String(repeating: "é", count: 101))), ["[UNK]"])
        XCTAssertEqual(t.encode(String(repeating: "a", count: 100)).count, 100)
        XCTAssertEqual(t.encode(String(repeating: "a", count: 101)), [1])
    }

    func testSpecialTokensAreNeverProducedFromText() {
        var t = BertTokenizer(vocabulary: Self.bert, options: TokenizerOptions())
        XCTAssertEqual(t.tokens(t.encode("[MASK] [CLS]")), ["[", "mask", "]", "[", "cl", "##s", "]"])
        XCTAssertFalse(t.encode("[MASK] [SEP] [PAD] [UNK]").contains(Self.bert.maskID))
    }

    func testCachedAndUncachedResultsAgree() {
        var t = BertTokenizer(vocabulary: Self.bert, options: TokenizerOptions())
        let first = t.encode("The unbelievable unbelievable tokenizer tokenizes the tokens.")
        let again = t.encode("The unbelievable unbelievable tokenizer tokenizes the tokens.")
        XCTAssertEqual(first, again)
        XCTAssertEqual(t.tokens(first), ["the", "unbelievable", "unbelievable", "token", "##izer", "token", "##izes",
                                         "the", "token", "##s", "."]) // as HF tokenizers gives
    }

    /// Many distinct words (the cache grows several times; words over 8 bytes and of 8 bytes
    /// exactly compare whole keys) give the same ids from the cache as from WordPiece.
    func testWordCacheGrowthKeepsResults() {
        var t = BertTokenizer(vocabulary: Self.bert, options: TokenizerOptions())
        let syllables = ["ka", "lo", "mi", "ne", "tur", "ix", "qua", "zen", "ab"]
        var words: [String] = []
        for i in 0..<6000 {
            var w = ""
            var k = i
            repeat { w += syllables[k % syllables.count]; k /= syllables.count } while k > 0
            words.append(w)
        }
        let line = words.joined(separator: " ")
        let first = t.encode(line)
        XCTAssertGreaterThan(t.cachedWords, 5000)
        XCTAssertEqual(t.encode(line), first)
        var fresh = BertTokenizer(vocabulary: Self.bert, options: TokenizerOptions())
        for w in words.prefix(300) {
            let alone = fresh.encode(w)
            XCTAssertEqual(t.encode(w), alone, w)
        }
    }

    /// Every hard case under every option set gives HF's tokens and ids.
    func testMatchesHFTokensOnHardCases() throws {
        let golden = try Golden.load()
        let lines = try Golden.hardCaseLines()
        var failures = 0
        var checked = 0
        for (name, opts) in golden.options.sorted(by: { $0.key < $1.key }) {
            var t = BertTokenizer(vocabulary: Self.bert, options: opts.tokenizerOptions)
            for pass in 0..<2 {  // the second pass is served by the word cache
                for c in golden.cases where c.options == name {
                    var ids: [UInt32] = []
                    _ = lines[c.line].withUnsafeBytes { t.encode($0, into: &ids) }
                    checked += 1
                    if ids != c.ids || t.tokens(ids) != c.tokens {
                        failures += 1
                        if failures <= 10 {
                            XCTFail("\(name) line \(c.line + 1) pass \(pass): got \(t.tokens(ids)) expected \(c.tokens)")
                        }
                    }
                }
            }
        }
        XCTAssertEqual(checked, 2 * golden.cases.count)
        XCTAssertEqual(failures, 0, "lines whose tokens differ from HF tokenizers \(golden.tokenizers)")
    }

    func testInvalidUTF8CountIsReturned() {
        var t = BertTokenizer(vocabulary: Self.bert, options: TokenizerOptions())
        var ids: [UInt32] = []
        let bytes: [UInt8] = Array("bad ".utf8) + [0xFF, 0xFE] + Array(" bytes ".utf8) + [0xE2, 0x82]
        let invalid = bytes.withUnsafeBytes { t.encode($0, into: &ids) }
        XCTAssertEqual(invalid, 4)
        XCTAssertEqual(t.tokens(ids), ["bad", "bytes"])
    }
}

final class BertTokenizerThreadTests: XCTestCase {
    /// Copies made for other threads give the same ids concurrently, each with its own cache.
    func testCopiesForOtherThreadsAgree() throws {
        let base = BertTokenizer(vocabulary: BertTokenizerTests.bert, options: TokenizerOptions())
        let lines = try Golden.hardCaseLines()
        func run(_ t: inout BertTokenizer) -> [[UInt32]] {
            lines.map { line in
                var ids: [UInt32] = []
                _ = line.withUnsafeBytes { t.encode($0, into: &ids) }
                return ids
            }
        }
        var reference = base.copyForAnotherThread()
        let expected = run(&reference)
        var results = [[[UInt32]]](repeating: [], count: 4)
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: 4) { k in
            var t = base.copyForAnotherThread()
            let r = run(&t)
            lock.lock(); results[k] = r; lock.unlock()
        }
        for r in results { XCTAssertEqual(r, expected) }
        XCTAssertEqual(base.cachedWords, 0, "copies must not share the word cache")
    }
}
