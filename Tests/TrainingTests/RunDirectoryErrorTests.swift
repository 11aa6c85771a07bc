import Foundation
import TestSupport
@testable import Training
import XCTest

/// `electra-train --out` naming an existing file: the path, the reason and the remedy in words.
final class RunDirectoryErrorTests: XCTestCase {
    func testOutIsAFile() throws {
        let file = try makeTemporaryDirectory(in: self).appendingPathComponent("taken")
        try Data("x".utf8).write(to: file)
        XCTAssertThrowsError(try RunDirectory(file)) { error in
            let message = "\(error)"
            XCTAssertEqual(message, "\(file.path): cannot be the run directory: exists and is a file, not a directory; choose another --out, or remove that file")
        }
    }
}
