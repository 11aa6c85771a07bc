import Foundation
import XCTest
@testable import Distributed

/// Two in-process "ranks" that meet at each collective (a barrier per call): enough to test the
/// reducer's bucket order and overlap without mpirun.
final class LoopbackGroup: @unchecked Sendable {
    let size: Int
    private let condition = NSCondition()
    private var arrived = 0
    private var generation = 0
    private var contributions: [Int: [Double]] = [:]
    private var result: [Double] = []
    init(size: Int) { self.size = size }

    func allReduce(rank: Int, _ values: [Double]) -> [Double] {
        condition.lock(); defer { condition.unlock() }
        let gen = generation
        contributions[rank] = values
        arrived += 1
        if arrived == size {
            // Sum in rank order, as a deterministic MPI reduction would.
            result = (0..<size).map { contributions[$0]! }.reduce(into: [Double](repeating: 0, count: values.count)) { acc, v in
                for i in acc.indices { acc[i] += v[i] }
            }
            arrived = 0
            contributions = [:]
            generation += 1
            condition.broadcast()
        } else {
            while generation == gen { condition.wait() }
        }
        return result
    }
}

final class LoopbackCommunicator: Communicator {
    let rank: Int
    let group: LoopbackGroup
    var calls: [String] = []
    init(rank: Int, group: LoopbackGroup) { self.rank = rank; self.group = group }
    var size: Int { group.size }
    var localSize: Int { group.size }
    func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws {}
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
        calls.append("allreduce \(buffer.count)")
        let summed = group.allReduce(rank: rank, buffer.map(Double.init))
        for i in buffer.indices { buffer[i] = Float(summed[i]) }
    }
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws {
        let summed = group.allReduce(rank: rank, Array(buffer))
        for i in buffer.indices { buffer[i] = summed[i] }
    }
    func allGather(_ value: UInt64) throws -> [UInt64] { [value] }
    func allGatherV(_ values: [Float]) throws -> [Float] { values }
    func barrier() throws { _ = group.allReduce(rank: rank, []) }
}

final class DistributedTests: XCTestCase {
    func testSingleProcessCollectivesAreIdentity() throws {
        let c = SingleProcess()
        var values: [Float] = [1, 2, 3]
        try values.withUnsafeMutableBufferPointer { try c.allReduceSum($0) }
        XCTAssertEqual(values, [1, 2, 3])
        XCTAssertEqual(try c.sum([1.5, 2]), [1.5, 2])
        XCTAssertEqual(try c.allGather(7), [7])
        XCTAssertEqual(c.rank, 0)
        XCTAssertEqual(c.size, 1)
    }

    func testNotLaunchedByMPIWithoutItsEnvironment() {
        XCTAssertFalse(launchedByMPI(["PATH": "/bin"]))
        XCTAssertTrue(launchedByMPI(["OMPI_COMM_WORLD_SIZE": "2"]))
    }

    func testComputeThreadsShareTheMachineWhenUnbound() {
        let cores = allowedCores()
        XCTAssertGreaterThanOrEqual(cores, 1)
        XCTAssertEqual(computeThreadsPerRank(localRanks: 1), cores)
        XCTAssertGreaterThanOrEqual(computeThreadsPerRank(localRanks: 64), 1)
    }

    /// Buckets submitted while "backward" goes on are summed over both ranks, overlapped or not,
    /// and give the same bits either way.
    func testReducerSumsEveryBucketWithAndWithoutOverlap() throws {
        for overlap in [true, false] {
            let group = LoopbackGroup(size: 2)
            final class Outcome: @unchecked Sendable {
                var results: [[Float]] = [[], []]
                var reports: [GradientReducer.StepReport?] = [nil, nil]
                let lock = NSLock()
            }
            let outcome = Outcome()
            DispatchQueue.concurrentPerform(iterations: 2) { rank in
                let comm = LoopbackCommunicator(rank: rank, group: group)
                let reducer = GradientReducer(communicator: comm, overlap: overlap)
                let count = 1000
                let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
                defer { buffer.deallocate() }
                for i in 0..<count { buffer[i] = Float(i) * 0.1 + Float(rank) }
                // Backward finishes the last buckets first.
                for start in stride(from: 750, through: 0, by: -250) {
                    reducer.submit(UnsafeMutableBufferPointer(rebasing: buffer[start..<(start + 250)]))
                }
                let report = try! reducer.finish()
                reducer.stop()
                outcome.lock.lock(); outcome.results[rank] = Array(buffer); outcome.reports[rank] = report; outcome.lock.unlock()
            }
            let results = outcome.results, reports = outcome.reports
            XCTAssertEqual(results[0], results[1])
            for i in [0, 1, 499, 999] {
                XCTAssertEqual(results[0][i], Float(i) * 0.1 + Float(i) * 0.1 + 1, "element \(i), overlap \(overlap)")
            }
            XCTAssertEqual(reports[0]?.bytes, 4000)
        }
    }

    func testSingleProcessReducerDoesNothing() throws {
        let reducer = GradientReducer(communicator: SingleProcess(), overlap: true)
        var values: [Float] = [1, 2]
        values.withUnsafeMutableBufferPointer { reducer.submit($0) }
        let report = try reducer.finish()
        XCTAssertEqual(values, [1, 2])
        XCTAssertEqual(report.bytes, 0)
    }
}
