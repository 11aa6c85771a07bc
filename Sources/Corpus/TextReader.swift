// A corpus source read as text whatever its format: plain text lines as they are, JSONL records
// converted to their documents (see JSONL.swift). For the tools that read sources one at a time
// (tokenize, build-vocab); `shard` converts JSONL on its worker threads with the same converter.
import Foundation

/// Reads one source as blocks of whole text lines, converting JSONL on the fly.
///
/// ```swift
/// let reader = try TextReader(CorpusSource(path: "wiki.jsonl.zst"))
/// try reader.forEachLine { line in ... }
/// for bad in reader.badRecords { print(bad) }   // "wiki.jsonl.zst:17: not valid JSON: ..."
/// ```
public final class TextReader {
    public let source: CorpusSource
    private let lines: LineReader
    private let converter: JSONLConverter?
    /// With `strict`, the first bad JSONL line throws `CorpusError.badRecord`.
    public var strict = false
    /// The first `keptBadRecords` bad JSONL lines, by file and line number.
    public private(set) var badRecords: [BadRecord] = []
    /// How many JSONL lines were bad (skipped).
    public private(set) var badRecordCount = 0
    public static let keptBadRecords = 20
    private var rawLines = 0
    private var converted: [UInt8] = []

    public init(_ source: CorpusSource, bufferSize: Int = 1 << 20) throws {
        self.source = source
        lines = try LineReader(source, bufferSize: bufferSize)
        if case .jsonl(let field) = source.format { converter = JSONLConverter(field: field) } else { converter = nil }
    }

    public var bytesRead: Int { lines.bytesRead }
    public var totalBytes: Int? { lines.totalBytes }
    public var contentSHA256: String? { lines.contentSHA256 }

    /// Calls `body` with blocks of whole text lines (for JSONL: the records' documents).
    public func forEachBlock(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard let converter else { return try lines.forEachBlock(body) }
        try lines.forEachBlock { block in
            converted.removeAll(keepingCapacity: true)
            let result = converter.convert(block, into: &converted)
            try noteBad(result.bad, firstLine: rawLines)
            rawLines += result.lines
            try converted.withUnsafeBytes { try body($0) }
        }
    }

    /// Calls `body` with each text line (no `\n`).
    public func forEachLine(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        try forEachBlock { try splitLines($0, body) }
    }

    /// Records bad lines of a block whose first line is line `firstLine + 1` of the file.
    private func noteBad(_ bad: [(line: Int, reason: String)], firstLine: Int) throws {
        for (line, reason) in bad {
            let record = BadRecord(path: source.description, line: firstLine + line + 1, reason: reason)
            if strict { throw CorpusError.badRecord(record) }
            badRecordCount += 1
            if badRecords.count < TextReader.keptBadRecords { badRecords.append(record) }
        }
    }
}
