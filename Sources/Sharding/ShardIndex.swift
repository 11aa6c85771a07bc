// The SQLite index of a shard directory (OUT/index.sqlite): the schema, the metadata every
// shard shares, and the read-only view (`ShardIndex`) that the batch stream and verify use.
import CSQLite
import Foundation

/// The tool version recorded in every index.
public let electraSwiftVersion = "electra-swift 0.1.0"

/// Version of the SQLite schema (`PRAGMA user_version`). Version 2 added `sources.damaged_lines`
/// and `sources.bad_records`; version 3 `sources.input_tokens`, `dropped_long_line_tokens` and
/// `dropped_overflow_tokens`, and the `packing` meta key. Versions 1 and 2 are still read (the
/// counts they lack read as unknown or 0, their packing as `original`).
public let shardIndexSchemaVersion = 3

let indexSchemaSQL = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE vocabulary(id INTEGER PRIMARY KEY, token TEXT NOT NULL);
CREATE TABLE shards(
  id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, first_sequence INTEGER NOT NULL,
  sequences INTEGER NOT NULL, tokens INTEGER NOT NULL, bytes INTEGER NOT NULL, sha256 TEXT NOT NULL);
CREATE TABLE frames(
  shard_id INTEGER NOT NULL REFERENCES shards(id), frame INTEGER NOT NULL,
  offset INTEGER NOT NULL, length INTEGER NOT NULL, first_sequence INTEGER NOT NULL,
  count INTEGER NOT NULL, tokens INTEGER NOT NULL, crc32 INTEGER NOT NULL,
  PRIMARY KEY(shard_id, frame)) WITHOUT ROWID;
CREATE TABLE sources(
  id INTEGER PRIMARY KEY, path TEXT NOT NULL, bytes INTEGER NOT NULL, sha256 TEXT NOT NULL,
  documents INTEGER NOT NULL, lines INTEGER NOT NULL, sequences INTEGER NOT NULL, tokens INTEGER NOT NULL,
  invalid_utf8_bytes INTEGER NOT NULL, first_sequence INTEGER NOT NULL,
  damaged_lines INTEGER NOT NULL, bad_records INTEGER NOT NULL, input_tokens INTEGER NOT NULL,
  dropped_long_line_tokens INTEGER NOT NULL, dropped_overflow_tokens INTEGER NOT NULL);
"""

/// What every shard of a directory shares: format, vocabulary, tokenizer options, packing options.
public struct ShardMeta: Equatable, Sendable {
    public var formatVersion = Int(ShardFormat.version)
    public var schemaVersion = shardIndexSchemaVersion
    public var vocabSize: Int
    /// Hex SHA-256 of the vocabulary file's bytes.
    public var vocabSHA256: String
    public var padID: UInt32, unkID: UInt32, clsID: UInt32, sepID: UInt32, maskID: UInt32
    /// The tokenizer options as canonical JSON (sorted keys).
    public var tokenizerOptions: String
    public var maxSeqLength: Int
    public var seed: UInt64
    /// How sentences were packed into examples (indexes before schema 3: `original`).
    public var packing: Packing = .lossless
    /// Bytes per stored token: 2 (uint16) when the vocabulary fits, else 4.
    public var tokenBytes: Int
    public var toolVersion = electraSwiftVersion

    public init(vocabSize: Int, vocabSHA256: String, padID: UInt32, unkID: UInt32, clsID: UInt32, sepID: UInt32,
                maskID: UInt32, tokenizerOptions: String, maxSeqLength: Int, seed: UInt64) {
        self.vocabSize = vocabSize
        self.vocabSHA256 = vocabSHA256
        self.padID = padID; self.unkID = unkID; self.clsID = clsID; self.sepID = sepID; self.maskID = maskID
        self.tokenizerOptions = tokenizerOptions
        self.maxSeqLength = maxSeqLength
        self.seed = seed
        self.tokenBytes = ShardFormat.tokenBytes(vocabularySize: vocabSize)
    }

    /// The rows of the meta table.
    var keyValues: [(String, String)] {
        [("format_version", "\(formatVersion)"), ("schema_version", "\(schemaVersion)"),
         ("vocab_size", "\(vocabSize)"), ("vocab_sha256", vocabSHA256),
         ("pad_id", "\(padID)"), ("unk_id", "\(unkID)"), ("cls_id", "\(clsID)"), ("sep_id", "\(sepID)"),
         ("mask_id", "\(maskID)"), ("tokenizer_options", tokenizerOptions),
         ("max_seq_length", "\(maxSeqLength)"), ("seed", "\(seed)"), ("token_bytes", "\(tokenBytes)"),
         ("packing", packing.rawValue), ("tool_version", toolVersion)]
    }

    init(keyValues: [String: String], path: String) throws {
        func value(_ key: String) throws -> String {
            guard let v = keyValues[key] else { throw ShardingError.badIndex(path, "the meta table lacks \(key)") }
            return v
        }
        func int(_ key: String) throws -> Int {
            guard let v = Int(try value(key)) else { throw ShardingError.badIndex(path, "meta \(key) is not a number") }
            return v
        }
        func id(_ key: String) throws -> UInt32 {
            guard let v = UInt32(try value(key)) else { throw ShardingError.badIndex(path, "meta \(key) is not an id") }
            return v
        }
        guard let seed = UInt64(try value("seed")) else { throw ShardingError.badIndex(path, "meta seed is not a number") }
        self.init(vocabSize: try int("vocab_size"), vocabSHA256: try value("vocab_sha256"), padID: try id("pad_id"),
                  unkID: try id("unk_id"), clsID: try id("cls_id"), sepID: try id("sep_id"), maskID: try id("mask_id"),
                  tokenizerOptions: try value("tokenizer_options"), maxSeqLength: try int("max_seq_length"), seed: seed)
        formatVersion = try int("format_version")
        schemaVersion = try int("schema_version")
        tokenBytes = try int("token_bytes")
        toolVersion = try value("tool_version")
        if let name = keyValues["packing"] {
            guard let p = Packing(rawValue: name) else { throw ShardingError.badIndex(path, "meta packing is \(name), this tool knows lossless and original") }
            packing = p
        } else {
            packing = .original   // written before packing was a choice
        }
    }

    /// The settings that must agree for new shards to join an index, as "name: index X vs given Y".
    public func differences(from given: ShardMeta) -> [String] {
        var out: [String] = []
        func check(_ name: String, _ a: String, _ b: String) { if a != b { out.append("\(name): index \(a) vs given \(b)") } }
        check("format version", "\(formatVersion)", "\(given.formatVersion)")
        check("vocabulary sha256", vocabSHA256, given.vocabSHA256)
        check("vocabulary size", "\(vocabSize)", "\(given.vocabSize)")
        check("special ids [PAD] [UNK] [CLS] [SEP] [MASK]", "\([padID, unkID, clsID, sepID, maskID])",
              "\([given.padID, given.unkID, given.clsID, given.sepID, given.maskID])")
        check("tokenizer options", tokenizerOptions, given.tokenizerOptions)
        check("--max-seq-length", "\(maxSeqLength)", "\(given.maxSeqLength)")
        check("--seed", "\(seed)", "\(given.seed)")
        check("--packing", packing.rawValue, given.packing.rawValue)
        return out
    }
}

/// One frame of one shard: where its compressed bytes are and which sequences it holds.
public struct FrameRef: Hashable, Sendable {
    public var shardID: Int
    /// The shard's path relative to the output directory.
    public var shardPath: String
    /// The frame's position within its shard (0-based).
    public var frame: Int
    public var offset: Int
    public var length: Int
    /// Dataset-wide index of the frame's first sequence.
    public var firstSequence: Int
    public var count: Int
    public var tokens: Int
    public var crc32: UInt32
}

/// One shard as recorded in the index.
public struct ShardRecord: Hashable, Sendable {
    public var id: Int
    public var path: String
    public var firstSequence: Int
    public var sequences: Int
    public var tokens: Int
    public var bytes: Int
    public var sha256: String
}

/// One input source as recorded in the index.
public struct SourceRecord: Hashable, Sendable {
    public var path: String
    public var bytes: Int
    public var sha256: String
    public var documents: Int
    public var lines: Int
    public var sequences: Int
    public var tokens: Int
    public var invalidUTF8Bytes: Int
    /// Lines that held a NUL byte or invalid UTF-8 (0 in schema-1 indexes, which did not count them).
    public var damagedLines: Int
    /// JSONL lines skipped as bad.
    public var badRecords: Int
    /// Dataset-wide index of the source's first sequence (a source's sequences are contiguous).
    public var firstSequence: Int
    /// Tokens of the input's text, before packing (nil in indexes before schema 3).
    public var inputTokens: Int?
    /// `original` packing only: tokens dropped from lines longer than `max_seq_length`, and
    /// from the overflow of examples (0 with `lossless`).
    public var droppedLongLineTokens: Int
    public var droppedOverflowTokens: Int

    public init(path: String, bytes: Int, sha256: String, documents: Int, lines: Int, sequences: Int, tokens: Int,
                invalidUTF8Bytes: Int, damagedLines: Int = 0, badRecords: Int = 0, firstSequence: Int,
                inputTokens: Int? = nil, droppedLongLineTokens: Int = 0, droppedOverflowTokens: Int = 0) {
        self.path = path; self.bytes = bytes; self.sha256 = sha256; self.documents = documents; self.lines = lines
        self.sequences = sequences; self.tokens = tokens; self.invalidUTF8Bytes = invalidUTF8Bytes
        self.damagedLines = damagedLines; self.badRecords = badRecords; self.firstSequence = firstSequence
        self.inputTokens = inputTokens
        self.droppedLongLineTokens = droppedLongLineTokens; self.droppedOverflowTokens = droppedOverflowTokens
    }

    /// Tokens of the input that reached no sequence.
    public var droppedTokens: Int { droppedLongLineTokens + droppedOverflowTokens }
}

/// How sentences become examples.
public enum Packing: String, Sendable, CaseIterable {
    /// Every token of every document lands in exactly one sequence: lines longer than an
    /// example are split at sentence boundaries (then at the token limit), and the sentence that
    /// crosses an example's end is split there, its tail starting the document's next example.
    case lossless
    /// google-research/electra's build_pretraining_dataset.py: a line is cut to
    /// `max_seq_length` tokens and the overflow of each example is dropped.
    case original
}

/// A read-only view of a shard directory: its metadata, shards, frames and sources.
///
/// ```swift
/// let index = try ShardIndex(directory: URL(fileURLWithPath: "data"))
/// for frame in index.frames { for seq in try index.readFrame(frame) { use(seq.tokens) } }
/// ```
/// Safe to use from several threads (file handles are shared under a lock).
public final class ShardIndex {
    public let directory: URL
    public let meta: ShardMeta
    public let shards: [ShardRecord]
    /// Every frame of every shard, in dataset order.
    public let frames: [FrameRef]
    public let sources: [SourceRecord]
    /// The index's schema version (1: written before damaged lines were counted).
    public let schemaVersion: Int
    public var sequenceCount: Int { shards.reduce(0) { $0 + $1.sequences } }
    public var tokenCount: Int { shards.reduce(0) { $0 + $1.tokens } }

    private let database: SQLiteDatabase
    private let lock = NSLock()
    private var descriptors: [Int: Int32] = [:]

    /// Opens `directory/index.sqlite` read-only.
    /// - Throws: `ShardingError.noIndex` when there is none, `.badIndex` when it is damaged.
    /// - Complexity: O(shards + frames + sources).
    public init(directory: URL) throws {
        self.directory = directory
        let path = directory.appendingPathComponent("index.sqlite").path
        guard FileManager.default.fileExists(atPath: path) else { throw ShardingError.noIndex(directory.path) }
        database = try SQLiteDatabase(path: path, readOnly: true)
        let version = try database.rows("PRAGMA user_version").first?.first?.int ?? 0
        guard (1...shardIndexSchemaVersion).contains(version) else {
            throw ShardingError.badIndex(path, "schema version \(version), this tool reads versions 1 to \(shardIndexSchemaVersion) (a newer electra-prep wrote it?)")
        }
        schemaVersion = version
        var kv: [String: String] = [:]
        for row in try database.rows("SELECT key, value FROM meta") { kv[row[0].text] = row[1].text }
        meta = try ShardMeta(keyValues: kv, path: path)
        shards = try database.rows("SELECT id, path, first_sequence, sequences, tokens, bytes, sha256 FROM shards ORDER BY id")
            .map { ShardRecord(id: $0[0].int, path: $0[1].text, firstSequence: $0[2].int, sequences: $0[3].int,
                               tokens: $0[4].int, bytes: $0[5].int, sha256: $0[6].text) }
        let paths = Dictionary(uniqueKeysWithValues: shards.map { ($0.id, $0.path) })
        frames = try database.rows("""
            SELECT shard_id, frame, offset, length, first_sequence, count, tokens, crc32
            FROM frames ORDER BY shard_id, frame
            """).map {
            FrameRef(shardID: $0[0].int, shardPath: paths[$0[0].int] ?? "?", frame: $0[1].int, offset: $0[2].int,
                     length: $0[3].int, firstSequence: $0[4].int, count: $0[5].int, tokens: $0[6].int,
                     crc32: UInt32(truncatingIfNeeded: $0[7].int))
        }
        let counts = version >= 2 ? "damaged_lines, bad_records" : "0, 0"
        let loss = version >= 3 ? "input_tokens, dropped_long_line_tokens, dropped_overflow_tokens" : "-1, 0, 0"
        sources = try database.rows("""
            SELECT path, bytes, sha256, documents, lines, sequences, tokens, invalid_utf8_bytes, first_sequence, \(counts),
                   \(loss)
            FROM sources ORDER BY id
            """).map {
            SourceRecord(path: $0[0].text, bytes: $0[1].int, sha256: $0[2].text, documents: $0[3].int,
                         lines: $0[4].int, sequences: $0[5].int, tokens: $0[6].int, invalidUTF8Bytes: $0[7].int,
                         damagedLines: $0[9].int, badRecords: $0[10].int, firstSequence: $0[8].int,
                         inputTokens: $0[11].int < 0 ? nil : $0[11].int, droppedLongLineTokens: $0[12].int,
                         droppedOverflowTokens: $0[13].int)
        }
    }

    deinit { for fd in descriptors.values { close(fd) } }

    /// Debug-only consistency checks: frames numbered and contiguous, summing to their shards,
    /// shards contiguous from sequence 0, sources accounting for every sequence.
    public func checkInvariants() {
        #if DEBUG
        var next = 0
        let byShard = Dictionary(grouping: frames, by: \.shardID)
        for shard in shards {
            assert(shard.firstSequence == next, "\(shard.path): first sequence \(shard.firstSequence), expected \(next)")
            let own = byShard[shard.id] ?? []
            for (i, f) in own.enumerated() {
                assert(f.frame == i && f.firstSequence == next, "\(shard.path) frame \(f.frame) out of order")
                next += f.count
            }
            assert(own.reduce(0) { $0 + $1.tokens } == shard.tokens, "\(shard.path): frame tokens do not sum up")
            assert(next == shard.firstSequence + shard.sequences, "\(shard.path): frame counts do not sum up")
        }
        assert(sources.reduce(0) { $0 + $1.sequences } == next, "sources do not account for every sequence")
        #endif
    }

    /// The vocabulary tokens stored in the index (id order), to decode ids without vocab.txt.
    public func vocabularyTokens() throws -> [String] {
        try database.rows("SELECT token FROM vocabulary ORDER BY id").map { $0[0].text }
    }

    /// The frame's compressed bytes, checked against its CRC-32.
    public func readCompressedFrame(_ frame: FrameRef) throws -> [UInt8] {
        let fd = try descriptor(for: frame)
        var bytes = [UInt8](repeating: 0, count: frame.length)
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, frame.length, off_t(frame.offset)) }
        if n != frame.length {
            throw ShardingError.corruptShard(shard: frame.shardPath, frame: frame.frame,
                                             reason: n < 0 ? String(cString: strerror(errno)) : "the file ends inside the frame (truncated)")
        }
        let crc = bytes.withUnsafeBytes { crc32Of($0) }
        if crc != frame.crc32 {
            throw ShardingError.corruptShard(shard: frame.shardPath, frame: frame.frame,
                                             reason: "checksum mismatch (crc32 \(crc), index says \(frame.crc32))")
        }
        return bytes
    }

    /// The packed sequences of one frame, after checking its checksum and shape.
    /// - Throws: `ShardingError.corruptShard` naming the shard and frame.
    /// - Complexity: O(frame size).
    public func readFrame(_ frame: FrameRef) throws -> [PackedSequence] {
        let compressed = try readCompressedFrame(frame)
        do {
            let content = try compressed.withUnsafeBytes { try decompressFrame($0) }
            let sequences = try content.withUnsafeBytes { try FramePayload.decode($0, tokenBytes: meta.tokenBytes) }
            guard sequences.count == frame.count else {
                throw ShardFormatError("\(sequences.count) sequences, the index says \(frame.count)")
            }
            return sequences
        } catch let error as ShardFormatError {
            throw ShardingError.corruptShard(shard: frame.shardPath, frame: frame.frame, reason: error.message)
        }
    }

    private func descriptor(for frame: FrameRef) throws -> Int32 {
        lock.lock(); defer { lock.unlock() }
        if let fd = descriptors[frame.shardID] { return fd }
        let path = directory.appendingPathComponent(frame.shardPath).path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            throw ShardingError.corruptShard(shard: frame.shardPath, frame: nil,
                                             reason: "cannot open: \(String(cString: strerror(errno)))")
        }
        descriptors[frame.shardID] = fd
        return fd
    }
}
