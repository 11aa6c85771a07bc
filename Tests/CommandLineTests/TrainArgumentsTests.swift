import TrainCommandLine
import XCTest

final class TrainArgumentsTests: XCTestCase {
    /// The run directory follows the preset: `--preset small` never writes into runs/tiny.
    func testRunDirectoryFollowsThePreset() throws {
        XCTAssertEqual(try TrainArguments.parse([]).runDirectory, "runs/tiny")
        XCTAssertEqual(try TrainArguments.parse(["--preset", "small"]).runDirectory, "runs/small")
        XCTAssertEqual(try TrainArguments.parse(["--preset", "base", "--out", "elsewhere"]).runDirectory, "elsewhere")
    }

    /// Each option's help states its default once (argument-parser adds "(default: X)" to a flag
    /// with a default value; a help text that says it too printed it twice).
    func testHelpStatesEachDefaultOnce() {
        let help = TrainArguments.helpMessage(columns: 1000)
        for entry in help.components(separatedBy: "\n  -").dropFirst() {
            XCTAssertLessThanOrEqual(entry.components(separatedBy: "default").count - 1, 1, "-" + entry)
        }
        XCTAssertTrue(help.contains("(default 600)"), help)
        XCTAssertFalse(help.contains("600.0"), help)
        XCTAssertEqual(try TrainArguments.parse(["--stall-timeout", "2.5"]).stallTimeout, 2.5)
        XCTAssertEqual(try TrainArguments.parse([]).stallTimeout, 600)
    }
}
