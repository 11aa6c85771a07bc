// Streams a corpus source as blocks of whole lines or as single lines of raw UTF-8 bytes,
// decompressing zstd (libzstd streaming API) and gzip (zlib inflate) on the fly and hashing
// the bytes read, so that one pass gives both the text and the source's content hash.
import Crypto
import CZlib
import CZstd
import Foundation

/// Reads one corpus source line by line, with bounded memory.
///
/// ```swift
/// let reader = try LineReader(CorpusSource(path: "corpus.txt.zst"))
/// try reader.forEachLine { line in /* line: raw bytes, no trailing \n or \r\n */ }
/// print(reader.contentSHA256!)
/// ```
/// Memory holds one buffer of `bufferSize` bytes, grown only to fit the longest line, which may
/// hold at most `maxLineBytes` (a longer one throws `CorpusError.lineTooLong` naming its number).
public final class LineReader {
    public let source: CorpusSource
    /// Bytes consumed from the file (compressed bytes for .zst/.gz), for progress.
    public private(set) var bytesRead = 0
    /// Size of the file on disk when known (nil for standard input).
    public let totalBytes: Int?
    /// Hex SHA-256 of the bytes read from the file, available once the whole source was read.
    public private(set) var contentSHA256: String?
    /// When true (the default), a source whose beginning says it is binary (see `binaryReason`)
    /// throws `CorpusError.binary` before any of it is handed out; NUL bytes further on are text.
    public var rejectsBinary = true
    /// When false, `contentSHA256` stays nil (a caller that hashes the blocks elsewhere: for a plain
    /// file they are exactly its bytes, in order).
    public var computesHash = true
    /// The longest line handed out; a longer one throws `CorpusError.lineTooLong`. What bounds
    /// the memory of the tokenizers and word counters downstream, which hold a line whole (about
    /// 12 bytes a byte of line while tokenizing it).
    public var maxLineBytes = LineReader.defaultMaxLineBytes
    /// 32 MiB: a whole book in one JSONL record fits; a tokenizer thread then peaks near 400 MB.
    public static let defaultMaxLineBytes = 32 << 20
    /// Lines handed out so far (for the number of a line that is too long).
    public private(set) var linesRead = 0

    private let fd: Int32
    private let ownsFD: Bool
    private var hasher = SHA256()
    private var decoder: Decoder
    private var buffer: UnsafeMutableRawPointer
    private var capacity: Int
    private var finished = false

    /// Opens `source` for reading.
    /// - Throws: `CorpusError.notFound` or `.unreadable` naming the file.
    public init(_ source: CorpusSource, bufferSize: Int = 1 << 20) throws {
        self.source = source
        var size: Int? = nil
        if source.isStandardInput {
            fd = 0
            ownsFD = false
        } else {
            let opened = open(source.path, O_RDONLY)
            if opened < 0 {
                let reason = String(cString: strerror(errno))
                if errno == ENOENT { throw CorpusError.notFound(source.path) }
                throw CorpusError.unreadable(source.path, reason: reason)
            }
            var st = stat()
            if fstat(opened, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR {
                close(opened)
                throw CorpusError.unreadable(source.path, reason: "it is a directory")
            }
            if (st.st_mode & S_IFMT) == S_IFREG { size = Int(st.st_size) }   // fstat: no FileManager call per file
            fd = opened
            ownsFD = true
        }
        totalBytes = size
        capacity = max(bufferSize, 4096)
        buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
        decoder = try Decoder(source.compression, path: source.description)
    }

    deinit {
        if ownsFD { close(fd) }
        buffer.deallocate()
    }

    /// Calls `body` with consecutive blocks of whole lines; each block ends just after a `\n`,
    /// except possibly the last one. Blocks are at most the buffer size unless a line is longer.
    /// Useful to hand work to several threads without splitting a line.
    /// - Complexity: O(n) in the source's size; memory O(buffer + longest line).
    public func forEachBlock(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var end = 0
        if rejectsBinary {
            // The beginning decides (binaryReason); nothing is handed out before it was checked.
            let want = min(binaryCheckLength, capacity)
            while end < want {
                let n = try fill(buffer + end, want - end)
                if n == 0 { finished = true; break }
                end += n
            }
            if let reason = binaryReason(prefix: UnsafeRawBufferPointer(start: buffer, count: end)) {
                throw CorpusError.binary(source.description, reason: reason)
            }
        }
        while !finished {
            if end == capacity {   // the buffer holds one partial line: the lines before were handed out
                if end >= maxLineBytes { throw CorpusError.lineTooLong(source.description, line: linesRead + 1, limit: maxLineBytes) }
                grow()
            }
            let n = try fill(buffer + end, capacity - end)
            if n == 0 { finished = true; break }
            end += n
            // Yield everything up to the last newline; keep the partial line.
            guard let last = lastNewline(end) else { continue }
            linesRead += newlines(last + 1)
            try body(UnsafeRawBufferPointer(start: buffer, count: last + 1))
            let rest = end - last - 1
            if rest > 0 { memmove(buffer, buffer + last + 1, rest) }
            end = rest
        }
        if end > 0 {
            if end > maxLineBytes { throw CorpusError.lineTooLong(source.description, line: linesRead + 1, limit: maxLineBytes) }
            linesRead += 1
            try body(UnsafeRawBufferPointer(start: buffer, count: end))
        }
        if computesHash { contentSHA256 = hexString(hasher.finalize()) }
    }

    /// Calls `body` with each line's bytes, without its `\n` or `\r\n`. A final line without a
    /// newline is included; a file ending in `\n` has no extra empty line.
    /// - Complexity: O(n) in the source's size.
    public func forEachLine(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        try forEachBlock { block in
            try splitLines(block, body)
        }
    }

    /// The newlines among the buffer's first `count` bytes.
    private func newlines(_ count: Int) -> Int {
        let bytes = UnsafeRawBufferPointer(start: buffer, count: count)
        var n = 0
        var from = bytes.baseAddress!
        let stop = from + count
        while from < stop, let hit = memchr(from, 0x0A, stop - from) {
            n += 1
            from = UnsafeRawPointer(hit) + 1
        }
        _ = bytes
        return n
    }

    private func lastNewline(_ end: Int) -> Int? {
        let bytes = buffer.assumingMemoryBound(to: UInt8.self)
        var i = end - 1
        while i >= 0 {
            if bytes[i] == 0x0A { return i }
            i -= 1
        }
        return nil
    }

    private func grow() {
        let bigger = UnsafeMutableRawPointer.allocate(byteCount: capacity * 2, alignment: 64)
        bigger.copyMemory(from: buffer, byteCount: capacity)
        buffer.deallocate()
        buffer = bigger
        capacity *= 2
    }

    /// Reads raw bytes from the file descriptor, hashing them.
    private func readRaw(_ into: UnsafeMutableRawPointer, _ count: Int) throws -> Int {
        while true {
            let n = read(fd, into, count)
            if n < 0 {
                if errno == EINTR { continue }
                throw CorpusError.unreadable(source.description, reason: String(cString: strerror(errno)))
            }
            if n > 0 {
                if computesHash { hasher.update(bufferPointer: UnsafeRawBufferPointer(start: into, count: n)) }
                bytesRead += n
            }
            return n
        }
    }

    /// Fills `out` with up to `count` decoded bytes; 0 means the end of the source.
    private func fill(_ out: UnsafeMutableRawPointer, _ count: Int) throws -> Int {
        let n: Int
        switch decoder {
        case .plain:
            n = try readRaw(out, count)
        case .zstd(let z):
            n = try z.decode(out, count, path: source.description) { try self.readRaw($0, $1) }
        case .gzip(let g):
            n = try g.decode(out, count, path: source.description) { try self.readRaw($0, $1) }
        }
        return n
    }
}

/// Calls `body` for each line of `block` (split on `\n`, a trailing `\r` removed).
/// - Complexity: O(n) in the block size.
@inline(__always)
public func splitLines(_ block: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
    guard let base = block.baseAddress, block.count > 0 else { return }
    var start = 0
    let count = block.count
    while start < count {
        let found = memchr(base + start, 0x0A, count - start)
        let stop = found.map { $0 - UnsafeMutableRawPointer(mutating: base) } ?? count
        var lineEnd = stop
        if lineEnd > start && base.load(fromByteOffset: lineEnd - 1, as: UInt8.self) == 0x0D { lineEnd -= 1 }
        try body(UnsafeRawBufferPointer(start: base + start, count: lineEnd - start))
        start = stop + 1
    }
}

/// The hex SHA-256 of a file's bytes, streamed.
/// - Complexity: O(n) in the file size, constant memory.
public func sha256Hex(ofFileAt path: String) throws -> String {
    guard let handle = FileHandle(forReadingAtPath: path) else {
        if !FileManager.default.fileExists(atPath: path) { throw CorpusError.notFound(path) }
        throw CorpusError.unreadable(path, reason: "permission denied or not a regular file")
    }
    defer { try? handle.close() }
    var hasher = SHA256()
    while true {
        let chunk: Data
        do { chunk = try handle.read(upToCount: 1 << 20) ?? Data() } catch {
            throw CorpusError.unreadable(path, reason: "\(error)")
        }
        if chunk.isEmpty { break }
        hasher.update(data: chunk)
    }
    return hexString(hasher.finalize())
}

/// The hex SHA-256 of bytes in memory.
public func sha256Hex(of bytes: UnsafeRawBufferPointer) -> String {
    hexString(SHA256.hash(data: bytes))
}

/// Lower-case hex of `bytes` (a digest), without String(format:) (which costs microseconds a byte
/// and showed up when sharding thousands of small files).
public func hexString<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
    return String(decoding: out, as: UTF8.self)
}

// MARK: - Decoders

private enum Decoder {
    case plain
    case zstd(ZstdStream)
    case gzip(GzipStream)

    init(_ compression: Compression, path: String) throws {
        switch compression {
        case .none: self = .plain
        case .zstd: self = .zstd(try ZstdStream(path: path))
        case .gzip: self = .gzip(try GzipStream(path: path))
        }
    }
}

private let compressedChunk = 1 << 17

/// Streaming zstd decompression over ZSTD_decompressStream; concatenated frames are supported.
private final class ZstdStream {
    let context: OpaquePointer
    let input = UnsafeMutableRawPointer.allocate(byteCount: compressedChunk, alignment: 64)
    var inBuffer = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
    var frameOpen = false
    var atEOF = false

    init(path: String) throws {
        guard let dctx = ZSTD_createDCtx() else {
            throw CorpusError.unreadable(path, reason: "cannot create a zstd decoder")
        }
        context = dctx
        inBuffer.src = UnsafeRawPointer(input)
    }

    deinit {
        ZSTD_freeDCtx(context)
        input.deallocate()
    }

    func decode(_ out: UnsafeMutableRawPointer, _ count: Int, path: String,
                read: (UnsafeMutableRawPointer, Int) throws -> Int) throws -> Int {
        var outBuffer = ZSTD_outBuffer(dst: out, size: count, pos: 0)
        while outBuffer.pos == 0 {
            if inBuffer.pos == inBuffer.size {
                if atEOF { break }
                let n = try read(input, compressedChunk)
                if n == 0 { atEOF = true; break }
                inBuffer.size = n
                inBuffer.pos = 0
            }
            let ret = ZSTD_decompressStream(context, &outBuffer, &inBuffer)
            if ZSTD_isError(ret) != 0 {
                throw CorpusError.corruptCompressed(path, reason: String(cString: ZSTD_getErrorName(ret)))
            }
            frameOpen = ret != 0
        }
        if outBuffer.pos == 0 && atEOF && frameOpen {
            throw CorpusError.corruptCompressed(path, reason: "truncated zstd frame")
        }
        return outBuffer.pos
    }
}

/// Streaming gzip decompression over zlib's inflate; concatenated members are supported.
private final class GzipStream {
    var stream = z_stream()
    let input = UnsafeMutablePointer<UInt8>.allocate(capacity: compressedChunk)
    var atEOF = false
    var memberOpen = false

    init(path: String) throws {
        let ret = inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard ret == Z_OK else { throw CorpusError.unreadable(path, reason: "cannot create a gzip decoder") }
    }

    deinit {
        inflateEnd(&stream)
        input.deallocate()
    }

    func decode(_ out: UnsafeMutableRawPointer, _ count: Int, path: String,
                read: (UnsafeMutableRawPointer, Int) throws -> Int) throws -> Int {
        stream.next_out = out.assumingMemoryBound(to: UInt8.self)
        stream.avail_out = UInt32(min(count, Int(UInt32.max)))
        let start = Int(stream.avail_out)
        while Int(stream.avail_out) == start {
            if stream.avail_in == 0 {
                if atEOF { break }
                let n = try read(UnsafeMutableRawPointer(input), compressedChunk)
                if n == 0 { atEOF = true; break }
                stream.next_in = input
                stream.avail_in = UInt32(n)
            }
            memberOpen = true
            let ret = inflate(&stream, Z_NO_FLUSH)
            if ret == Z_STREAM_END {
                memberOpen = false
                inflateReset(&stream)   // another gzip member may follow
            } else if ret != Z_OK && ret != Z_BUF_ERROR {
                let message = stream.msg.map { String(cString: $0) } ?? "inflate error \(ret)"
                throw CorpusError.corruptCompressed(path, reason: message)
            }
        }
        let produced = start - Int(stream.avail_out)
        if produced == 0 && atEOF && memberOpen {
            throw CorpusError.corruptCompressed(path, reason: "truncated gzip stream")
        }
        return produced
    }
}
