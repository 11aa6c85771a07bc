// The shard file format (version 1). A shard is a valid zstd stream: a skippable frame holding
// our header, independently decodable zstd frames of packed sequences, and a skippable frame
// holding the frame table (footer). data/FORMAT.md documents it for readers in other languages.
import CZlib
import CZstd
import Foundation

/// Constants and layouts of the shard file format.
///
/// File: `[header skippable frame][data frame]*[footer skippable frame]`, little-endian.
/// - Header skippable frame: u32 magic 0x184D2A5E, u32 size 32, then `ELSHARD\0`, u32 format
///   version, u32 bytes per token (2 or 4), u32 max sequence length, u32 vocabulary size, 8 zero bytes.
/// - Data frame: one zstd frame (content size and content checksum set) whose content is
///   u32 n, u16 length[n], u16 segmentBStart[n], u8 draws[n], zero padding to a multiple of 4,
///   then the tokens of the n sequences back to back (uint16 or uint32).
/// - Footer skippable frame: u32 magic 0x184D2A5F, u32 size, then `ELFOOTER`, u32 frame count,
///   u32 0, u64 sequences, u64 tokens, per frame {u64 offset, u32 length, u32 sequences,
///   u32 tokens, u32 crc32 of the compressed bytes}, then u32 size again and `ELFT`.
public enum ShardFormat {
    public static let version: UInt32 = 1
    public static let headerMagic: [UInt8] = Array("ELSHARD\0".utf8)
    public static let footerMagic: [UInt8] = Array("ELFOOTER".utf8)
    public static let tailMagic: [UInt8] = Array("ELFT".utf8)
    static let headerSkippableMagic: UInt32 = 0x184D_2A5E
    static let footerSkippableMagic: UInt32 = 0x184D_2A5F
    /// Size of the header skippable frame, in bytes (8 + 32).
    public static let headerSize = 40
    static let footerFrameEntrySize = 24

    /// The token width in bytes for a vocabulary: 2 when every id fits in a uint16, else 4.
    public static func tokenBytes(vocabularySize: Int) -> Int { vocabularySize <= 65_536 ? 2 : 4 }
}

/// The fixed fields of a shard's header.
public struct ShardHeader: Equatable, Sendable {
    public var version: UInt32 = ShardFormat.version
    public var tokenBytes: Int
    public var maxSeqLength: Int
    public var vocabularySize: Int

    public init(tokenBytes: Int, maxSeqLength: Int, vocabularySize: Int) {
        self.tokenBytes = tokenBytes
        self.maxSeqLength = maxSeqLength
        self.vocabularySize = vocabularySize
    }

    func encoded() -> [UInt8] {
        var out = ByteWriter()
        out.u32(ShardFormat.headerSkippableMagic)
        out.u32(32)
        out.bytes(ShardFormat.headerMagic)
        out.u32(version)
        out.u32(UInt32(tokenBytes))
        out.u32(UInt32(maxSeqLength))
        out.u32(UInt32(vocabularySize))
        out.u64(0)
        return out.data
    }

    /// Parses the first `ShardFormat.headerSize` bytes of a shard; the error says what is wrong.
    static func decode(_ bytes: UnsafeRawBufferPointer) throws -> ShardHeader {
        guard bytes.count >= ShardFormat.headerSize else {
            throw ShardFormatError("the file is shorter than a shard header (\(bytes.count) bytes)")
        }
        var r = ByteReader(bytes)
        let skippable = r.u32(), size = r.u32()
        let magic = Array(r.bytes(8))
        guard skippable == ShardFormat.headerSkippableMagic, size == 32, magic == ShardFormat.headerMagic else {
            throw ShardFormatError("bad magic number: not an electra-swift shard")
        }
        let version = r.u32()
        guard version == ShardFormat.version else {
            throw ShardFormatError("format version \(version), this tool reads version \(ShardFormat.version)")
        }
        let tokenBytes = Int(r.u32())
        guard tokenBytes == 2 || tokenBytes == 4 else {
            throw ShardFormatError("token width \(tokenBytes) bytes (must be 2 or 4)")
        }
        var header = ShardHeader(tokenBytes: tokenBytes, maxSeqLength: Int(r.u32()), vocabularySize: Int(r.u32()))
        header.version = version
        return header
    }
}

/// One entry of a shard's frame table.
public struct ShardFrameEntry: Equatable, Sendable {
    public var offset: Int
    public var length: Int
    public var sequences: Int
    public var tokens: Int
    public var crc32: UInt32
}

/// The frame table at the end of a shard.
public struct ShardFooter: Equatable, Sendable {
    public var frames: [ShardFrameEntry]
    public var sequences: Int { frames.reduce(0) { $0 + $1.sequences } }
    public var tokens: Int { frames.reduce(0) { $0 + $1.tokens } }

    func encoded() -> [UInt8] {
        let payloadSize = 8 + 8 + 16 + frames.count * ShardFormat.footerFrameEntrySize + 8
        var out = ByteWriter()
        out.u32(ShardFormat.footerSkippableMagic)
        out.u32(UInt32(payloadSize))
        out.bytes(ShardFormat.footerMagic)
        out.u32(UInt32(frames.count))
        out.u32(0)
        out.u64(UInt64(sequences))
        out.u64(UInt64(tokens))
        for f in frames {
            out.u64(UInt64(f.offset)); out.u32(UInt32(f.length)); out.u32(UInt32(f.sequences))
            out.u32(UInt32(f.tokens)); out.u32(f.crc32)
        }
        out.u32(UInt32(payloadSize))
        out.bytes(ShardFormat.tailMagic)
        return out.data
    }

    /// Reads the footer of a whole shard file held in `file`.
    static func decode(file: UnsafeRawBufferPointer) throws -> (ShardFooter, footerOffset: Int) {
        guard file.count >= ShardFormat.headerSize + 8 + 40 else {
            throw ShardFormatError("the file is too short to hold a frame table (\(file.count) bytes): truncated?")
        }
        var tail = ByteReader(UnsafeRawBufferPointer(rebasing: file[(file.count - 8)...]))
        let payloadSize = Int(tail.u32())
        guard Array(tail.bytes(4)) == ShardFormat.tailMagic else {
            throw ShardFormatError("no frame table at the end of the file: truncated or not a finished shard")
        }
        let start = file.count - payloadSize - 8
        guard start >= ShardFormat.headerSize else { throw ShardFormatError("frame table size \(payloadSize) is impossible") }
        var r = ByteReader(UnsafeRawBufferPointer(rebasing: file[start...]))
        guard r.u32() == ShardFormat.footerSkippableMagic, Int(r.u32()) == payloadSize,
              Array(r.bytes(8)) == ShardFormat.footerMagic else {
            throw ShardFormatError("damaged frame table (bad magic)")
        }
        let count = Int(r.u32())
        _ = r.u32()
        let sequences = Int(r.u64()), tokens = Int(r.u64())
        guard payloadSize == 8 + 8 + 16 + count * ShardFormat.footerFrameEntrySize + 8 else {
            throw ShardFormatError("damaged frame table (\(count) frames do not fit its size)")
        }
        var frames: [ShardFrameEntry] = []
        frames.reserveCapacity(count)
        for _ in 0..<count {
            frames.append(ShardFrameEntry(offset: Int(r.u64()), length: Int(r.u32()), sequences: Int(r.u32()),
                                          tokens: Int(r.u32()), crc32: r.u32()))
        }
        let footer = ShardFooter(frames: frames)
        guard footer.sequences == sequences, footer.tokens == tokens else {
            throw ShardFormatError("damaged frame table (totals disagree with its frames)")
        }
        return (footer, start)
    }
}

/// A violation of the shard format, with what was found.
public struct ShardFormatError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

// MARK: - Frame payloads

/// Encodes and decodes the content of one data frame (before/after zstd).
enum FramePayload {
    /// Serializes `sequences` into `out` (resized to fit).
    /// - Complexity: O(tokens).
    static func encode(_ sequences: ArraySlice<PackedSequence>, tokenBytes: Int, into out: inout [UInt8]) {
        let n = sequences.count
        let headerBytes = (4 + n * 5 + 3) & ~3
        let tokenCount = sequences.reduce(0) { $0 + $1.tokens.count }
        let size = headerBytes + tokenCount * tokenBytes
        if out.count != size { out = [UInt8](repeating: 0, count: size) }
        out.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt32(n).littleEndian, toByteOffset: 0, as: UInt32.self)
            var lengths = 4, bStarts = 4 + 2 * n, draws = 4 + 4 * n
            for s in sequences {
                raw.storeBytes(of: UInt16(s.tokens.count).littleEndian, toByteOffset: lengths, as: UInt16.self)
                raw.storeBytes(of: UInt16(s.segmentBStart).littleEndian, toByteOffset: bStarts, as: UInt16.self)
                raw[draws] = s.draws.rawValue
                lengths += 2; bStarts += 2; draws += 1
            }
            for i in draws..<headerBytes { raw[i] = 0 }
            var p = headerBytes
            if tokenBytes == 2 {
                for s in sequences {
                    s.tokens.withUnsafeBufferPointer { t in
                        for id in t { raw.storeBytes(of: UInt16(truncatingIfNeeded: id).littleEndian, toByteOffset: p, as: UInt16.self); p += 2 }
                    }
                }
            } else {
                for s in sequences {
                    s.tokens.withUnsafeBufferPointer { t in
                        for id in t { raw.storeBytes(of: id.littleEndian, toByteOffset: p, as: UInt32.self); p += 4 }
                    }
                }
            }
        }
    }

    /// Parses a decompressed frame; `what` names the frame in errors.
    static func decode(_ bytes: UnsafeRawBufferPointer, tokenBytes: Int) throws -> [PackedSequence] {
        guard bytes.count >= 4 else { throw ShardFormatError("frame content is empty") }
        var r = ByteReader(bytes)
        let n = Int(r.u32())
        let headerBytes = (4 + n * 5 + 3) & ~3
        guard headerBytes <= bytes.count else { throw ShardFormatError("frame claims \(n) sequences, more than it holds") }
        var lengths = [Int](repeating: 0, count: n), bStarts = lengths
        for i in 0..<n { lengths[i] = Int(r.u16()) }
        for i in 0..<n { bStarts[i] = Int(r.u16()) }
        var draws = [UInt8](repeating: 0, count: n)
        for i in 0..<n { draws[i] = r.u8() }
        let total = lengths.reduce(0, +)
        guard headerBytes + total * tokenBytes == bytes.count else {
            throw ShardFormatError("frame holds \(bytes.count) bytes, its \(n) sequences need \(headerBytes + total * tokenBytes)")
        }
        r.position = headerBytes
        var out: [PackedSequence] = []
        out.reserveCapacity(n)
        for i in 0..<n {
            var tokens = [UInt32](repeating: 0, count: lengths[i])
            if tokenBytes == 2 {
                for j in 0..<lengths[i] { tokens[j] = UInt32(r.u16()) }
            } else {
                for j in 0..<lengths[i] { tokens[j] = r.u32() }
            }
            out.append(PackedSequence(tokens: tokens, segmentBStart: bStarts[i],
                                      draws: PackedSequence.Draws(rawValue: draws[i])))
        }
        return out
    }
}

// MARK: - zstd and crc32

/// A reusable zstd compressor (one per thread).
final class FrameCompressor {
    private let context: OpaquePointer
    private var output: [UInt8] = []

    init(level: Int32) {
        context = ZSTD_createCCtx()!
        ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level)
        ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1)
        ZSTD_CCtx_setParameter(context, ZSTD_c_contentSizeFlag, 1)
    }

    deinit { ZSTD_freeCCtx(context) }

    /// Compresses `input` into one zstd frame.
    func compress(_ input: [UInt8]) -> [UInt8] {
        let bound = ZSTD_compressBound(input.count)
        if output.count < bound { output = [UInt8](repeating: 0, count: bound) }
        let written = input.withUnsafeBytes { src in
            output.withUnsafeMutableBytes { dst in
                ZSTD_compress2(context, dst.baseAddress, dst.count, src.baseAddress, src.count)
            }
        }
        precondition(ZSTD_isError(written) == 0, "zstd compression failed: \(String(cString: ZSTD_getErrorName(written)))")
        return Array(output[0..<written])
    }
}

/// Decompresses one whole zstd frame (its content size must be recorded, as ours always is).
func decompressFrame(_ bytes: UnsafeRawBufferPointer) throws -> [UInt8] {
    let size = ZSTD_getFrameContentSize(bytes.baseAddress, bytes.count)
    guard size != ZSTD_CONTENTSIZE_ERROR, size != ZSTD_CONTENTSIZE_UNKNOWN, size < (1 << 32) else {
        throw ShardFormatError("not a zstd frame with a recorded size")
    }
    var out = [UInt8](repeating: 0, count: Int(size))
    let written = out.withUnsafeMutableBytes { dst in
        ZSTD_decompress(dst.baseAddress, dst.count, bytes.baseAddress, bytes.count)
    }
    if ZSTD_isError(written) != 0 {
        throw ShardFormatError("zstd: \(String(cString: ZSTD_getErrorName(written)))")
    }
    guard written == Int(size) else { throw ShardFormatError("zstd frame decoded to \(written) bytes, expected \(size)") }
    return out
}

/// zlib's CRC-32 (the one Python's `zlib.crc32` computes).
func crc32Of(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
    guard let base = bytes.baseAddress, bytes.count > 0 else { return 0 }
    var crc: UInt = 0
    var offset = 0
    while offset < bytes.count {
        let n = min(bytes.count - offset, Int(UInt32.max))
        crc = CZlib.crc32(crc, base.advanced(by: offset).assumingMemoryBound(to: UInt8.self), UInt32(n))
        offset += n
    }
    return UInt32(truncatingIfNeeded: crc)
}

// MARK: - Little-endian byte helpers

struct ByteWriter {
    var data: [UInt8]
    init() { data = [] }
    @inline(__always) mutating func u8(_ v: UInt8) { data.append(v) }
    @inline(__always) mutating func u16(_ v: UInt16) { data.append(UInt8(v & 0xFF)); data.append(UInt8(v >> 8)) }
    @inline(__always) mutating func u32(_ v: UInt32) {
        data.append(UInt8(v & 0xFF)); data.append(UInt8((v >> 8) & 0xFF))
        data.append(UInt8((v >> 16) & 0xFF)); data.append(UInt8(v >> 24))
    }
    @inline(__always) mutating func u64(_ v: UInt64) { u32(UInt32(v & 0xFFFF_FFFF)); u32(UInt32(v >> 32)) }
    mutating func bytes(_ b: [UInt8]) { data.append(contentsOf: b) }
}

struct ByteReader {
    let base: UnsafeRawBufferPointer
    var position = 0
    init(_ base: UnsafeRawBufferPointer) { self.base = base }
    @inline(__always) mutating func u8() -> UInt8 { defer { position += 1 }; return base[position] }
    @inline(__always) mutating func u16() -> UInt16 {
        defer { position += 2 }
        return UInt16(littleEndian: base.loadUnaligned(fromByteOffset: position, as: UInt16.self))
    }
    @inline(__always) mutating func u32() -> UInt32 {
        defer { position += 4 }
        return UInt32(littleEndian: base.loadUnaligned(fromByteOffset: position, as: UInt32.self))
    }
    @inline(__always) mutating func u64() -> UInt64 {
        defer { position += 8 }
        return UInt64(littleEndian: base.loadUnaligned(fromByteOffset: position, as: UInt64.self))
    }
    mutating func bytes(_ n: Int) -> UnsafeRawBufferPointer.SubSequence {
        defer { position += n }
        return base[position..<(position + n)]
    }
}
