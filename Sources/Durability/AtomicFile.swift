// Writing files so that a crash never leaves half of one visible: write a temporary file beside
// the target, fsync it, rename it over the target, fsync the directory.
import Foundation

/// A file that could not be written; names the file and the reason.
public struct FileWriteError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    /// The failure in words with what to do, when it is a file-system error (errno or Foundation's).
    public let problem: FileProblem?

    public init(path: String, reason: String, problem: FileProblem? = nil) {
        self.path = path; self.reason = reason; self.problem = problem
    }

    /// A failed system call on `path`, from `errno`.
    init(path: String, errno code: Int32, doing: String? = nil) {
        let problem = FileProblem(path: path, errno: code, writing: true)
        self.init(path: path, reason: (doing.map { $0 + ": " } ?? "") + problem.reason, problem: problem)
    }

    public var description: String {
        "\(path): cannot be written: \(reason); " + (problem?.remedy ?? "check the directory, its permissions and free space")
    }
}

/// Writes `data` to `url` atomically: temporary file, fsync, rename, directory fsync.
/// - Throws: `FileWriteError`; the temporary file is removed and `url` is untouched.
public func writeFileAtomically(_ data: Data, to url: URL) throws {
    let directory = url.deletingLastPathComponent()
    let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
    // Errors name the target: the temporary name means nothing to the reader.
    let fd = open(temporary.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw FileWriteError(path: url.path, errno: errno) }
    do {
        defer { close(fd) }
        try data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw FileWriteError(path: url.path, errno: errno)
                }
                offset += n
            }
        }
        guard fsync(fd) == 0 else { throw FileWriteError(path: url.path, errno: errno) }
    } catch {
        try? FileManager.default.removeItem(at: temporary)
        throw error
    }
    guard rename(temporary.path, url.path) == 0 else {
        let code = errno
        try? FileManager.default.removeItem(at: temporary)
        throw FileWriteError(path: url.path, errno: code, doing: "rename")
    }
    try fsyncDirectory(directory)
}

/// Makes a rename inside the directory `url` durable (fsync of the directory).
/// - Throws: `FileWriteError` naming the directory when it cannot be opened or synced; a file
///   system that cannot sync directories (EINVAL) is not an error.
public func fsyncDirectory(_ url: URL) throws {
    let fd = open(url.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { throw FileWriteError(path: url.path, errno: errno, doing: "cannot open the directory to sync it") }
    defer { close(fd) }
    if fsync(fd) != 0 && errno != EINVAL {
        throw FileWriteError(path: url.path, errno: errno, doing: "fsync")
    }
}

/// Creates the directory `url` (and its parents) when needed and checks that files can be created
/// in it, so that a command refuses a read-only or unwritable place before any work.
/// - Throws: `FileProblem` naming the directory ("on a read-only file system; choose a directory
///   on a writable file system").
public func prepareWritableDirectory(_ url: URL) throws {
    do {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    } catch {
        throw FileProblem(error, path: url.path, writing: true)
            ?? FileProblem(path: url.path, reason: "cannot be created (\(error))", remedy: "choose another directory")
    }
    // access() reports a read-only file system (EROFS) even to root, whom permissions do not stop.
    if access(url.path, W_OK | X_OK) != 0 { throw FileProblem(path: url.path, errno: errno, writing: true) }
}
