import Durability
import Foundation
import TestSupport
import XCTest

/// Foundation's file errors in words: what Linux's Foundation really throws, read back as
/// "PATH: reason; remedy", never as "NSCocoaErrorDomain error 256".
final class FileProblemTests: XCTestCase {
    private func assertWords(_ problem: FileProblem?, path: String, reason: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        guard let problem else { return XCTFail("no FileProblem", file: file, line: line) }
        XCTAssertEqual(problem.path, path, file: file, line: line)
        XCTAssertEqual(problem.reason, reason, file: file, line: line)
        XCTAssertFalse(problem.remedy.isEmpty, file: file, line: line)
        XCTAssertFalse(problem.description.contains("Domain"), problem.description, file: file, line: line)
        XCTAssertFalse(problem.description.contains("could not be completed"), problem.description, file: file, line: line)
    }

    func testReadingADirectory() throws {
        let dir = try makeTemporaryDirectory(in: self)
        XCTAssertThrowsError(try Data(contentsOf: dir)) { error in
            assertWords(FileProblem(error, path: dir.path), path: dir.path, reason: "is a directory")
        }
    }

    func testCreatingADirectoryWhereAFileIs() throws {
        let file = try makeTemporaryDirectory(in: self).appendingPathComponent("taken")
        try Data("x".utf8).write(to: file)
        XCTAssertThrowsError(try FileManager.default.createDirectory(at: file, withIntermediateDirectories: true)) { error in
            assertWords(FileProblem(error), path: file.path, reason: "exists and is a file, not a directory")
        }
        // A path below a file.
        XCTAssertThrowsError(try FileManager.default.createDirectory(at: file.appendingPathComponent("sub"),
                                                                     withIntermediateDirectories: true)) { error in
            XCTAssertNotNil(FileProblem(error), "\(error)")
            XCTAssertFalse("\(FileProblem(error)!)".contains("Domain"), "\(FileProblem(error)!)")
        }
    }

    func testReadingAMissingFile() throws {
        let missing = try makeTemporaryDirectory(in: self).appendingPathComponent("missing.txt")
        XCTAssertThrowsError(try Data(contentsOf: missing)) { error in
            assertWords(FileProblem(error), path: missing.path, reason: "no such file or directory")
        }
    }

    func testAtomicWriteBelowAFileNamesTheTarget() throws {
        let file = try makeTemporaryDirectory(in: self).appendingPathComponent("taken")
        try Data("x".utf8).write(to: file)
        let target = file.appendingPathComponent("config.json")
        XCTAssertThrowsError(try writeFileAtomically(Data("{}".utf8), to: target)) { error in
            assertWords(FileProblem(error), path: target.path, reason: "a part of the path is a file, not a directory")
            // The file is named once, the temporary name never.
            XCTAssertEqual("\(error)".components(separatedBy: file.path).count - 1, 1, "\(error)")
            XCTAssertFalse("\(error)".contains(".tmp-"), "\(error)")
        }
    }

    /// Errors that cannot be provoked as root or without a full disk, as Foundation builds them.
    func testCocoaErrorsAsFoundationThrowsThem() {
        func cocoa(_ code: CocoaError.Code, _ posix: Int32?) -> Error {
            var info: [String: Any] = [NSFilePathErrorKey: "/data/out"]
            if let posix { info[NSUnderlyingErrorKey] = NSError(domain: NSPOSIXErrorDomain, code: Int(posix)) }
            return CocoaError(code, userInfo: info)
        }
        assertWords(FileProblem(cocoa(.fileWriteVolumeReadOnly, EROFS)), path: "/data/out", reason: "on a read-only file system")
        assertWords(FileProblem(cocoa(.fileWriteNoPermission, EACCES)), path: "/data/out", reason: "no permission to write")
        assertWords(FileProblem(cocoa(.fileReadNoPermission, nil)), path: "/data/out", reason: "no permission to read")
        assertWords(FileProblem(cocoa(.fileWriteOutOfSpace, nil)), path: "/data/out", reason: "no space left on device")
        assertWords(FileProblem(cocoa(.fileWriteUnknown, ENOSPC)), path: "/data/out", reason: "no space left on device")
        assertWords(FileProblem(POSIXError(.EDQUOT), path: "/q"), path: "/q", reason: "disk quota exceeded")
        // An error without a path takes the one given.
        assertWords(FileProblem(CocoaError(.fileWriteOutOfSpace), path: "runs/x"), path: "runs/x", reason: "no space left on device")
    }

    func testOtherErrorsAreNotFileProblems() {
        struct Unrelated: Error {}
        XCTAssertNil(FileProblem(Unrelated()))
        XCTAssertNil(FileProblem(NSError(domain: "SomethingElse", code: 1)))
    }
}
