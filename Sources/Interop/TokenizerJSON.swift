// tokenizer.json: HuggingFace tokenizers' serialized fast tokenizer (tokenizers/src/tokenizer/
// serialization.rs), the BERT WordPiece pipeline our Tokenization module follows: BertNormalizer
// with our options, BertPreTokenizer, WordPiece over vocab.txt, [CLS] A [SEP] (B [SEP])
// post-processing, the WordPiece decoder. `tokenizers.Tokenizer.from_file` and transformers'
// AutoTokenizer load it without converting vocab.txt, and give our ids.
import Foundation
import Tokenization

/// The special tokens tokenizer.json registers as added tokens (when the vocabulary has them).
let tokenizerJSONSpecials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

/// The bytes of a tokenizer.json for `vocabulary` (id order) and `options`.
///
/// ```swift
/// let data = try tokenizerJSON(vocabulary: tokens, options: TokenizerOptions(lowercase: false))
/// try writeFileAtomically(data, to: folder.appendingPathComponent("tokenizer.json"))
/// ```
/// - Throws: `TokenizerJSONError` when [CLS], [SEP] or [UNK] is missing.
/// - Complexity: O(vocabulary).
public func tokenizerJSON(vocabulary: [String], options: TokenizerOptions) throws -> Data {
    var ids: [String: Int] = [:]
    for (id, token) in vocabulary.enumerated() where ids[token] == nil { ids[token] = id }
    for required in ["[CLS]", "[SEP]", "[UNK]"] where ids[required] == nil {
        throw TokenizerJSONError("the vocabulary has no \(required); tokenizer.json needs it")
    }
    let added: [[String: Any]] = tokenizerJSONSpecials.compactMap { token in
        guard let id = ids[token] else { return nil }
        return ["id": id, "content": token, "single_word": false, "lstrip": false, "rstrip": false,
                "normalized": false, "special": true]
    }.sorted { ($0["id"] as! Int) < ($1["id"] as! Int) }
    func special(_ token: String) -> [String: Any] { ["SpecialToken": ["id": token, "type_id": 0]] }
    func sequence(_ id: String, _ type: Int) -> [String: Any] { ["Sequence": ["id": id, "type_id": type]] }
    let (cls, sep) = (ids["[CLS]"]!, ids["[SEP]"]!)
    let object: [String: Any] = [
        "version": "1.0",
        "truncation": NSNull(),
        "padding": NSNull(),
        "added_tokens": added,
        "normalizer": [
            "type": "BertNormalizer", "clean_text": options.cleanText, "handle_chinese_chars": options.handleChineseChars,
            "strip_accents": options.stripAccents.map { $0 as Any } ?? NSNull(), "lowercase": options.lowercase,
        ] as [String: Any],
        "pre_tokenizer": ["type": "BertPreTokenizer"],
        "post_processor": [
            "type": "TemplateProcessing",
            "single": [special("[CLS]"), sequence("A", 0), special("[SEP]")],
            "pair": [special("[CLS]"), sequence("A", 0), special("[SEP]"), sequence("B", 1),
                     ["SpecialToken": ["id": "[SEP]", "type_id": 1]]],
            "special_tokens": [
                "[CLS]": ["id": "[CLS]", "ids": [cls], "tokens": ["[CLS]"]],
                "[SEP]": ["id": "[SEP]", "ids": [sep], "tokens": ["[SEP]"]],
            ],
        ] as [String: Any],
        "decoder": ["type": "WordPiece", "prefix": "##", "cleanup": true] as [String: Any],
        "model": [
            "type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
            "max_input_chars_per_word": options.maxInputCharsPerWord, "vocab": ids,
        ] as [String: Any],
    ]
    return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) + Data("\n".utf8)
}

/// A vocabulary that cannot make a tokenizer.json.
public struct TokenizerJSONError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
