// A WordPiece vocabulary file (vocab.txt): one token per line, the line number is the id,
// read like HF tokenizers' WordPiece::read_file (trailing whitespace of a line is trimmed),
// but strictly validated: no empty file, no blank or duplicate lines, all five BERT specials.
import Crypto
import Durability
import Foundation

/// Why a vocabulary was refused; every case names the file and, where it applies, the line.
public enum VocabularyError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    /// The path is a directory (a vocab.txt may be inside it).
    case directory(path: String)
    case empty(path: String)
    case invalidUTF8(path: String, line: Int)
    case blankLine(path: String, line: Int)
    case duplicate(path: String, line: Int, token: String, firstLine: Int)
    case missingSpecialToken(path: String, token: String)
    case tooLarge(path: String, count: Int)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            return "\(path): cannot read the vocabulary (\(reason)); check the --vocab path"
        case .directory(let path):
            let inside = path.hasSuffix("/") ? path + "vocab.txt" : path + "/vocab.txt"
            return "\(path): is a directory, not a vocabulary file; pass the vocab.txt file itself, e.g. --vocab \(inside)"
        case .empty(let path):
            return "\(path): the vocabulary is empty; expected one token per line (build one with `electra-prep build-vocab`)"
        case .invalidUTF8(let path, let line):
            return "\(path):\(line): the line is not valid UTF-8; is this a vocab.txt file?"
        case .blankLine(let path, let line):
            return "\(path):\(line): blank line in the vocabulary; every line must hold one token"
        case .duplicate(let path, let line, let token, let firstLine):
            return "\(path):\(line): duplicate token \"\(token)\" (first on line \(firstLine)); remove one of them"
        case .missingSpecialToken(let path, let token):
            return "\(path): the vocabulary lacks the special token \(token); BERT vocabularies need [PAD] [UNK] [CLS] [SEP] [MASK]"
        case .tooLarge(let path, let count):
            return "\(path): \(count) tokens is more than ids can hold"
        }
    }
}

/// A validated WordPiece vocabulary: tokens in id order and the ids of the five specials.
///
/// ```swift
/// let vocab = try Vocabulary(contentsOf: URL(fileURLWithPath: "vocab/bert-base-uncased.txt"))
/// vocab.id(of: "##ing")   // 2075
/// ```
public struct Vocabulary: Sendable {
    /// Tokens in id order (continuation pieces carry "##").
    public var tokens: [String]
    /// Number of tokens.
    public var count: Int { tokens.count }
    public var padID: UInt32
    public var unkID: UInt32
    public var clsID: UInt32
    public var sepID: UInt32
    public var maskID: UInt32
    /// Hex SHA-256 of the file bytes (of the tokens joined by "\n" plus a final "\n" when built in memory).
    public var sha256: String
    /// Where the vocabulary came from (a path, or "<memory>").
    public var source: String
    private var ids: [String: UInt32]

    /// The special tokens every BERT vocabulary holds.
    public static let specialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

    /// The ids of the special tokens in `tokens` (the first line holding each), in the order of
    /// `specialTokens`, or the names of those missing.
    public static func specialTokenIDs(in tokens: [String])
        -> Result<(pad: UInt32, unk: UInt32, cls: UInt32, sep: UInt32, mask: UInt32), MissingSpecialTokens> {
        var ids: [String: UInt32] = [:]
        for (i, t) in tokens.enumerated() where t.hasPrefix("[") && ids[t] == nil { ids[t] = UInt32(i) }
        let missing = specialTokens.filter { ids[$0] == nil }
        guard missing.isEmpty else { return .failure(MissingSpecialTokens(names: missing)) }
        return .success((ids["[PAD]"]!, ids["[UNK]"]!, ids["[CLS]"]!, ids["[SEP]"]!, ids["[MASK]"]!))
    }

    /// The special tokens a vocabulary lacks.
    public struct MissingSpecialTokens: Error, Equatable {
        public var names: [String]
    }

    /// Loads and validates a vocab.txt file.
    /// - Throws: `VocabularyError` naming the file and line.
    /// - Complexity: O(n) in the file size.
    public init(contentsOf url: URL) throws {
        let path = url.path
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            if FileProblem(error, path: path, writing: false)?.code == EISDIR { throw VocabularyError.directory(path: path) }
            let reason = fileErrorReason(error, writing: false)
            throw VocabularyError.unreadable(path: path, reason: reason)
        }
        var lines: [String] = []
        let ok: Bool = data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            var start = 0
            var lineNumber = 0
            while start < bytes.count {
                var end = start
                while end < bytes.count && bytes[end] != 0x0A { end += 1 }
                lineNumber += 1
                guard let line = String(validating: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self) else {
                    lines = [String(lineNumber)]
                    return false
                }
                lines.append(line)
                start = end + 1
            }
            return true
        }
        if !ok { throw VocabularyError.invalidUTF8(path: path, line: Int(lines[0])!) }
        let digest = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
        try self.init(lines: lines, source: path, sha256: digest)
    }

    /// Builds a vocabulary from tokens in id order, validated like a file.
    /// - Throws: `VocabularyError` (the file is named "<memory>").
    public init(tokens: [String]) throws {
        var bytes = Data()
        for token in tokens { bytes.append(contentsOf: Array(token.utf8)); bytes.append(0x0A) }
        let digest = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        try self.init(lines: tokens, source: "<memory>", sha256: digest)
    }

    private init(lines: [String], source: String, sha256: String) throws {
        if lines.isEmpty { throw VocabularyError.empty(path: source) }
        if lines.count >= Int(UInt32.max) { throw VocabularyError.tooLarge(path: source, count: lines.count) }
        var tokens: [String] = []
        tokens.reserveCapacity(lines.count)
        var ids: [String: UInt32] = [:]
        ids.reserveCapacity(lines.count)
        for (index, line) in lines.enumerated() {
            // HF trims trailing whitespace (Rust `str::trim_end`), e.g. the \r of CRLF files.
            var scalars = Substring(line).unicodeScalars
            while let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() }
            let token = String(scalars)
            if token.isEmpty {
                throw VocabularyError.blankLine(path: source, line: index + 1)
            }
            if let first = ids[token] {
                throw VocabularyError.duplicate(path: source, line: index + 1, token: token, firstLine: Int(first) + 1)
            }
            ids[token] = UInt32(index)
            tokens.append(token)
        }
        switch Vocabulary.specialTokenIDs(in: tokens) {
        case .failure(let missing):
            throw VocabularyError.missingSpecialToken(path: source, token: missing.names[0])
        case .success(let special):
            (padID, unkID, clsID, sepID, maskID) = special
        }
        self.tokens = tokens
        self.ids = ids
        self.sha256 = sha256
        self.source = source
        #if DEBUG
        checkInvariants()
        #endif
    }

    /// The id of `token`, or nil when it is not in the vocabulary.
    public func id(of token: String) -> UInt32? { ids[token] }

    /// Debug check: ids and tokens are inverse maps and the specials are present.
    public func checkInvariants() {
        precondition(ids.count == tokens.count, "vocabulary: \(ids.count) ids for \(tokens.count) tokens")
        for (i, t) in tokens.enumerated() { precondition(ids[t] == UInt32(i), "vocabulary: id of \(t) is not \(i)") }
        for s in Vocabulary.specialTokens { precondition(ids[s] != nil, "vocabulary: missing \(s)") }
    }
}
