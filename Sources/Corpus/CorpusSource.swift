// Corpus inputs as users name them: files, directories (their files, recursively, in sorted
// order) and `-` for standard input. Compressed `.zst` and `.gz` files are read transparently
// by `LineReader`.
import Foundation

/// One input of a corpus: a file path, or `-` for standard input.
public struct CorpusSource: Sendable, Hashable, CustomStringConvertible {
    /// The path as given (or found in a directory); `-` means standard input.
    public var path: String
    /// How its lines are read; by default what the name implies (`.jsonl[.zst|.gz]`: JSONL).
    public var format: CorpusFormat

    public init(path: String, format: CorpusFormat? = nil) {
        self.path = path
        self.format = format ?? CorpusFormat.implied(byName: path)
    }

    /// True for `-`, standard input.
    public var isStandardInput: Bool { path == "-" }

    /// How the source is decompressed, from its name.
    public var compression: Compression {
        if path.hasSuffix(".zst") || path.hasSuffix(".zstd") { return .zstd }
        if path.hasSuffix(".gz") { return .gzip }
        return .none
    }

    public var description: String { isStandardInput ? "<stdin>" : path }

    /// Size on disk in bytes, or nil for standard input.
    public var fileSize: Int? {
        guard !isStandardInput,
              let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let size = attributes[.size] as? NSNumber else { return nil }
        return size.intValue
    }
}

/// How a source's bytes are stored.
public enum Compression: String, Sendable, Codable {
    case none, zstd, gzip
}

/// A corpus input that cannot be read; each case names the file and says what to do.
public enum CorpusError: Error, CustomStringConvertible, Equatable {
    case notFound(String)
    case noTextFiles(directory: String)
    case unreadable(String, reason: String)
    case corruptCompressed(String, reason: String)
    case binary(String, reason: String)
    case badRecord(BadRecord)
    case noInputs
    /// Line `line` (from 1) is longer than `limit` bytes (`LineReader.maxLineBytes`).
    case lineTooLong(String, line: Int, limit: Int)

    public var description: String {
        switch self {
        case .notFound(let path):
            return "\(path): no such file or directory (pass a text file, a directory of text files, or - for standard input)"
        case .noTextFiles(let dir):
            return "\(dir): the directory holds no text files (hidden files are skipped)"
        case .unreadable(let path, let reason):
            return "\(path): cannot be read: \(reason) (check the path and its permissions)"
        case .corruptCompressed(let path, let reason):
            return "\(path): the compressed stream is damaged: \(reason) (re-create or re-download the file)"
        case .binary(let path, let reason):
            return "\(path): looks like a binary file (\(reason)); pass UTF-8 text, one sentence per line"
        case .badRecord(let bad):
            return "\(bad) (--strict refuses the file; without it bad lines are skipped and counted)"
        case .noInputs:
            return "no corpus inputs were given"
        case .lineTooLong(let path, let line, let limit):
            return "\(path):\(line): the line is longer than \(limit >> 20) MiB (the most one line may hold, which bounds the memory a tokenizer thread needs); split it into lines, e.g. one paragraph or sentence a line (a JSONL record: several records), or remove it"
        }
    }
}

/// Expands corpus arguments into sources: a file stays itself, a directory becomes its regular,
/// non-hidden files (recursively, sorted by path), `-` is standard input.
///
/// ```swift
/// let sources = try expandCorpusArguments(["data/sample", "extra.txt.zst"])
/// ```
/// - Throws: `CorpusError.notFound` for a missing path, `.noTextFiles` for a directory with no files.
/// - Complexity: O(files) file-system calls.
public func expandCorpusArguments(_ arguments: [String]) throws -> [CorpusSource] {
    guard !arguments.isEmpty else { throw CorpusError.noInputs }
    var sources: [CorpusSource] = []
    let fm = FileManager.default
    for argument in arguments {
        if argument == "-" { sources.append(CorpusSource(path: "-")); continue }
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: argument, isDirectory: &isDirectory) else {
            throw CorpusError.notFound(argument)
        }
        if !isDirectory.boolValue { sources.append(CorpusSource(path: argument)); continue }
        var found: [String] = []
        collectFiles(in: argument, into: &found)
        guard !found.isEmpty else { throw CorpusError.noTextFiles(directory: argument) }
        sources.append(contentsOf: found.sorted().map { CorpusSource(path: $0) })
    }
    return sources
}

private func collectFiles(in directory: String, into found: inout [String]) {
    let fm = FileManager.default
    guard let names = try? fm.contentsOfDirectory(atPath: directory) else { return }
    for name in names where !name.hasPrefix(".") {
        let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
        if isDirectory.boolValue { collectFiles(in: path, into: &found) } else { found.append(path) }
    }
}
