// Our checkpoint weight format: self-describing and fully validated on read.
//
//   [8]  magic "ELECTRAW"
//   [4]  format version (u32 LE, 1)
//   [4]  CRC-32 of the data region (u32 LE)
//   [8]  header length n (u64 LE)
//   [n]  JSON header: {"metadata": {...}, "tensors": [{"name", "shape", "offset"}]} (offsets in floats)
//   pad  zero bytes up to a multiple of 64
//   data float32 little-endian, tensors back to back
import CZlib
import Durability
import Foundation

/// Reads and writes tensor files (model weights, Adam moments) with a JSON metadata header.
public enum TensorFile {
    public static let magic = Array("ELECTRAW".utf8)
    public static let version: UInt32 = 1

    public struct Entry: Codable, Equatable {
        public var name: String
        public var shape: [Int]
        public var offset: Int
        public var count: Int { shape.reduce(1, *) }
    }

    private struct Header: Codable {
        var metadata: [String: String]
        var tensors: [Entry]
    }

    /// Writes `tensors` (name, shape, values) and `metadata` to `url` atomically (temporary file,
    /// fsync, rename).
    public static func write(_ tensors: [(name: String, shape: [Int], values: UnsafeBufferPointer<Float>)],
                             metadata: [String: String], to url: URL) throws {
        var entries: [Entry] = []
        var offset = 0
        for t in tensors {
            precondition(t.shape.reduce(1, *) == t.values.count, "\(t.name): shape does not match its values")
            entries.append(Entry(name: t.name, shape: t.shape, offset: offset))
            offset += t.values.count
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let header = try encoder.encode(Header(metadata: metadata, tensors: entries))
        var data = Data(capacity: offset * 4)
        for t in tensors { data.append(UnsafeBufferPointer(start: UnsafeRawPointer(t.values.baseAddress!).assumingMemoryBound(to: UInt8.self), count: t.values.count * 4)) }
        let crc = data.withUnsafeBytes { UInt32(crc32(0, $0.bindMemory(to: UInt8.self).baseAddress, uInt($0.count))) }
        var out = Data(magic)
        withUnsafeBytes(of: version.littleEndian) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: crc.littleEndian) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(header)
        while out.count % 64 != 0 { out.append(0) }
        out.append(data)
        try writeFileAtomically(out, to: url)
    }

    /// Reads and validates a tensor file.
    /// - Throws: `ModelError.badCheckpoint` naming the file: not ours, a newer version,
    ///   truncated, damaged (checksum), or an inconsistent tensor table.
    public static func read(_ url: URL) throws -> (metadata: [String: String], tensors: [String: (shape: [Int], values: [Float])]) {
        let path = url.path
        func fail(_ problem: String) -> ModelError { .badCheckpoint(file: path, problem: problem) }
        guard let bytes = FileManager.default.contents(atPath: path) else {
            throw fail("cannot be read (missing or no permission)")
        }
        guard bytes.count >= 24, Array(bytes.prefix(8)) == magic else {
            throw fail("not an electra-swift weight file (bad magic number)\n---> HINT: pass a checkpoint written by electra-train (runs/NAME/checkpoints/step-N)")
        }
        let (fileVersion, crc, headerLength) = bytes.withUnsafeBytes { raw in
            (UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self)),
             UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 12, as: UInt32.self)),
             UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self)))
        }
        guard fileVersion == version else { throw fail("format version \(fileVersion), this build reads version \(version)") }
        guard headerLength <= UInt64(bytes.count - 24) else { throw fail("truncated: the header runs past the end of the file") }
        let headerEnd = 24 + Int(headerLength)
        guard let header = try? JSONDecoder().decode(Header.self, from: bytes[24..<headerEnd]) else {
            throw fail("damaged header (not the expected JSON)")
        }
        let dataStart = (headerEnd + 63) / 64 * 64
        let floats = header.tensors.reduce(0) { $0 + max(0, $1.count) }
        guard dataStart + floats * 4 == bytes.count else {
            throw fail("truncated or padded: \(bytes.count) bytes, expected \(dataStart + floats * 4)")
        }
        let actual = bytes.withUnsafeBytes { raw in
            UInt32(crc32(0, raw.bindMemory(to: UInt8.self).baseAddress! + dataStart, uInt(floats * 4)))
        }
        guard actual == crc else { throw fail("damaged: the data checksum does not match (the file was corrupted)") }
        var tensors: [String: (shape: [Int], values: [Float])] = [:]
        var cursor = 0
        for e in header.tensors {
            guard e.offset == cursor, e.shape.allSatisfy({ $0 >= 0 }), tensors[e.name] == nil else {
                throw fail("inconsistent tensor table at \(e.name)")
            }
            let values = bytes.withUnsafeBytes { raw in
                (0..<e.count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: dataStart + 4 * (e.offset + $0), as: UInt32.self))) }
            }
            tensors[e.name] = (e.shape, values)
            cursor += e.count
        }
        return (header.metadata, tensors)
    }
}


extension ElectraModel {
    /// The parameters as tensor-file entries, under their table names.
    public func parameterTensors(prefix: String = "") -> [(name: String, shape: [Int], values: UnsafeBufferPointer<Float>)] {
        parameterTable.map { (prefix + $0.name, $0.shape, UnsafeBufferPointer(start: parameters + $0.offset, count: $0.count)) }
    }

    /// Copies parameters from loaded tensors (names with `prefix`); every tensor must be present
    /// with the right shape.
    public func loadParameters(_ tensors: [String: (shape: [Int], values: [Float])], prefix: String = "",
                               file: String) throws {
        for p in parameterTable {
            guard let t = tensors[prefix + p.name] else {
                throw ModelError.mismatch("\(file): tensor \(prefix + p.name) is missing")
            }
            guard t.shape == p.shape else {
                throw ModelError.mismatch("\(file): tensor \(prefix + p.name) has shape \(t.shape), the model expects \(p.shape)")
            }
            _ = UnsafeMutableBufferPointer(start: parameters + p.offset, count: p.count).update(from: t.values)
        }
    }
}
