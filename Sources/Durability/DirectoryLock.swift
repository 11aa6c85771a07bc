// One writer per directory: an exclusive flock on DIR/.lock, held for the life of the object
// (the kernel releases it when the process dies, so a killed run never leaves a stale lock).
import Foundation

/// Why a directory could not be locked.
public enum DirectoryLockError: Error, Equatable {
    /// Another process holds the lock.
    case busy(directory: String)
    /// DIR/.lock could not be created or opened.
    case unavailable(path: String, reason: String)
}

/// An exclusive lock on a directory, taken on creation and released on deinit.
public final class DirectoryLock {
    public let directory: URL
    private let descriptor: Int32

    /// Takes DIR/.lock without waiting.
    /// - Throws: `DirectoryLockError.busy` when another process holds it, `.unavailable` when the
    ///   lock file cannot be opened.
    public init(_ directory: URL) throws {
        self.directory = directory
        let path = directory.appendingPathComponent(".lock").path
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw DirectoryLockError.unavailable(path: path, reason: FileProblem(path: path, errno: errno, writing: true).reason)
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw DirectoryLockError.busy(directory: directory.path)
        }
    }

    deinit { close(descriptor) }
}
