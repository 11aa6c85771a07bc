// A minimal wrapper over the SQLite C API: a connection, prepared statements with positional
// bindings, and transactions. Errors carry the database path and SQLite's message.
import CSQLite
import Durability
import Foundation

private let SQLITE_TRANSIENT = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// One SQLite connection.
final class SQLiteDatabase {
    let path: String
    private(set) var handle: OpaquePointer?

    init(path: String, readOnly: Bool) throws {
        self.path = path
        let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_FULLMUTEX, nil)
        if rc != SQLITE_OK {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            if let failure = SQLiteDatabase.systemFailure(path: path, rc: rc, handle: db) { sqlite3_close(db); throw failure }
            sqlite3_close(db)
            throw ShardingError.badIndex(path, "cannot open the index: \(message)")
        }
        handle = db
        sqlite3_busy_timeout(db, 10_000)
    }

    deinit { sqlite3_close(handle) }

    func error(_ what: String) -> ShardingError {
        SQLiteDatabase.systemFailure(path: path, rc: sqlite3_errcode(handle), handle: handle)
            ?? .badIndex(path, "\(what): \(String(cString: sqlite3_errmsg(handle)))")
    }

    /// A failure of the file system under the index (full, read-only, no permission, I/O), in
    /// words and with what to do; nil for anything else (a damaged index, a bad statement). Not
    /// "move it away": the index is fine, the disk is not.
    static func systemFailure(path: String, rc: Int32, handle: OpaquePointer?) -> ShardingError? {
        let primary = rc & 0xFF
        let code = primary == SQLITE_FULL ? ENOSPC : handle.map { sqlite3_system_errno($0) } ?? 0
        guard primary == SQLITE_FULL || primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN || primary == SQLITE_READONLY,
              [ENOSPC, EDQUOT, EROFS, EACCES, EPERM, EIO].contains(code) else { return nil }
        let problem = FileProblem(path: path, errno: code, writing: true)
        return .io(path, "the index cannot be written: \(problem.reason); \(problem.remedy), then run the same command again (the shards committed before are kept)")
    }

    /// Runs one or more statements without results.
    func execute(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        if rc != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? "error"
            sqlite3_free(message)
            if let failure = SQLiteDatabase.systemFailure(path: path, rc: rc, handle: handle) { throw failure }
            throw ShardingError.badIndex(path, "SQL failed (\(text)): \(sql.prefix(80))")
        }
    }

    func prepare(_ sql: String) throws -> SQLiteStatement {
        var stmt: OpaquePointer?
        if sqlite3_prepare_v2(handle, sql, -1, &stmt, nil) != SQLITE_OK { throw error("cannot prepare \(sql.prefix(60))") }
        return SQLiteStatement(stmt!, database: self)
    }

    /// Runs `body` inside BEGIN IMMEDIATE ... COMMIT, rolling back on error.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// All rows of a query as arrays of values.
    func rows(_ sql: String, _ bindings: [SQLiteValue] = []) throws -> [[SQLiteValue]] {
        let stmt = try prepare(sql)
        try stmt.bind(bindings)
        var out: [[SQLiteValue]] = []
        while try stmt.step() { out.append(stmt.row()) }
        return out
    }
}

/// A value in or out of SQLite.
enum SQLiteValue: Equatable {
    case int(Int64), text(String), null

    var int: Int { if case .int(let v) = self { return Int(v) }; if case .text(let s) = self { return Int(s) ?? 0 }; return 0 }
    var text: String {
        switch self { case .text(let s): return s; case .int(let v): return String(v); case .null: return "" }
    }
}

/// A prepared statement.
final class SQLiteStatement {
    let stmt: OpaquePointer
    unowned let database: SQLiteDatabase

    init(_ stmt: OpaquePointer, database: SQLiteDatabase) {
        self.stmt = stmt
        self.database = database
    }

    deinit { sqlite3_finalize(stmt) }

    func bind(_ values: [SQLiteValue]) throws {
        sqlite3_reset(stmt)
        sqlite3_clear_bindings(stmt)
        for (i, value) in values.enumerated() {
            let rc: Int32
            switch value {
            case .int(let v): rc = sqlite3_bind_int64(stmt, Int32(i + 1), v)
            case .text(let s): rc = sqlite3_bind_text(stmt, Int32(i + 1), s, -1, SQLITE_TRANSIENT)
            case .null: rc = sqlite3_bind_null(stmt, Int32(i + 1))
            }
            if rc != SQLITE_OK { throw database.error("cannot bind") }
        }
    }

    /// Steps once; true when a row is available.
    func step() throws -> Bool {
        let rc = sqlite3_step(stmt)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        throw database.error("query failed")
    }

    /// Binds, runs to completion, resets.
    func run(_ values: [SQLiteValue]) throws {
        try bind(values)
        while try step() {}
        sqlite3_reset(stmt)
    }

    func row() -> [SQLiteValue] {
        (0..<sqlite3_column_count(stmt)).map { i in
            switch sqlite3_column_type(stmt, i) {
            case SQLITE_INTEGER: return .int(sqlite3_column_int64(stmt, i))
            case SQLITE_NULL: return .null
            default: return .text(String(cString: sqlite3_column_text(stmt, i)))
            }
        }
    }
}
