// tokenizer_config.json: the keys HF's BertTokenizer(Fast) reads, written and read back by the
// one codec; which vocabulary a config describes; malformed files named.
import Foundation
import TestSupport
import Tokenization
import XCTest

final class TokenizerConfigFileTests: XCTestCase {
    func testWritesTheKeysHFReadsAndReadsThemBack() throws {
        let cased = TokenizerOptions(lowercase: false, stripAccents: nil, cleanText: true, handleChineseChars: false,
                                     maxInputCharsPerWord: 64)
        let file = TokenizerConfigFile(options: cased, modelMaxLength: 128, vocabFile: "vocab.txt", record: ["vocab_size": 4000])
        let data = try file.jsonData()
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(object["do_lower_case"] as? Bool, false)
        XCTAssertTrue(object["strip_accents"] is NSNull)
        XCTAssertEqual(object["tokenize_chinese_chars"] as? Bool, false)
        XCTAssertEqual(object["tokenizer_class"] as? String, "ElectraTokenizer")
        XCTAssertEqual(object["model_max_length"] as? Int, 128)
        XCTAssertEqual(object["mask_token"] as? String, "[MASK]")
        XCTAssertEqual(object["unk_token"] as? String, "[UNK]")
        let back = try TokenizerConfigFile(data: data, path: "t.json")
        XCTAssertEqual(back.options, cased)
        XCTAssertEqual(back.modelMaxLength, 128)
        XCTAssertEqual(back.vocabFile, "vocab.txt")
        XCTAssertEqual(back.record["vocab_size"] as? Int, 4000)
        XCTAssertEqual(try back.jsonData(), data, "a round trip gives the same bytes")
        // An HF folder's config (no electra_swift object): HF's defaults for absent keys.
        let hf = try TokenizerConfigFile(data: Data(#"{"do_lower_case": false, "model_max_length": 512}"#.utf8), path: "hf.json")
        XCTAssertEqual(hf.options, TokenizerOptions(lowercase: false))
        XCTAssertNil(hf.vocabFile)
    }

    func testBesideVocabularyAppliesOnlyToTheVocabularyItDescribes() throws {
        let dir = try makeTemporaryDirectory(in: self)
        let config = dir.appendingPathComponent(TokenizerConfigFile.fileName)
        XCTAssertNil(try TokenizerConfigFile.besideVocabulary(dir.appendingPathComponent("vocab.txt")))
        try TokenizerConfigFile(options: TokenizerOptions(lowercase: false), vocabFile: "cased.txt").jsonData().write(to: config)
        XCTAssertEqual(try TokenizerConfigFile.besideVocabulary(dir.appendingPathComponent("cased.txt"))?.options.lowercase, false)
        XCTAssertNil(try TokenizerConfigFile.besideVocabulary(dir.appendingPathComponent("vocab.txt")))
        try Data(#"{"do_lower_case": false}"#.utf8).write(to: config)   // HF layout: describes vocab.txt
        XCTAssertEqual(try TokenizerConfigFile.besideVocabulary(dir.appendingPathComponent("vocab.txt"))?.options.lowercase, false)
        XCTAssertNil(try TokenizerConfigFile.besideVocabulary(dir.appendingPathComponent("other.txt")))
    }

    func testMalformedFilesAreNamed() {
        let cases: [(String, String)] = [
            ("[1]", "not a JSON object"),
            (#"{"do_lower_case": "yes"}"#, "do_lower_case must be true or false"),
            (#"{"strip_accents": 3}"#, "strip_accents must be true, false or null"),
            (#"{"mask_token": "<mask>"}"#, "mask_token is <mask>"),
            (#"{"electra_swift": {"max_input_chars_per_word": 0}}"#, "electra_swift.max_input_chars_per_word must be a positive integer"),
        ]
        for (json, reason) in cases {
            XCTAssertThrowsError(try TokenizerConfigFile(data: Data(json.utf8), path: "bad/tokenizer_config.json")) {
                XCTAssertTrue("\($0)".hasPrefix("bad/tokenizer_config.json: \(reason)"), "\(json): \($0)")
            }
        }
    }
}
