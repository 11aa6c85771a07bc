import CommandLineSupport
import XCTest

final class CountedTests: XCTestCase {
    func testSingularAndPlural() {
        XCTAssertEqual(counted(1, "epoch"), "1 epoch")
        XCTAssertEqual(counted(3, "epoch"), "3 epochs")
        XCTAssertEqual(counted(0, "bad row"), "0 bad rows")
        XCTAssertEqual(counted(1, "bad row"), "1 bad row")
        XCTAssertEqual(counted(2, "entry", "entries"), "2 entries")
        XCTAssertEqual(counted(1, "entry", "entries"), "1 entry")
    }
}

/// The command a stopped run prints to continue (Interruption.swift).
final class ResumeCommandTests: XCTestCase {
    func testAddsTheFlagOnceAndQuotesForTheShell() {
        XCTAssertEqual(resumeCommand(adding: "--resume", arguments: ["electra-train", "--out", "my run", "--seed", "1"]),
                       "electra-train --out 'my run' --seed 1 --resume")
        XCTAssertEqual(resumeCommand(adding: "--resume", arguments: ["electra-train", "--resume", "--out", "r"]),
                       "electra-train --resume --out r")
        XCTAssertEqual(resumeCommand(adding: nil, arguments: ["electra-prep", "shard", "it's.txt", "--out", ""]),
                       "electra-prep shard 'it'\\''s.txt' --out ''")
    }

    func testExitCodeFollowsTheSignal() {
        XCTAssertEqual(Interruption.exitCode, 1, "no signal yet")
        XCTAssertFalse(Interruption.requested)
        Interruption.simulate(SIGTERM)
        Interruption.simulate(SIGINT)   // the first one counts
        XCTAssertTrue(Interruption.requested)
        XCTAssertEqual(Interruption.exitCode, 143)
        XCTAssertEqual(Interruption.signalName, "SIGTERM")
    }
}
