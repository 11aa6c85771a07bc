// tokenizer_config.json, the one codec between TokenizerOptions and the file HF transformers'
// BertTokenizer / BertTokenizerFast / ElectraTokenizer(Fast) read beside vocab.txt. build-vocab
// writes it, tokenize / shard take their defaults from it, the HF export writes it.
import Durability
import Foundation

/// A tokenizer_config.json that was refused; names the file and the key.
public struct TokenizerConfigError: Error, CustomStringConvertible, Equatable {
    public var path: String
    public var reason: String
    public init(path: String, reason: String) { self.path = path; self.reason = reason }
    public var description: String { "\(path): \(reason) (fix or delete the file; build-vocab writes a valid one)" }
}

/// The contents of a tokenizer_config.json as this project writes and reads it.
///
/// Written keys: `tokenizer_class`, `do_lower_case`, `strip_accents` (null = follow
/// do_lower_case), `tokenize_chinese_chars`, `do_basic_tokenize`, `clean_up_tokenization_spaces`,
/// `model_max_length` (when known), the five special tokens, our `clean_text`, and the object
/// `electra_swift` (`vocab_file`, `max_input_chars_per_word` and what else the writer records).
/// Read back: the same keys; absent ones take HF's defaults (BERT uncased).
///
/// ```swift
/// let file = TokenizerConfigFile(options: TokenizerOptions(lowercase: false), vocabFile: "vocab.txt")
/// try writeFileAtomically(try file.jsonData(), to: dir.appendingPathComponent(TokenizerConfigFile.fileName))
/// let back = try TokenizerConfigFile.besideVocabulary(dir.appendingPathComponent("vocab.txt"))
/// ```
public struct TokenizerConfigFile {
    public static let fileName = "tokenizer_config.json"
    /// The special tokens every BERT/ELECTRA tokenizer names (special_tokens_map.json's content).
    public static let specialTokensMap: [String: String] = [
        "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]",
    ]

    public var options: TokenizerOptions
    /// HF's `tokenizer_class` (ELECTRA's tokenizer is BERT's WordPiece tokenizer).
    public var tokenizerClass: String
    /// HF's `model_max_length`: the longest input the model takes, when known.
    public var modelMaxLength: Int?
    /// The vocabulary file this config describes (recorded under `electra_swift.vocab_file`).
    public var vocabFile: String?
    /// Further facts recorded under `electra_swift` (JSON values: numbers, strings, booleans).
    public var record: [String: Any]
    /// Where it was read from, when it was.
    public private(set) var path: String?

    public init(options: TokenizerOptions, tokenizerClass: String = "ElectraTokenizer", modelMaxLength: Int? = nil,
                vocabFile: String? = "vocab.txt", record: [String: Any] = [:]) {
        self.options = options
        self.tokenizerClass = tokenizerClass
        self.modelMaxLength = modelMaxLength
        self.vocabFile = vocabFile
        self.record = record
    }

    /// The JSON object (for writers that add keys of their own).
    public var jsonObject: [String: Any] {
        var object: [String: Any] = TokenizerConfigFile.specialTokensMap
        object["tokenizer_class"] = tokenizerClass
        object["do_lower_case"] = options.lowercase
        object["strip_accents"] = options.stripAccents.map { $0 as Any } ?? NSNull()
        object["tokenize_chinese_chars"] = options.handleChineseChars
        object["do_basic_tokenize"] = true
        object["clean_up_tokenization_spaces"] = true
        object["clean_text"] = options.cleanText
        if let modelMaxLength { object["model_max_length"] = modelMaxLength }
        var ours = record
        ours["max_input_chars_per_word"] = options.maxInputCharsPerWord
        if let vocabFile { ours["vocab_file"] = vocabFile }
        object["electra_swift"] = ours
        return object
    }

    /// The file's bytes: pretty-printed JSON with sorted keys and a final newline.
    public func jsonData() throws -> Data {
        try JSONSerialization.data(withJSONObject: jsonObject, options: [.prettyPrinted, .sortedKeys]) + Data("\n".utf8)
    }

    /// special_tokens_map.json's bytes.
    public static func specialTokensMapData() throws -> Data {
        try JSONSerialization.data(withJSONObject: specialTokensMap, options: [.prettyPrinted, .sortedKeys]) + Data("\n".utf8)
    }

    /// Parses a tokenizer_config.json; absent keys take HF's defaults.
    /// - Throws: `TokenizerConfigError` naming `path` and the key that is malformed.
    public init(data: Data, path: String) throws {
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw TokenizerConfigError(path: path, reason: "not a JSON object")
        }
        func bool(_ key: String, _ default: Bool) throws -> Bool {
            guard let value = object[key], !(value is NSNull) else { return `default` }
            guard let b = value as? Bool else {
                throw TokenizerConfigError(path: path, reason: "\(key) must be true or false")
            }
            return b
        }
        var options = TokenizerOptions()
        options.lowercase = try bool("do_lower_case", true)
        if let value = object["strip_accents"], !(value is NSNull) {
            guard let b = value as? Bool else { throw TokenizerConfigError(path: path, reason: "strip_accents must be true, false or null") }
            options.stripAccents = b
        }
        options.handleChineseChars = try bool("tokenize_chinese_chars", true)
        options.cleanText = try bool("clean_text", true)
        let ours = object["electra_swift"] as? [String: Any] ?? [:]
        if let max = ours["max_input_chars_per_word"] {
            guard let n = max as? Int, n >= 1 else {
                throw TokenizerConfigError(path: path, reason: "electra_swift.max_input_chars_per_word must be a positive integer")
            }
            options.maxInputCharsPerWord = n
        }
        if let basic = object["do_basic_tokenize"] as? Bool, !basic {
            throw TokenizerConfigError(path: path, reason: "do_basic_tokenize false (WordPiece on raw text) is not supported")
        }
        for (key, token) in TokenizerConfigFile.specialTokensMap {
            if let given = object[key] as? String, given != token {
                throw TokenizerConfigError(path: path, reason: "\(key) is \(given); this toolkit uses \(token)")
            }
        }
        self.init(options: options, tokenizerClass: object["tokenizer_class"] as? String ?? "BertTokenizer",
                  modelMaxLength: object["model_max_length"] as? Int, vocabFile: ours["vocab_file"] as? String,
                  record: ours.filter { $0.key != "vocab_file" && $0.key != "max_input_chars_per_word" })
        self.path = path
    }

    /// Reads a tokenizer_config.json file.
    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TokenizerConfigError(path: url.path, reason: "cannot be read (\(fileErrorReason(error, writing: false)))")
        }
        try self.init(data: data, path: url.path)
    }

    /// The tokenizer_config.json beside `vocabulary` that describes it, or nil when there is none:
    /// it describes the vocabulary named in `electra_swift.vocab_file`, or `vocab.txt` when it
    /// names none (HF's layout).
    /// - Throws: `TokenizerConfigError` when the file exists but is malformed.
    public static func besideVocabulary(_ vocabulary: URL) throws -> TokenizerConfigFile? {
        let url = vocabulary.deletingLastPathComponent().appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let file = try TokenizerConfigFile(contentsOf: url)
        return (file.vocabFile ?? "vocab.txt") == vocabulary.lastPathComponent ? file : nil
    }
}
