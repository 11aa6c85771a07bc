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
        fsyncDirectory(directory)
    } catch let error as FileWriteError {
        try? FileManager.default.removeItem(at: temporary)
        throw error
    } catch {
        try? FileManager.default.removeItem(at: temporary)
        throw FileWriteError(path: url.path, reason: "\(error.localizedDescription)")
    }
}

/// Makes a rename inside `url` durable (best effort: some file systems refuse directory fsync).
public func fsyncDirectory(_ url: URL) {
    let fd = open(url.path, O_RDONLY)
    if fd >= 0 { fsync(fd); close(fd) }
}
