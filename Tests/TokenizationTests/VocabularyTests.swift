// Vocabulary loading and validation: the real BERT vocab loads, bad files are refused with
// errors that name the file and the line.
import Foundation
import TestSupport
import Tokenization
import XCTest

final class VocabularyTests: XCTestCase {
    func testBertUncasedVocabularyLoads() throws {
        let vocab = try Vocabulary(contentsOf: repositoryRoot.appendingPathComponent("vocab/bert-base-uncased.txt"))
        XCTAssertEqual(vocab.count, 30522)
        XCTAssertEqual([vocab.padID, vocab.unkID, vocab.clsID, vocab.sepID, vocab.maskID], [0, 100, 101, 102, 103])
        XCTAssertEqual(vocab.id(of: "the"), 1996)
        XCTAssertEqual(vocab.id(of: "##ing"), 2075)
        XCTAssertNil(vocab.id(of: "electra-swift"))
        XCTAssertEqual(vocab.tokens[1996], "the")
        XCTAssertEqual(vocab.sha256, "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3")
    }

    private func write(_ text: String, _ name: String = "vocab.txt") throws -> URL {
        let dir = try makeTemporaryDirectory("vocab", in: self)
        let url = dir.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url
    }

    private func assertRefused(_ text: String, _ expected: (String) -> VocabularyError, mentions: [String],
                               file: StaticString = #filePath, line: UInt = #line) throws {
        let url = try write(text)
        XCTAssertThrowsError(try Vocabulary(contentsOf: url), file: file, line: line) { error in
            XCTAssertEqual(error as? VocabularyError, expected(url.path), file: file, line: line)
            let message = "\(error)"
            for m in [url.path] + mentions { XCTAssertTrue(message.contains(m), "\(message) lacks \(m)", file: file, line: line) }
        }
    }

    func testRefusesEmptyFile() throws {
        try assertRefused("", { .empty(path: $0) }, mentions: ["empty"])
    }

    func testRefusesMissingSpecialTokens() throws {
        for missing in Vocabulary.specialTokens {
            let text = (Vocabulary.specialTokens.filter { $0 != missing } + ["a", "##b"]).joined(separator: "\n") + "\n"
            try assertRefused(text, { .missingSpecialToken(path: $0, token: missing) }, mentions: [missing])
        }
    }

    func testRefusesDuplicateLineNamingBothLines() throws {
        let text = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\nof\nthe\n"
        try assertRefused(text, { .duplicate(path: $0, line: 8, token: "the", firstLine: 6) }, mentions: [":8:", "line 6", "\"the\""])
    }

    func testRefusesBlankLine() throws {
        try assertRefused("[PAD]\n[UNK]\n\n[CLS]\n[SEP]\n[MASK]\n", { .blankLine(path: $0, line: 3) }, mentions: [":3:"])
    }

    func testRefusesInvalidUTF8NamingLine() throws {
        let dir = try makeTemporaryDirectory("vocab", in: self)
        let url = dir.appendingPathComponent("bad.txt")
        try Data("[PAD]\n[UNK]\n".utf8 + [0x61, 0xFF, 0x0A] + "[CLS]\n".utf8).write(to: url)
        XCTAssertThrowsError(try Vocabulary(contentsOf: url)) { error in
            XCTAssertEqual(error as? VocabularyError, .invalidUTF8(path: url.path, line: 3))
        }
    }

    func testRefusesMissingFile() {
        XCTAssertThrowsError(try Vocabulary(contentsOf: URL(fileURLWithPath: "/nonexistent/vocab.txt"))) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/vocab.txt"))
        }
    }

    func testCRLFAndTrailingSpacesAreTrimmedLikeHF() throws {
        let url = try write("[PAD]\r\n[UNK] \r\n[CLS]\r\n[SEP]\r\n[MASK]\r\nhello\t\r\n##lo")
        let vocab = try Vocabulary(contentsOf: url)
        XCTAssertEqual(vocab.tokens, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "##lo"])
        XCTAssertEqual(vocab.unkID, 1)
    }

    func testInMemoryVocabularyHashesLikeItsFile() throws {
        let tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "##b"]
        let memory = try Vocabulary(tokens: tokens)
        let file = try Vocabulary(contentsOf: try write(tokens.joined(separator: "\n") + "\n"))
        XCTAssertEqual(memory.sha256, file.sha256)
        XCTAssertThrowsError(try Vocabulary(tokens: ["[PAD]", "[UNK]"])) { error in
            XCTAssertTrue("\(error)".contains("<memory>"))
        }
    }
}
