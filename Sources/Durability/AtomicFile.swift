// Writing files so that a crash never leaves half of one visible: write a temporary file beside
// the target, fsync it, rename it over the target, fsync the directory.
import Foundation

/// A file that could not be written; names the file and the reason.
public struct FileWriteError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "\(path): cannot be written: \(reason) (check the directory, its permissions and free space)" }
}

/// Writes `data` to `url` atomically: temporary file, fsync, rename, directory fsync.
/// - Throws: `FileWriteError`; the temporary file is removed and `url` is untouched.
public func writeFileAtomically(_ data: Data, to url: URL) throws {
    let directory = url.deletingLastPathComponent()
    let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
    guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
        throw FileWriteError(path: temporary.path, reason: String(cString: strerror(errno)))
    }
    do {
        let handle = try FileHandle(forWritingTo: temporary)
        try handle.write(contentsOf: data)
        try handle.synchronize()
        try handle.close()
        guard rename(temporary.path, url.path) == 0 else {
            throw FileWriteError(path: url.path, reason: String(cString: strerror(errno)))
        }
        try fsyncDirectory(directory)
    } catch let error as FileWriteError {
        try? FileManager.default.removeItem(at: temporary)
        throw error
    } catch {
        try? FileManager.default.removeItem(at: temporary)
        throw FileWriteError(path: url.path, reason: "\(error.localizedDescription)")
    }
}

/// Makes a rename inside the directory `url` durable (fsync of the directory).
/// - Throws: `FileWriteError` naming the directory when it cannot be opened or synced; a file
///   system that cannot sync directories (EINVAL) is not an error.
public func fsyncDirectory(_ url: URL) throws {
    let fd = open(url.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { throw FileWriteError(path: url.path, reason: "cannot open the directory to sync it: " + String(cString: strerror(errno))) }
    defer { close(fd) }
    if fsync(fd) != 0 && errno != EINVAL {
        throw FileWriteError(path: url.path, reason: "fsync: " + String(cString: strerror(errno)))
    }
}
