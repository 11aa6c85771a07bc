import Foundation
import Interop
import TestSupport
import XCTest

final class SafetensorsTests: XCTestCase {
    func testReadsWhatTheReferenceLibraryWrites() throws {
        let file = try SafetensorsFile(contentsOf: fixtureURL("interop/reference.safetensors"))
        XCTAssertEqual(file.metadata, ["format": "np", "by": "safetensors"])
        XCTAssertEqual(file.tensors["weight"]?.shape, [2, 3])
        XCTAssertEqual(try file.floats("weight"), [-0.5, -0.25, 0, 0.25, 0.5, 0.75])
        XCTAssertEqual(try file.floats("half"), [1.5, -2.0, 65504.0, Float(Float16(0.0001))])
        XCTAssertEqual(file.tensors["scalar"]?.shape, [])
        XCTAssertEqual(try file.floats("scalar"), [3.25])
        XCTAssertEqual(try file.floats("empty"), [])
        XCTAssertThrowsError(try file.floats("ids"))        // an integer tensor is not read as floats
        XCTAssertThrowsError(try file.floats("missing"))
    }

    func testRoundTrip() throws {
        let dir = try makeTemporaryDirectory(in: self)
        let url = dir.appendingPathComponent("model.safetensors")
        let tensors = [SafetensorsTensor(name: "b", shape: [3], values: [1, -2, 3.5]),
                       SafetensorsTensor(name: "a.weight", shape: [2, 2], values: [0.1, 0.2, 0.3, 0.4])]
        try writeSafetensors(tensors, metadata: ["format": "pt"], to: url)
        let bytes = try Data(contentsOf: url)
        let headerLength = bytes.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        XCTAssertEqual((8 + Int(headerLength)) % 8, 0, "header padded to 8 bytes")
        let file = try SafetensorsFile(contentsOf: url)
        XCTAssertEqual(try file.floats("a.weight"), [0.1, 0.2, 0.3, 0.4])
        XCTAssertEqual(try file.floats("b"), [1, -2, 3.5])
        XCTAssertEqual(file.metadata["format"], "pt")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["model.safetensors"])
    }

    /// A file with a given header (as JSON text) and `dataBytes` bytes of data.
    private func file(header: String, dataBytes: Int, headerLength: UInt64? = nil) -> Data {
        var d = Data()
        withUnsafeBytes(of: (headerLength ?? UInt64(header.utf8.count)).littleEndian) { d.append(contentsOf: $0) }
        d.append(Data(header.utf8))
        d.append(Data(repeating: 0, count: dataBytes))
        return d
    }

    private func assertRejected(_ data: Data, _ expected: String, line: UInt = #line) {
        XCTAssertThrowsError(try SafetensorsFile(bytes: data, name: "bad.safetensors"), line: line) { error in
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix("bad.safetensors: "), message, line: line)
            XCTAssertTrue(message.contains(expected), "\(message) should mention \(expected)", line: line)
        }
    }

    func testDamagedAndHostileFilesAreClearErrors() throws {
        let good = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#
        XCTAssertNoThrow(try SafetensorsFile(bytes: file(header: good, dataBytes: 12), name: "ok"))
        assertRejected(Data([1, 2, 3]), "shorter than the 8-byte header length")
        assertRejected(file(header: good, dataBytes: 12, headerLength: 1 << 40), "exceeds the 100 MB limit")
        assertRejected(file(header: good, dataBytes: 12, headerLength: 5000), "runs past the end of the file")
        assertRejected(file(header: good, dataBytes: 10), "truncated")
        assertRejected(file(header: "[1,2]", dataBytes: 0), "does not start with '{'")
        assertRejected(file(header: #"{"a": {"dtype": "F32""#, dataBytes: 0), "not a JSON object")
        assertRejected(file(header: #"{"a":{"dtype":"F8","shape":[1],"data_offsets":[0,1]}}"#, dataBytes: 1), "unsupported dtype")
        assertRejected(file(header: #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, dataBytes: 8), "needs 3 x 4 bytes")
        assertRejected(file(header: #"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, dataBytes: 4), "non-negative")
        assertRejected(file(header: #"{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,4]}}"#, dataBytes: 4), "shape")
        assertRejected(file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, dataBytes: 12), "overlaps")
        assertRejected(file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, dataBytes: 8), "hole")
        assertRejected(file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, dataBytes: 8), "data region holds 8")
        assertRejected(file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}"#, dataBytes: 8), "data_offsets")
        assertRejected(file(header: #"{"__metadata__":{"k":1}}"#, dataBytes: 0), "__metadata__[k]")
        // Every truncation of a valid file is rejected, never a crash.
        let valid = try safetensorsBytes([SafetensorsTensor(name: "w", shape: [2, 3], values: [1, 2, 3, 4, 5, 6])])
        for cut in 0..<valid.count {
            XCTAssertThrowsError(try SafetensorsFile(bytes: valid.prefix(cut), name: "cut"), "cut at \(cut)")
        }
    }
}
