// The switches of HF tokenizers' BertNormalizer + WordPiece, with the same defaults
// (BertWordPieceTokenizer: clean_text, handle_chinese_chars, strip_accents=None, lowercase).

/// How text is normalized and split before WordPiece; the defaults are BERT uncased's.
///
/// ```swift
/// var options = TokenizerOptions()
/// options.lowercase = false          // cased model: accents are then kept too
/// ```
public struct TokenizerOptions: Codable, Equatable, Hashable, Sendable {
    /// Unicode full lower-casing (Rust `char::to_lowercase`, one scalar may become several).
    public var lowercase = true
    /// NFD, then drop nonspacing marks (Mn); `nil` follows `lowercase` (HF's default).
    public var stripAccents: Bool? = nil
    /// Drop control/format/private-use scalars, U+0000 and U+FFFD; map whitespace to a space.
    public var cleanText = true
    /// Put spaces around CJK ideographs so that each is its own word.
    public var handleChineseChars = true
    /// A word longer than this (in Unicode scalars) becomes one `[UNK]`.
    public var maxInputCharsPerWord = 100

    public init(lowercase: Bool = true, stripAccents: Bool? = nil, cleanText: Bool = true,
                handleChineseChars: Bool = true, maxInputCharsPerWord: Int = 100) {
        self.lowercase = lowercase
        self.stripAccents = stripAccents
        self.cleanText = cleanText
        self.handleChineseChars = handleChineseChars
        self.maxInputCharsPerWord = maxInputCharsPerWord
    }

    /// Whether accents are stripped once the `nil` default is resolved.
    public var stripsAccents: Bool { stripAccents ?? lowercase }
}
