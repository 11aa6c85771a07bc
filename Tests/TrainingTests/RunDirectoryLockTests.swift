import Durability
import Foundation
import XCTest
@testable import Training

/// One process writes a run directory (pre-training or fine-tuning): a second holder is refused
/// by name, and the lock is free again once the first is gone.
final class RunDirectoryLockTests: XCTestCase {
    func testASecondWriterIsRefusedUntilTheFirstIsGone() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lock-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var first: RunDirectory? = try RunDirectory(dir)
        XCTAssertThrowsError(try RunDirectory(dir)) { error in
            guard case TrainingError.busy(let path) = error else { return XCTFail("expected busy, got \(error)") }
            XCTAssertEqual(path, dir.path)
            XCTAssertTrue("\(error)".contains("another electra-train process"), "\(error)")
        }
        XCTAssertThrowsError(try DirectoryLock(dir)) { error in
            XCTAssertEqual(error as? DirectoryLockError, .busy(directory: dir.path))
        }
        XCTAssertNotNil(first)
        first = nil
        XCTAssertNoThrow(try DirectoryLock(dir))
    }
}
