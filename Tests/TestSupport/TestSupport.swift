// Helpers shared by every test target: closeness checks that report the largest
// difference, temporary directories, and the path of committed fixtures.
import Foundation
import XCTest

/// Asserts that two float arrays agree element-wise within `rtol * |expected| + atol`,
/// and reports the largest absolute and relative difference when they do not.
///
/// ```swift
/// assertClose(ours, reference, rtol: 1e-4, atol: 1e-5, "embeddings grad")
/// ```
public func assertClose(
    _ actual: [Float], _ expected: [Float], rtol: Float = 1e-4, atol: Float = 1e-5,
    _ name: String = "", file: StaticString = #filePath, line: UInt = #line
) {
    guard actual.count == expected.count else {
        XCTFail("\(name): \(actual.count) values, expected \(expected.count)", file: file, line: line)
        return
    }
    var maxAbs: Float = 0, maxRel: Float = 0, worst = -1
    for i in 0..<actual.count {
        let d = abs(actual[i] - expected[i])
        if !(d <= atol + rtol * abs(expected[i])) && worst < 0 { worst = i }
        if d > maxAbs || d.isNaN { maxAbs = d }
        let r = d / max(abs(expected[i]), Float.leastNormalMagnitude)
        if abs(expected[i]) > atol && r > maxRel { maxRel = r }
    }
    if worst >= 0 {
        XCTFail("\(name): max abs diff \(maxAbs), max rel diff \(maxRel); first bad index \(worst): \(actual[worst]) vs \(expected[worst])",
                file: file, line: line)
    }
}

/// A fresh empty directory under the system temporary directory, removed by the caller's
/// `addTeardownBlock` when one is given.
public func makeTemporaryDirectory(_ prefix: String = "electra-test", in testCase: XCTestCase? = nil) throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("\(prefix)-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    testCase?.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

/// The repository root, found from this source file's location (Tests/TestSupport/...).
public let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A committed fixture under `Tests/Fixtures/`.
public func fixtureURL(_ relativePath: String) -> URL {
    repositoryRoot.appendingPathComponent("Tests/Fixtures").appendingPathComponent(relativePath)
}
