// CoNLL-style tagging files (transformers' run_ner, google-research/electra's tagging tasks): one
// token per line with its columns separated by tabs (or, in a file without tabs, by spaces), a
// blank line (or one of only whitespace, as in WNUT-17's training file) between sentences,
// -DOCSTART- lines skipped. Tags are BIO (B-TYPE, I-TYPE, O; IOBES's E- and S- read too).
// A bad line (another number of columns than the file's first token line, a tag that is not
// O or X-TYPE) is named by file:line and its whole sentence skipped.
import Foundation

/// One sentence: its words and, when the file has them, their tags; `line` is the first word's line.
public struct TaggedSentence: Equatable, Sendable {
    public var words: [String]
    public var tags: [String]?
    public var line: Int

    public init(words: [String], tags: [String]?, line: Int) {
        self.words = words; self.tags = tags; self.line = line
    }
}

/// Where the token and the tag are on a line (0-based columns; nil tag column: the last one).
public struct ConllLayout: Codable, Equatable, Sendable {
    public var tokenColumn: Int
    public var tagColumn: Int?

    public init(tokenColumn: Int = 0, tagColumn: Int? = nil) {
        self.tokenColumn = tokenColumn; self.tagColumn = tagColumn
    }
}

/// The sentences of one file, the lines that were refused, and the file's column count.
public struct ConllFile {
    public var path: String
    public var sentences: [TaggedSentence]
    /// The lines of each kept sentence as the file has them (without \r), for writing it back with a column more.
    public var sentenceLines: [[String]]
    public var badLines: [BadRow]
    /// Sentences left out because one of their lines is bad.
    public var skippedSentences: Int
    /// Lines (of sentences kept) that hold a token.
    public var tokenCount: Int { sentences.reduce(0) { $0 + $1.words.count } }
}

/// Whether `tag` is O or a prefix (B, I, E, S) and a type: what the entity metric reads.
public func isChunkTag(_ tag: String) -> Bool {
    if tag == "O" { return true }
    let u = Array(tag.utf8)
    return u.count > 2 && "BIES".utf8.contains(u[0]) && u[1] == UInt8(ascii: "-")
}

/// Reads a CoNLL-style file. With `requireTags` false (prediction input) a line may hold only the
/// token. Errors for the whole file: unreadable, not UTF-8, no usable sentence.
public func readConllFile(_ path: String, layout: ConllLayout = ConllLayout(), requireTags: Bool = true) throws -> ConllFile {
    guard let data = FileManager.default.contents(atPath: path) else { throw TaskDataError.unreadable(path) }
    guard String(data: data, encoding: .utf8) != nil else {
        throw TaskDataError.badFile(file: path, problem: "not UTF-8 text")
    }
    // Lines split on the byte \n (a String splits "\r\n" as one character).
    let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self)[...] }
    let byTabs = data.contains(UInt8(ascii: "\t"))
    func fields(_ line: Substring) -> [String] {
        byTabs ? line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            : line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
    }
    var sentences: [TaggedSentence] = [], sentenceLines: [[String]] = [], bad: [BadRow] = []
    var words: [String] = [], tags: [String] = [], raw: [String] = [], first = 0, broken = false, hasTags = true, skipped = 0
    var width: Int?
    func endSentence() {
        if broken { skipped += 1 }
        if !words.isEmpty && !broken {
            sentences.append(TaggedSentence(words: words, tags: hasTags ? tags : nil, line: first))
            sentenceLines.append(raw)
        }
        words = []; tags = []; raw = []; broken = false; hasTags = true
    }
    for (i, text) in lines.enumerated() {
        var line = text
        if line.hasSuffix("\r") { line = line.dropLast() }
        let number = i + 1
        if line.allSatisfy({ $0 == " " || $0 == "\t" }) { endSentence(); continue }
        let f = fields(line)
        if f.first?.hasPrefix("-DOCSTART-") == true { endSentence(); continue }
        if words.isEmpty && !broken { first = number }
        func refuse(_ problem: String) {
            bad.append(BadRow(file: path, line: number, problem: problem))
            broken = true
        }
        if width == nil { width = f.count }
        guard f.count == width else {
            refuse("\(f.count) columns where the file's first token line (and every other) has \(width!); the sentence is skipped")
            continue
        }
        guard layout.tokenColumn < f.count else {
            refuse("no token column \(layout.tokenColumn + 1) (the line has \(f.count)); pass --token-column")
            continue
        }
        let word = f[layout.tokenColumn]
        guard !word.trimmingCharacters(in: .whitespaces).isEmpty else { refuse("an empty token; the sentence is skipped"); continue }
        let tagIndex = layout.tagColumn ?? (f.count - 1)
        if tagIndex == layout.tokenColumn || tagIndex >= f.count {
            if requireTags {
                refuse(tagIndex >= f.count ? "no tag column \(tagIndex + 1) (the line has \(f.count)); pass --tag-column"
                       : "no tag column (a line holds only the token); a training or dev file needs token<TAB>tag")
                continue
            }
            hasTags = false
            words.append(word)
            raw.append(String(line))
            continue
        }
        let tag = f[tagIndex].trimmingCharacters(in: .whitespaces)
        guard isChunkTag(tag) else {
            refuse("tag \"\(tag)\" is not BIO (O, B-TYPE or I-TYPE); the sentence is skipped")
            continue
        }
        words.append(word)
        tags.append(tag)
        raw.append(String(line))
    }
    endSentence()
    guard !sentences.isEmpty else {
        let firstBad = bad.first.map { " (first: \($0))" } ?? ""
        throw TaskDataError.badFile(file: path, problem: "no usable sentence\(firstBad)\n---> HINT: a tagging file holds token<TAB>tag lines with a blank line between sentences (--token-column, --tag-column for other layouts)")
    }
    return ConllFile(path: path, sentences: sentences, sentenceLines: sentenceLines, badLines: bad, skippedSentences: skipped)
}

/// The tags of a training file, sorted (transformers run_ner's get_label_list), "O" included.
public func tagsOf(_ sentences: [TaggedSentence]) -> [String] {
    Set(sentences.flatMap { $0.tags ?? [] }).sorted()
}

/// The tags of `sentences` that are not in `known`, each with its count and first file:line
/// (a dev tag never seen in training: the model cannot predict it).
public func unknownTags(_ sentences: [TaggedSentence], known: [String], file: String) -> [(tag: String, count: Int, first: String)] {
    let knownSet = Set(known)
    var found: [String: (Int, String)] = [:], order: [String] = []
    for s in sentences {
        for (i, t) in (s.tags ?? []).enumerated() where !knownSet.contains(t) {
            if let f = found[t] { found[t] = (f.0 + 1, f.1) } else {
                found[t] = (1, "\(file):\(s.line + i)")
                order.append(t)
            }
        }
    }
    return order.map { ($0, found[$0]!.0, found[$0]!.1) }
}
