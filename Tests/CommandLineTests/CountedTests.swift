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
