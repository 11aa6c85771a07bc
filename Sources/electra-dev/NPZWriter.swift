// A NumPy .npz file (a zip of .npy arrays, stored uncompressed) written without dependencies,
// for dumps that Python compares with numpy.load: the .npy format version 1.0
// (numpy/lib/format.py) and the zip's local headers and central directory (APPNOTE.TXT 4.3).
import Foundation

/// Collects named arrays and writes them as one .npz file.
///
/// ```swift
/// var npz = NPZWriter()
/// npz.add("input_ids", shape: [2, 128], values: ids)   // [Int32] -> '<i4'
/// try npz.write(to: URL(fileURLWithPath: "batches.npz"))
/// ```
struct NPZWriter {
    private var entries: [(name: String, bytes: [UInt8])] = []

    mutating func add(_ name: String, shape: [Int], values: [Int32]) {
        add(name, descr: "<i4", shape: shape, count: values.count) { values.withUnsafeBytes { Array($0) } }
    }

    mutating func add(_ name: String, shape: [Int], values: [Int64]) {
        add(name, descr: "<i8", shape: shape, count: values.count) { values.withUnsafeBytes { Array($0) } }
    }

    mutating func add(_ name: String, shape: [Int], values: [Float]) {
        add(name, descr: "<f4", shape: shape, count: values.count) { values.withUnsafeBytes { Array($0) } }
    }

    private mutating func add(_ name: String, descr: String, shape: [Int], count: Int, data: () -> [UInt8]) {
        precondition(shape.reduce(1, *) == count, "\(name): \(count) values for shape \(shape)")
        #if _endian(big)
        fatalError("NPZWriter writes little-endian arrays only")
        #endif
        let dims = shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? "," : "")
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': (\(dims)), }"
        // magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of 64, ending in \n
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        bytes += le16(header.utf8.count) + Array(header.utf8)
        bytes += data()
        entries.append((name + ".npy", bytes))
    }

    /// Writes the zip: each entry stored (method 0) with its CRC-32, then the central directory.
    func write(to url: URL) throws {
        var out: [UInt8] = []
        var central: [UInt8] = []
        for entry in entries {
            guard out.count < Int(UInt32.max), entry.bytes.count < Int(UInt32.max) else {
                throw NPZError("\(url.path): more than 4 GB (this writer has no zip64); dump fewer steps")
            }
            let crc = crc32(entry.bytes), name = Array(entry.name.utf8), offset = out.count
            // version 20, no flags, stored, time 0, date 1980-01-01
            let common = le16(20) + le16(0) + le16(0) + le16(0) + le16(0x21) + le32(Int(crc))
                + le32(entry.bytes.count) + le32(entry.bytes.count) + le16(name.count) + le16(0)
            out += le32(0x0403_4B50) + common + name + entry.bytes
            central += le32(0x0201_4B50) + le16(20) + common + le16(0) + le16(0) + le16(0) + le32(0) + le32(offset) + name
        }
        let directoryOffset = out.count
        out += central
        out += le32(0x0605_4B50) + le16(0) + le16(0) + le16(entries.count) + le16(entries.count)
            + le32(central.count) + le32(directoryOffset) + le16(0)
        try Data(out).write(to: url, options: .atomic)
    }
}

struct NPZError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

private func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
private func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }

/// zlib's CRC-32 (reflected polynomial 0xEDB88320), as zip and Python's zlib.crc32 compute it.
private let crcTable: [UInt32] = (0..<256).map { n in
    var c = UInt32(n)
    for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    return c
}

private func crc32(_ bytes: [UInt8]) -> UInt32 {
    var c: UInt32 = 0xFFFF_FFFF
    for b in bytes { c = crcTable[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
    return c ^ 0xFFFF_FFFF
}
