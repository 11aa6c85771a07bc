// Writes one shard file crash-safely: everything goes to a hidden temporary file which is
// fsynced, renamed into place and its directory fsynced, so that a shard path either does not
// exist or holds a complete shard.
import Corpus
import Crypto
import Durability
import Foundation

/// What a finished shard file holds, as recorded in the index.
public struct WrittenShard: Equatable, Sendable {
    /// Path relative to the output directory, e.g. `shards/shard-000000.zst`.
    public var path: String
    public var bytes: Int
    public var sha256: String
    public var frames: [ShardFrameEntry]
    public var sequences: Int { frames.reduce(0) { $0 + $1.sequences } }
    public var tokens: Int { frames.reduce(0) { $0 + $1.tokens } }
}

/// Appends compressed frames to a temporary shard file and publishes it atomically.
final class ShardFileWriter {
    let relativePath: String
    let finalURL: URL
    let temporaryURL: URL
    let header: ShardHeader
    private var fd: Int32
    private var offset = 0
    private var hasher = SHA256()
    private(set) var frames: [ShardFrameEntry] = []

    /// The conventional name of shard `number` relative to the output directory.
    static func relativePath(number: Int) -> String {
        "shards/shard-" + String(repeating: "0", count: max(0, 6 - String(number).count)) + "\(number).zst"
    }

    init(outputDirectory: URL, number: Int, header: ShardHeader) throws {
        relativePath = ShardFileWriter.relativePath(number: number)
        finalURL = outputDirectory.appendingPathComponent(relativePath)
        temporaryURL = finalURL.deletingLastPathComponent()
            .appendingPathComponent("." + finalURL.lastPathComponent + ".tmp")
        self.header = header
        fd = open(temporaryURL.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 { throw failure(errno) }
        try write(header.encoded())
    }

    deinit { if fd >= 0 { close(fd) } }

    var sequenceCount: Int { frames.reduce(0) { $0 + $1.sequences } }

    /// Appends one compressed frame.
    func appendFrame(_ frame: CompressedFrame) throws {
        frames.append(ShardFrameEntry(offset: offset, length: frame.bytes.count, sequences: frame.sequences,
                                      tokens: frame.tokens, crc32: frame.crc32))
        try write(frame.bytes)
    }

    /// Appends the frame table, fsyncs, renames the file into place and fsyncs the directory.
    func finish() throws -> WrittenShard {
        try write(ShardFooter(frames: frames).encoded())
        if fsync(fd) != 0 { throw failure(errno) }
        close(fd)
        fd = -1
        if rename(temporaryURL.path, finalURL.path) != 0 {
            throw failure(errno)
        }
        try fsyncDirectory(finalURL.deletingLastPathComponent())
        let digest = hexString(hasher.finalize())
        return WrittenShard(path: relativePath, bytes: offset, sha256: digest, frames: frames)
    }

    /// Closes and deletes the temporary file (after an error).
    func abandon() {
        if fd >= 0 { close(fd); fd = -1 }
        unlink(temporaryURL.path)
    }

    /// A failed system call on this shard, naming the shard (not its temporary name) with the
    /// reason in words and what to do.
    private func failure(_ code: Int32) -> ShardingError {
        let problem = FileProblem(path: finalURL.path, errno: code, writing: true)
        return .io(finalURL.path, "cannot be written: \(problem.reason); \(problem.remedy), then run the same command again (the shards committed before are kept)")
    }

    private func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { buffer in
            var done = 0
            while done < buffer.count {
                let n = Foundation.write(fd, buffer.baseAddress! + done, buffer.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw failure(errno)
                }
                done += n
            }
            hasher.update(bufferPointer: buffer)
        }
        offset += bytes.count
    }
}
