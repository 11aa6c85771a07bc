// Reading and writing the safetensors format (huggingface/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]},
// "__metadata__": {string: string}}, then the raw little-endian tensor bytes. The reader trusts
// nothing: every length, offset, shape and dtype is checked before a byte of data is touched,
// following the rules of the reference implementation's `validate` (offsets contiguous from 0,
// covering the whole data region, each tensor's byte length = elements x dtype size).
import Durability
import Foundation

/// A damaged or unsupported safetensors file; each case names the file and the problem.
public struct SafetensorsError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let problem: String
    public var description: String {
        "\(file): not a valid safetensors file: \(problem) (re-export it, or check that the path points at model.safetensors)"
    }
}

/// A parsed, validated safetensors file.
///
/// ```swift
/// let file = try SafetensorsFile(contentsOf: URL(fileURLWithPath: "hf/run/discriminator/model.safetensors"))
/// let w = try file.floats("electra.embeddings.word_embeddings.weight")   // [Float], row-major
/// ```
public struct SafetensorsFile {
    public struct Tensor: Equatable, Sendable {
        public var dtype: String
        public var shape: [Int]
        /// Byte range inside the data region.
        public var range: Range<Int>
        public var elementCount: Int { shape.reduce(1, *) }
    }

    public let name: String
    public let tensors: [String: Tensor]
    public let metadata: [String: String]
    /// The data region (everything after the header).
    public let data: Data

    /// Bytes per element of the dtypes this reader accepts.
    public static let dtypeSizes: [String: Int] = [
        "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1,
    ]
    /// The largest header accepted (the reference implementation's limit).
    public static let maxHeaderBytes = 100_000_000

    public init(contentsOf url: URL) throws {
        let bytes: Data
        do { bytes = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw SafetensorsError(file: url.path, problem: "cannot be read (\(fileErrorReason(error, writing: false)))")
        }
        try self.init(bytes: bytes, name: url.path)
    }

    /// Parses and validates a whole file held in memory.
    /// - Complexity: O(header + tensors log tensors); the data is not copied.
    public init(bytes: Data, name: String) throws {
        func fail(_ problem: String) -> SafetensorsError { SafetensorsError(file: name, problem: problem) }
        self.name = name
        guard bytes.count >= 8 else { throw fail("the file is \(bytes.count) bytes, shorter than the 8-byte header length") }
        let n = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard n <= UInt64(Self.maxHeaderBytes) else { throw fail("the header length \(n) exceeds the 100 MB limit") }
        guard n <= UInt64(bytes.count - 8) else {
            throw fail("the header length \(n) runs past the end of the file (\(bytes.count) bytes): the file is truncated")
        }
        let headerEnd = 8 + Int(n)
        let headerBytes = bytes[bytes.startIndex + 8 ..< bytes.startIndex + headerEnd]
        guard headerBytes.first == UInt8(ascii: "{") else { throw fail("the header does not start with '{'") }
        guard let json = try? JSONSerialization.jsonObject(with: headerBytes),
              let object = json as? [String: Any] else {
            throw fail("the header is not a JSON object")
        }
        let dataCount = bytes.count - headerEnd
        var tensors: [String: Tensor] = [:]
        var metadata: [String: String] = [:]
        for (key, value) in object {
            if key == "__metadata__" {
                guard let dict = value as? [String: Any] else { throw fail("__metadata__ is not an object") }
                for (k, v) in dict {
                    guard let s = v as? String else { throw fail("__metadata__[\(k)] is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let entry = value as? [String: Any] else { throw fail("tensor \(key): its entry is not an object") }
            guard let dtype = entry["dtype"] as? String, let size = Self.dtypeSizes[dtype] else {
                throw fail("tensor \(key): unsupported dtype \(entry["dtype"] ?? "none")")
            }
            guard let shapeValues = entry["shape"] as? [Any],
                  let shape = Self.integers(shapeValues), shape.allSatisfy({ $0 >= 0 }) else {
                throw fail("tensor \(key): shape is not a list of non-negative integers")
            }
            guard let offsetValues = entry["data_offsets"] as? [Any], let offsets = Self.integers(offsetValues),
                  offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1] else {
                throw fail("tensor \(key): data_offsets is not [begin, end] with 0 <= begin <= end")
            }
            var elements = 1
            for d in shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow else { throw fail("tensor \(key): shape \(shape) overflows") }
                elements = product
            }
            let (byteCount, overflow) = elements.multipliedReportingOverflow(by: size)
            guard !overflow, offsets[1] - offsets[0] == byteCount else {
                throw fail("tensor \(key): shape \(shape) of \(dtype) needs \(elements) x \(size) bytes, data_offsets give \(offsets[1] - offsets[0])")
            }
            guard offsets[1] <= dataCount else {
                throw fail("tensor \(key): data_offsets end \(offsets[1]) is past the data region (\(dataCount) bytes): the file is truncated")
            }
            tensors[key] = Tensor(dtype: dtype, shape: shape, range: offsets[0]..<offsets[1])
        }
        // Offsets must tile the data region exactly: sorted, contiguous, no overlap, no hole.
        var cursor = 0
        for (key, t) in tensors.sorted(by: { ($0.value.range.lowerBound, $0.value.range.upperBound, $0.key) < ($1.value.range.lowerBound, $1.value.range.upperBound, $1.key) }) {
            guard t.range.lowerBound == cursor else {
                throw fail(t.range.lowerBound < cursor
                           ? "tensor \(key) overlaps the tensor before it (offset \(t.range.lowerBound) < \(cursor))"
                           : "a hole of \(t.range.lowerBound - cursor) bytes before tensor \(key)")
            }
            cursor = t.range.upperBound
        }
        guard cursor == dataCount else {
            throw fail("the tensors cover \(cursor) bytes but the data region holds \(dataCount)")
        }
        self.tensors = tensors
        self.metadata = metadata
        self.data = bytes.subdata(in: bytes.startIndex + headerEnd ..< bytes.endIndex)
    }

    private static func integers(_ values: [Any]) -> [Int]? {
        var out: [Int] = []
        for v in values {
            guard let number = v as? NSNumber else { return nil }
            let d = number.doubleValue
            guard d == d.rounded(), abs(d) < 9.0e15 else { return nil }
            out.append(number.intValue)
        }
        return out
    }

    /// The values of a floating-point tensor as Float (F32 as is; F16, BF16 and F64 converted).
    public func floats(_ tensorName: String) throws -> [Float] {
        guard let t = tensors[tensorName] else {
            throw SafetensorsError(file: name, problem: "no tensor named \(tensorName)")
        }
        guard ["F32", "F64", "BF16", "F16"].contains(t.dtype) else {
            throw SafetensorsError(file: name, problem: "tensor \(tensorName) has dtype \(t.dtype), expected a floating-point dtype")
        }
        let count = t.elementCount
        return data.withUnsafeBytes { raw -> [Float] in
            let base = raw.baseAddress! + t.range.lowerBound
            switch t.dtype {
            case "F32":
                return (0..<count).map { Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
            case "F64":
                return (0..<count).map { Float(Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self)))) }
            case "BF16":
                return (0..<count).map { Float(bitPattern: UInt32(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) << 16) }
            case "F16":
                return (0..<count).map { Float(Float16(bitPattern: UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)))) }
            default:
                return []
            }
        }
    }
}

/// One tensor to write: float32 values, row-major, with its shape.
public struct SafetensorsTensor {
    public var name: String
    public var shape: [Int]
    public var values: [Float]
    public init(name: String, shape: [Int], values: [Float]) {
        self.name = name; self.shape = shape; self.values = values
    }
}

/// Serializes tensors (F32) to safetensors bytes: tensors in the given order, header padded
/// with spaces to a multiple of 8 bytes as the reference writer does.
public func safetensorsBytes(_ tensors: [SafetensorsTensor], metadata: [String: String] = [:]) throws -> Data {
    var header: [String: Any] = [:]
    if !metadata.isEmpty { header["__metadata__"] = metadata }
    var offset = 0
    for t in tensors {
        precondition(t.shape.reduce(1, *) == t.values.count, "\(t.name): shape \(t.shape) does not match \(t.values.count) values")
        let end = offset + 4 * t.values.count
        header[t.name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, end]] as [String: Any]
        offset = end
    }
    var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
    while (8 + json.count) % 8 != 0 { json.append(UInt8(ascii: " ")) }
    var out = Data(capacity: 8 + json.count + offset)
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
    out.append(json)
    for t in tensors {
        t.values.withUnsafeBufferPointer { buffer in
            if UInt32(1).littleEndian == 1 {
                out.append(UnsafeBufferPointer(start: UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: UInt8.self),
                                               count: 4 * buffer.count))
            } else {
                for v in buffer { withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
            }
        }
    }
    return out
}

/// Writes tensors to `url` atomically (temporary file, fsync, rename).
public func writeSafetensors(_ tensors: [SafetensorsTensor], metadata: [String: String] = [:], to url: URL) throws {
    try writeFileAtomically(try safetensorsBytes(tensors, metadata: metadata), to: url)
}

