import Foundation
import Interop
import Tokenization
import XCTest

/// tokenizer.json's content (tools/check-tokenizer-json.sh loads it in HF tokenizers and compares
/// the ids on the parity corpus): our options in the BertNormalizer, our vocabulary's ids in the
/// WordPiece model, the special tokens as added tokens, [CLS] A [SEP] B [SEP].
final class TokenizerJSONTests: XCTestCase {
    func testOptionsVocabularyAndSpecials() throws {
        let vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "##b", "the"]
        let options = TokenizerOptions(lowercase: false, stripAccents: true, cleanText: false, handleChineseChars: false,
                                       maxInputCharsPerWord: 50)
        let data = try tokenizerJSON(vocabulary: vocabulary, options: options)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let normalizer = try XCTUnwrap(object["normalizer"] as? [String: Any])
        XCTAssertEqual(normalizer["type"] as? String, "BertNormalizer")
        XCTAssertEqual(normalizer["lowercase"] as? Bool, false)
        XCTAssertEqual(normalizer["strip_accents"] as? Bool, true)
        XCTAssertEqual(normalizer["clean_text"] as? Bool, false)
        XCTAssertEqual(normalizer["handle_chinese_chars"] as? Bool, false)
        let model = try XCTUnwrap(object["model"] as? [String: Any])
        XCTAssertEqual(model["type"] as? String, "WordPiece")
        XCTAssertEqual(model["max_input_chars_per_word"] as? Int, 50)
        XCTAssertEqual(model["vocab"] as? [String: Int], Dictionary(uniqueKeysWithValues: vocabulary.enumerated().map { ($1, $0) }))
        let added = try XCTUnwrap(object["added_tokens"] as? [[String: Any]])
        XCTAssertEqual(added.map { $0["content"] as? String }, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
        XCTAssertEqual(added.map { $0["id"] as? Int }, [0, 1, 2, 3, 4])
        let post = try XCTUnwrap(object["post_processor"] as? [String: Any])
        XCTAssertEqual((post["pair"] as? [Any])?.count, 5)

        // Unset strip_accents follows lowercase: null, as HF writes it.
        let uncased = try JSONSerialization.jsonObject(with: try tokenizerJSON(vocabulary: vocabulary, options: TokenizerOptions())) as? [String: Any]
        XCTAssertTrue((uncased?["normalizer"] as? [String: Any])?["strip_accents"] is NSNull)
    }

    func testAVocabularyWithoutSpecialsIsRefused() {
        XCTAssertThrowsError(try tokenizerJSON(vocabulary: ["a", "b"], options: TokenizerOptions())) { error in
            XCTAssertTrue("\(error)".contains("[CLS]"), "\(error)")
        }
    }
}
