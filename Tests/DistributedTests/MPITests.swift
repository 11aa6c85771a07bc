import Foundation
import XCTest
@testable import Distributed

/// Runs inside each rank when the test binary itself is started by mpirun (see
/// `MPILaunchTests`); skipped in a plain `swift test`.
final class MPIRankTests: XCTestCase {
    func testCollectivesAcrossRanks() throws {
        guard launchedByMPI() else { throw XCTSkip("runs only under mpirun (MPILaunchTests starts it)") }
        let c = try MPICommunicator(stallTimeout: 60, onStall: nil)
        XCTAssertEqual(c.size, 2)
        // All-reduce: rank r contributes r+1 at every element; 1 + 2 = 3 everywhere.
        var values = [Float](repeating: Float(c.rank + 1), count: 100_000)
        try values.withUnsafeMutableBufferPointer { try c.allReduceSum($0) }
        XCTAssertEqual(Set(values), [3])
        XCTAssertEqual(try c.sum(Double(c.rank) + 0.5), 2.0)
        // Broadcast from rank 0.
        var bytes: [UInt8] = c.rank == 0 ? [1, 2, 3, 4] : [0, 0, 0, 0]
        try bytes.withUnsafeMutableBytes { try c.broadcast($0, root: 0) }
        XCTAssertEqual(bytes, [1, 2, 3, 4])
        // Gathers, in rank order.
        XCTAssertEqual(try c.allGather(UInt64(10 + c.rank)), [10, 11])
        XCTAssertEqual(try c.allGatherV(c.rank == 0 ? [1] : [2, 3]), [1, 2, 3])
        // Bucketed all-reduce on the communication thread.
        let reducer = GradientReducer(communicator: c, overlap: true)
        var grads = [Float](repeating: Float(c.rank) + 0.25, count: 4096)
        try grads.withUnsafeMutableBufferPointer { g in
            reducer.submit(UnsafeMutableBufferPointer(rebasing: g[2048..<4096]))
            reducer.submit(UnsafeMutableBufferPointer(rebasing: g[0..<2048]))
            let report = try reducer.finish()
            XCTAssertEqual(report.bytes, 4096 * 4)
        }
        reducer.stop()
        XCTAssertEqual(Set(grads), [1.5])
        try c.barrier()
        c.finalize()
    }
}

/// Starts this test binary under `mpirun -np 2` and checks that both ranks pass.
final class MPILaunchTests: XCTestCase {
    func testTwoRanksUnderMpirun() throws {
        guard !launchedByMPI() else { throw XCTSkip("already a rank") }
        guard let mpirun = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw XCTSkip("mpirun not installed (tools/setup.sh installs openmpi-bin)")
        }
        let binary = CommandLine.arguments[0]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: mpirun)
        process.arguments = ["-np", "2", "--oversubscribe", "--bind-to", "none", binary, "DistributedTests.MPIRankTests"]
        var environment = ProcessInfo.processInfo.environment
        environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, output)
        // Both ranks ran the test (not skipped) and passed.
        let passed = output.components(separatedBy: "\n").filter { $0.contains("testCollectivesAcrossRanks]' passed") || $0.contains("testCollectivesAcrossRanks' passed") }
        XCTAssertEqual(passed.count, 2, output)
        XCTAssertFalse(output.contains("skipped"), output)
    }
}
