// Opens or creates OUT/index.sqlite for writing: checks the settings against those the index
// was built with, holds an exclusive lock on the directory, removes shard files an interrupted
// run left behind, and commits finished shards and sources in one transaction each time.
import CSQLite
import Durability
import Foundation

/// The writing side of the index. One per output directory at a time (enforced with a lock).
final class IndexWriter {
    let directory: URL
    let indexPath: String
    let meta: ShardMeta
    private let database: SQLiteDatabase
    private var lockFD: Int32 = -1
    /// Content hashes of the sources already sharded.
    private(set) var knownSources: [String: String] = [:]   // sha256 -> path
    /// Sizes in bytes of the sources already sharded (a file of another size cannot be one of them).
    private(set) var knownSizes = Set<Int>()
    /// Rows of the sources table.
    private(set) var sourceCount = 0
    private(set) var nextShardNumber = 0
    private(set) var sequenceCount = 0
    /// Shard files found on disk that the index does not list (left by an interrupted run), removed.
    private(set) var removedOrphans: [String] = []

    /// Opens (creating when absent) the index of `directory` for `meta`.
    /// - Throws: `ShardingError.optionsMismatch` naming both settings when they differ.
    init(directory: URL, meta: ShardMeta, vocabularyTokens: [String]) throws {
        self.directory = directory
        self.meta = meta
        let fm = FileManager.default
        do {
            try fm.createDirectory(at: directory.appendingPathComponent("shards"), withIntermediateDirectories: true)
        } catch {
            let problem = FileProblem(error, path: directory.path, writing: true)
            throw ShardingError.io(directory.path, "cannot create the output directory (\(problem?.reason ?? "\(error)")); "
                                   + (problem?.remedy(for: "--out") ?? "choose another --out"))
        }
        let lockPath = directory.appendingPathComponent(".lock").path
        lockFD = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if lockFD < 0 { throw ShardingError.io(lockPath, String(cString: strerror(errno))) }
        if flock(lockFD, LOCK_EX | LOCK_NB) != 0 {
            close(lockFD); lockFD = -1
            throw ShardingError.locked(directory.path)
        }
        indexPath = directory.appendingPathComponent("index.sqlite").path
        var version = 0
        let created = !fm.fileExists(atPath: indexPath)
        if created {
            // A new index is built under a temporary name and renamed into place: index.sqlite
            // either does not exist or holds the schema (a run killed at its very start leaves
            // nothing that readers would have to tell apart from a damaged index).
            let temporary = indexPath + ".tmp"
            unlink(temporary)
            do {
                let fresh = try SQLiteDatabase(path: temporary, readOnly: false)
                try fresh.execute("PRAGMA synchronous=FULL;")
                try fresh.transaction {
                    try fresh.execute(indexSchemaSQL)
                    let insertMeta = try fresh.prepare("INSERT INTO meta(key, value) VALUES (?, ?)")
                    for (k, v) in meta.keyValues { try insertMeta.run([.text(k), .text(v)]) }
                    let insertToken = try fresh.prepare("INSERT INTO vocabulary(id, token) VALUES (?, ?)")
                    for (i, t) in vocabularyTokens.enumerated() { try insertToken.run([.int(Int64(i)), .text(t)]) }
                    try fresh.execute("PRAGMA user_version = \(shardIndexSchemaVersion)")
                }
            }
            if rename(temporary, indexPath) != 0 { throw ShardingError.io(indexPath, "rename: " + String(cString: strerror(errno))) }
            try fsyncDirectory(directory)
            version = shardIndexSchemaVersion
        }
        database = try SQLiteDatabase(path: indexPath, readOnly: false)
        try database.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")
        if version == 0 { version = try database.rows("PRAGMA user_version").first?.first?.int ?? 0 }
        guard version == shardIndexSchemaVersion else {
            let advice = version == 0
                ? "an interrupted first run left it empty; delete it and run again"
                : version < shardIndexSchemaVersion
                ? "an older electra-prep wrote it; it stays readable (train, verify, inspect), but new inputs go into a new --out directory"
                : "a newer electra-prep wrote it"
            throw ShardingError.badIndex(indexPath, "schema version \(version), this tool adds to version \(shardIndexSchemaVersion) only (\(advice))")
        }
        if !created {
            var kv: [String: String] = [:]
            for row in try database.rows("SELECT key, value FROM meta") { kv[row[0].text] = row[1].text }
            let existing = try ShardMeta(keyValues: kv, path: indexPath)
            let differences = existing.differences(from: meta)
            if !differences.isEmpty { throw ShardingError.optionsMismatch(index: indexPath, differences: differences) }
        }
        for row in try database.rows("SELECT sha256, path, bytes FROM sources") {
            knownSources[row[0].text] = row[1].text
            knownSizes.insert(row[2].int)
            sourceCount += 1
        }
        nextShardNumber = (try database.rows("SELECT COALESCE(MAX(id) + 1, 0) FROM shards").first?.first?.int) ?? 0
        sequenceCount = (try database.rows("SELECT COALESCE(SUM(sequences), 0) FROM shards").first?.first?.int) ?? 0
        try removeOrphans()
    }

    deinit { unlock() }

    /// Releases the directory lock (at the end of a run, whoever still holds this object).
    func unlock() {
        if lockFD >= 0 { close(lockFD); lockFD = -1 }
    }

    /// Deletes temporary shard files and shard files the index does not list: a run killed
    /// after renaming a shard but before committing it leaves such a file; its sequences are
    /// written again by the next run.
    private func removeOrphans() throws {
        let listed = Set(try database.rows("SELECT path FROM shards").map { $0[0].text })
        let shardsDir = directory.appendingPathComponent("shards")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: shardsDir.path)) ?? []
        for name in names.sorted() {
            let relative = "shards/" + name
            let isTemporary = name.hasPrefix(".shard-") && name.hasSuffix(".tmp")
            let isUnlisted = name.hasPrefix("shard-") && name.hasSuffix(".zst") && !listed.contains(relative)
            if isTemporary || isUnlisted {
                unlink(shardsDir.appendingPathComponent(name).path)
                removedOrphans.append(relative)
            }
        }
    }

    /// Reserves the number of the next shard file.
    func takeShardNumber() -> Int {
        defer { nextShardNumber += 1 }
        return nextShardNumber
    }

    /// Records finished shards (already fsynced and renamed) and the sources whose sequences they
    /// hold, in one transaction: either all of them become visible or none does.
    func commit(shards: [(number: Int, shard: WrittenShard)], sources: [SourceRecord]) throws {
        sequenceCount = try database.transaction { () -> Int in
            let insertShard = try database.prepare("""
                INSERT INTO shards(id, path, first_sequence, sequences, tokens, bytes, sha256) VALUES (?, ?, ?, ?, ?, ?, ?)
                """)
            let insertFrame = try database.prepare("""
                INSERT INTO frames(shard_id, frame, offset, length, first_sequence, count, tokens, crc32)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """)
            let insertSource = try database.prepare("""
                INSERT INTO sources(path, bytes, sha256, documents, lines, sequences, tokens, invalid_utf8_bytes, first_sequence,
                                    damaged_lines, bad_records, input_tokens, dropped_long_line_tokens, dropped_overflow_tokens)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            var next = sequenceCount
            for (number, shard) in shards {
                try insertShard.run([.int(Int64(number)), .text(shard.path), .int(Int64(next)), .int(Int64(shard.sequences)),
                                     .int(Int64(shard.tokens)), .int(Int64(shard.bytes)), .text(shard.sha256)])
                for (i, f) in shard.frames.enumerated() {
                    try insertFrame.run([.int(Int64(number)), .int(Int64(i)), .int(Int64(f.offset)), .int(Int64(f.length)),
                                         .int(Int64(next)), .int(Int64(f.sequences)), .int(Int64(f.tokens)),
                                         .int(Int64(f.crc32))])
                    next += f.sequences
                }
            }
            for s in sources {
                try insertSource.run([.text(s.path), .int(Int64(s.bytes)), .text(s.sha256), .int(Int64(s.documents)),
                                      .int(Int64(s.lines)), .int(Int64(s.sequences)), .int(Int64(s.tokens)),
                                      .int(Int64(s.invalidUTF8Bytes)), .int(Int64(s.firstSequence)),
                                      .int(Int64(s.damagedLines)), .int(Int64(s.badRecords)),
                                      .int(Int64(s.inputTokens ?? 0)), .int(Int64(s.droppedLongLineTokens)),
                                      .int(Int64(s.droppedOverflowTokens))])
            }
            return next
        }
        for s in sources {
            knownSources[s.sha256] = s.path
            knownSizes.insert(s.bytes)
        }
        sourceCount += sources.count
    }

    /// Checkpoints the WAL into the main database file (at the end of a run).
    func checkpoint() {
        _ = try? database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    }
}
