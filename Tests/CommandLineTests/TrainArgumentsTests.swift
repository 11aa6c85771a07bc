import TrainCommandLine
import XCTest

final class TrainArgumentsTests: XCTestCase {
    /// The run directory follows the preset: `--preset small` never writes into runs/tiny.
    func testRunDirectoryFollowsThePreset() throws {
        XCTAssertEqual(try TrainArguments.parse([]).runDirectory, "runs/tiny")
        XCTAssertEqual(try TrainArguments.parse(["--preset", "small"]).runDirectory, "runs/small")
        XCTAssertEqual(try TrainArguments.parse(["--preset", "base", "--out", "elsewhere"]).runDirectory, "elsewhere")
    }

}
