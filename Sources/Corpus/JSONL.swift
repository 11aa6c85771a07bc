// JSON Lines corpora (HF datasets exports, OpenWebText, the Pile, wikiextractor --json): one JSON
// object per line, the text in one string field. Each record becomes one document: its text's
// own line breaks are its lines, and a blank line ends it, so the rest of the pipeline sees the
// same bytes as the text format would hold for the same documents.
import Foundation

/// How a source's lines are read.
public enum CorpusFormat: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// One sentence per line, a blank line ends a document.
    case text
    /// One JSON object per line; the string in `field` is one document.
    case jsonl(field: String)

    public var description: String {
        switch self {
        case .text: return "text"
        case .jsonl(let field): return "jsonl (field \"\(field)\")"
        }
    }

    /// The format a file's name implies: `.jsonl`, `.jsonl.zst`, `.jsonl.gz` are JSONL
    /// (field `text`), everything else is text.
    public static func implied(byName path: String) -> CorpusFormat {
        var name = path
        for suffix in [".zst", ".zstd", ".gz"] where name.hasSuffix(suffix) { name.removeLast(suffix.count) }
        return name.hasSuffix(".jsonl") ? .jsonl(field: "text") : .text
    }
}

/// A JSONL line that holds no usable record, by its line number in the file (1-based).
public struct BadRecord: Equatable, Sendable, CustomStringConvertible {
    public var path: String
    public var line: Int
    public var reason: String
    public init(path: String, line: Int, reason: String) { self.path = path; self.line = line; self.reason = reason }
    public var description: String { "\(path):\(line): \(reason)" }
}

/// Turns blocks of whole JSONL lines into text lines (see the file comment).
///
/// ```swift
/// let converter = JSONLConverter(field: "text")
/// var text: [UInt8] = []
/// let result = converter.convert(block, into: &text)   // result.bad: [(line in block, reason)]
/// ```
public struct JSONLConverter: Sendable {
    public let field: [UInt8]

    public init(field: String) { self.field = Array(field.utf8) }

    /// Appends the documents of `block`'s lines to `out`. Lines of whitespace only are ignored;
    /// a line that is not a JSON object with a string `field` is listed in `bad` (0-based line
    /// number within the block) and contributes nothing.
    /// - Returns: the number of lines of `block` and the bad ones.
    /// - Complexity: O(block size).
    public func convert(_ block: UnsafeRawBufferPointer, into out: inout [UInt8]) -> (lines: Int, bad: [(line: Int, reason: String)]) {
        var lines = 0
        var bad: [(line: Int, reason: String)] = []
        splitLines(block) { line in
            defer { lines += 1 }
            guard let base = line.baseAddress, line.count > 0 else { return }
            var scanner = JSONScanner(base.assumingMemoryBound(to: UInt8.self), line.count)
            scanner.skipSpace()
            if scanner.atEnd { return }
            let mark = out.count
            do {
                try scanner.record(field: field, into: &out)
                dropBlankLines(in: &out, from: mark)
                out.append(0x0A)
                out.append(0x0A)
            } catch let error as JSONLineError {
                out.removeSubrange(mark...)
                bad.append((lines, error.message))
            } catch {
                out.removeSubrange(mark...)
                bad.append((lines, "\(error)"))
            }
        }
        return (lines, bad)
    }
}

/// Removes the blank lines (as `isBlankLine` defines them) of `out[from...]`, so that a record's
/// text stays one document: only the blank line written after it ends the document.
func dropBlankLines(in out: inout [UInt8], from start: Int) {
    guard out[start...].contains(0x0A) else { return }
    var write = start
    var lineStart = start
    let end = out.count
    out.withUnsafeMutableBytes { buffer in
        while lineStart < end {
            var lineEnd = lineStart
            while lineEnd < end && buffer[lineEnd] != 0x0A { lineEnd += 1 }
            let line = UnsafeRawBufferPointer(rebasing: buffer[lineStart..<lineEnd])
            if !isBlankLine(line) {
                if write > start { buffer[write] = 0x0A; write += 1 }
                if write != lineStart, let base = buffer.baseAddress {
                    memmove(base + write, base + lineStart, line.count)
                }
                write += line.count
            }
            lineStart = lineEnd + 1
        }
    }
    out.removeSubrange(write..<end)
}

struct JSONLineError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

/// A validating JSON scanner over one line (RFC 8259, as Python's json.loads accepts it
/// strictly: no control characters inside strings, no trailing garbage).
struct JSONScanner {
    let p: UnsafePointer<UInt8>
    let n: Int
    var i = 0

    init(_ p: UnsafePointer<UInt8>, _ n: Int) { self.p = p; self.n = n }

    var atEnd: Bool { i >= n }

    mutating func skipSpace() {
        while i < n, p[i] == 0x20 || p[i] == 0x09 || p[i] == 0x0D || p[i] == 0x0A { i += 1 }
    }

    private func fail(_ what: String) -> JSONLineError {
        JSONLineError(i < n ? "not valid JSON: \(what) at column \(i + 1)" : "not valid JSON: \(what) at the end of the line")
    }

    /// Parses one object; appends the decoded string of `field` (the last one if repeated).
    mutating func record(field: [UInt8], into out: inout [UInt8]) throws {
        guard i < n, p[i] == 0x7B else { throw JSONLineError("not a JSON object (one object per line expected)") }
        i += 1
        var key: [UInt8] = []
        var value: [UInt8] = []
        var found = false
        var notString: String? = nil
        skipSpace()
        if i < n, p[i] == 0x7D { i += 1 } else {
            while true {
                skipSpace()
                guard i < n, p[i] == 0x22 else { throw fail("expected a key") }
                key.removeAll(keepingCapacity: true)
                try string(into: &key)
                skipSpace()
                guard i < n, p[i] == 0x3A else { throw fail("expected ':'") }
                i += 1
                skipSpace()
                if key == field {
                    if i < n, p[i] == 0x22 {
                        value.removeAll(keepingCapacity: true)
                        try string(into: &value)
                        found = true
                        notString = nil
                    } else {
                        let start = i
                        try skipValue(depth: 0)
                        found = false
                        notString = String(decoding: UnsafeRawBufferPointer(start: p + start, count: min(i - start, 20)), as: UTF8.self)
                    }
                } else {
                    try skipValue(depth: 0)
                }
                skipSpace()
                guard i < n else { throw fail("unterminated object") }
                if p[i] == 0x2C { i += 1; continue }
                if p[i] == 0x7D { i += 1; break }
                throw fail("expected ',' or '}'")
            }
        }
        skipSpace()
        guard i >= n else { throw fail("unexpected text after the object") }
        let name = String(decoding: field, as: UTF8.self)
        if let notString { throw JSONLineError("field \"\(name)\" is not a string (\(notString))") }
        guard found else { throw JSONLineError("no \"\(name)\" field") }
        out.append(contentsOf: value)
    }

    mutating func skipValue(depth: Int) throws {
        guard depth < 512 else { throw fail("nested too deeply") }
        guard i < n else { throw fail("expected a value") }
        switch p[i] {
        case 0x22:
            var sink: [UInt8] = []
            try string(into: &sink)
        case 0x7B, 0x5B:
            let close: UInt8 = p[i] == 0x7B ? 0x7D : 0x5D
            let isObject = close == 0x7D
            i += 1
            skipSpace()
            if i < n, p[i] == close { i += 1; return }
            while true {
                skipSpace()
                if isObject {
                    guard i < n, p[i] == 0x22 else { throw fail("expected a key") }
                    var sink: [UInt8] = []
                    try string(into: &sink)
                    skipSpace()
                    guard i < n, p[i] == 0x3A else { throw fail("expected ':'") }
                    i += 1
                    skipSpace()
                }
                try skipValue(depth: depth + 1)
                skipSpace()
                guard i < n else { throw fail("unterminated \(isObject ? "object" : "array")") }
                if p[i] == 0x2C { i += 1; continue }
                if p[i] == close { i += 1; return }
                throw fail("expected ',' or '\(isObject ? "}" : "]")'")
            }
        case 0x74: try literal("true")
        case 0x66: try literal("false")
        case 0x6E: try literal("null")
        case 0x2D, 0x30...0x39: try number()
        default: throw fail("unexpected character")
        }
    }

    private mutating func literal(_ word: StaticString) throws {
        let count = word.utf8CodeUnitCount
        guard i + count <= n, memcmp(p + i, word.utf8Start, count) == 0 else { throw fail("unexpected character") }
        i += count
    }

    private mutating func number() throws {
        if p[i] == 0x2D { i += 1 }
        func digits() -> Int { let s = i; while i < n, p[i] >= 0x30, p[i] <= 0x39 { i += 1 }; return i - s }
        guard i < n else { throw fail("bad number") }
        if p[i] == 0x30 { i += 1 } else if digits() == 0 { throw fail("bad number") }
        if i < n, p[i] == 0x2E { i += 1; guard digits() > 0 else { throw fail("bad number") } }
        if i < n, p[i] == 0x65 || p[i] == 0x45 {
            i += 1
            if i < n, p[i] == 0x2B || p[i] == 0x2D { i += 1 }
            guard digits() > 0 else { throw fail("bad number") }
        }
    }

    private mutating func hex4() throws -> UInt32 {
        guard i + 4 <= n else { throw fail("bad \\u escape") }
        var v: UInt32 = 0
        for k in 0..<4 {
            let c = p[i + k]
            let d: UInt8
            switch c {
            case 0x30...0x39: d = c - 0x30
            case 0x41...0x46: d = c - 0x41 + 10
            case 0x61...0x66: d = c - 0x61 + 10
            default: throw fail("bad \\u escape")
            }
            v = v << 4 | UInt32(d)
        }
        i += 4
        return v
    }

    /// Parses a string at `p[i] == '"'`, appending its decoded UTF-8 to `out`. Raw bytes are
    /// copied as they are (invalid UTF-8 is left for the tokenizer to replace and count).
    mutating func string(into out: inout [UInt8]) throws {
        i += 1
        while true {
            var j = i
            while j < n, p[j] != 0x22, p[j] != 0x5C, p[j] >= 0x20 { j += 1 }
            if j > i { out.append(contentsOf: UnsafeBufferPointer(start: p + i, count: j - i)) }
            i = j
            guard i < n else { throw fail("unterminated string") }
            let c = p[i]
            if c == 0x22 { i += 1; return }
            if c < 0x20 { throw fail("control character in a string") }
            // Backslash escape.
            i += 1
            guard i < n else { throw fail("unterminated string") }
            let e = p[i]
            i += 1
            switch e {
            case 0x22: out.append(0x22)
            case 0x5C: out.append(0x5C)
            case 0x2F: out.append(0x2F)
            case 0x62: out.append(0x08)
            case 0x66: out.append(0x0C)
            case 0x6E: out.append(0x0A)
            case 0x72: out.append(0x0D)
            case 0x74: out.append(0x09)
            case 0x75:
                var scalar = try hex4()
                if scalar >= 0xD800 && scalar < 0xDC00, i + 6 <= n, p[i] == 0x5C, p[i + 1] == 0x75 {
                    let save = i
                    i += 2
                    let low = try hex4()
                    if low >= 0xDC00 && low < 0xE000 {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        i = save
                    }
                }
                if scalar >= 0xD800 && scalar < 0xE000 { scalar = 0xFFFD }   // a lone surrogate
                appendUTF8(scalar, &out)
            default:
                i -= 1
                throw fail("bad escape")
            }
        }
    }
}

@inline(__always)
func appendUTF8(_ c: UInt32, _ out: inout [UInt8]) {
    if c < 0x80 { out.append(UInt8(c)) }
    else if c < 0x800 { out.append(UInt8(0xC0 | c >> 6)); out.append(UInt8(0x80 | c & 0x3F)) }
    else if c < 0x10000 {
        out.append(UInt8(0xE0 | c >> 12)); out.append(UInt8(0x80 | (c >> 6) & 0x3F)); out.append(UInt8(0x80 | c & 0x3F))
    } else {
        out.append(UInt8(0xF0 | c >> 18)); out.append(UInt8(0x80 | (c >> 12) & 0x3F))
        out.append(UInt8(0x80 | (c >> 6) & 0x3F)); out.append(UInt8(0x80 | c & 0x3F))
    }
}

/// True when the line is empty after Python's `str.strip()` (the original's blank-line test).
@inlinable
public func isBlankLine(_ line: UnsafeRawBufferPointer) -> Bool {
    var i = 0
    let n = line.count
    while i < n {
        let b = line[i]
        if b < 0x80 {
            if b == 0x20 || (b >= 0x09 && b <= 0x0D) || (b >= 0x1C && b <= 0x1F) { i += 1; continue }
            return false
        }
        // Non-ASCII whitespace (U+0085, U+00A0, U+1680, U+2000-200A, U+2028/9, U+202F, U+205F, U+3000).
        if b == 0xC2, i + 1 < n, line[i + 1] == 0x85 || line[i + 1] == 0xA0 { i += 2; continue }
        if b == 0xE1, i + 2 < n, line[i + 1] == 0x9A, line[i + 2] == 0x80 { i += 3; continue }
        if b == 0xE2, i + 2 < n {
            let c1 = line[i + 1], c2 = line[i + 2]
            if c1 == 0x80 && (c2 <= 0x8A || c2 == 0xA8 || c2 == 0xA9 || c2 == 0xAF) { i += 3; continue }
            if c1 == 0x81 && c2 == 0x9F { i += 3; continue }
        }
        if b == 0xE3, i + 2 < n, line[i + 1] == 0x80, line[i + 2] == 0x80 { i += 3; continue }
        return false
    }
    return true
}
