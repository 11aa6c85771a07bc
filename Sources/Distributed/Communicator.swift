// The processes of one training job. Data-parallel pre-training needs only a handful of
// collectives (broadcast the initial weights, sum gradients and loss normalisers, compare
// checksums), so the trainer sees this small protocol; `SingleProcess` is the plain run without
// mpirun and `MPICommunicator` (MPICommunicator.swift) the Open MPI one.
import CMPI
import Foundation

/// Errors of the communication layer; each names the collective and the rank.
public enum CommunicationError: Error, CustomStringConvertible, Equatable {
    case mpi(call: String, rank: Int, code: Int32, message: String)
    case unsupportedThreading(provided: Int32)
    case countMismatch(String)

    public var description: String {
        switch self {
        case let .mpi(call, rank, code, message):
            return "rank \(rank): \(call) failed (MPI error \(code): \(message)); another rank probably died: "
                + "resume the run with --resume (with fewer ranks if a node is gone)"
        case let .unsupportedThreading(provided):
            return "this Open MPI gives thread level \(provided), not MPI_THREAD_MULTIPLE: the gradient "
                + "all-reduce runs on its own thread; use an Open MPI built with thread support"
        case let .countMismatch(what):
            return what
        }
    }
}

/// Rank, size and the collectives of a data-parallel job. Every rank must make the same calls in
/// the same order (MPI's rule); buffers are reduced in place.
public protocol Communicator: AnyObject {
    /// This process's rank, 0 ..< size. Rank 0 writes checkpoints, metrics and progress.
    var rank: Int { get }
    /// The number of processes.
    var size: Int { get }
    /// The processes on this machine (for sizing compute threads).
    var localSize: Int { get }
    /// Copies `root`'s bytes into every rank's buffer.
    func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws
    /// Sums `buffer` over all ranks, in place.
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws
    /// Sums `buffer` over all ranks, in place.
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws
    /// Every rank's `value`, indexed by rank.
    func allGather(_ value: UInt64) throws -> [UInt64]
    /// Gathers variable-length float arrays from every rank, concatenated in rank order.
    func allGatherV(_ values: [Float]) throws -> [Float]
    /// Waits for every rank.
    func barrier() throws
}

extension Communicator {
    public var isRoot: Bool { rank == 0 }

    /// Sums one value over ranks.
    public func sum(_ value: Double) throws -> Double {
        var v = value
        try withUnsafeMutablePointer(to: &v) { try allReduceSum(UnsafeMutableBufferPointer(start: $0, count: 1)) }
        return v
    }

    /// Sums each value over ranks (one collective for all of them).
    public func sum(_ values: [Double]) throws -> [Double] {
        var v = values
        try v.withUnsafeMutableBufferPointer { try allReduceSum($0) }
        return v
    }

    /// Broadcasts a float buffer from `root`.
    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws {
        try broadcast(UnsafeMutableRawBufferPointer(buffer), root: root)
    }
}

/// The communicator of a run without mpirun: one rank, every collective the identity.
public final class SingleProcess: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public var localSize: Int { 1 }
    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws {}
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {}
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws {}
    public func allGather(_ value: UInt64) throws -> [UInt64] { [value] }
    public func allGatherV(_ values: [Float]) throws -> [Float] { values }
    public func barrier() throws {}
}

/// Whether this process was started by Open MPI's launcher (mpirun / mpiexec).
public func launchedByMPI(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
    environment["OMPI_COMM_WORLD_SIZE"] != nil || environment["PMIX_RANK"] != nil
}

/// The communicator for this process: Open MPI's when started by mpirun, else a single process.
/// Without mpirun nothing of MPI is initialised, so a plain run behaves exactly as before.
public func makeCommunicator(stallTimeout: Double = 600, onStall: (@Sendable (String) -> Void)? = nil) throws -> Communicator {
    if launchedByMPI() { return try MPICommunicator(stallTimeout: stallTimeout, onStall: onStall) }
    return SingleProcess()
}

/// How many compute threads a rank should use: the cores it may run on (its affinity mask), shared
/// among the ranks of this machine when mpirun did not bind them (`--bind-to none` leaves every rank
/// the whole machine).
public func computeThreadsPerRank(localRanks: Int) -> Int {
    let allowed = allowedCores()
    let online = ProcessInfo.processInfo.activeProcessorCount
    if allowed >= online && localRanks > 1 { return max(1, online / localRanks) }
    return max(1, allowed)
}

/// The number of cores in this process's affinity mask.
public func allowedCores() -> Int {
    let n = Int(cmpi_allowed_cores())
    return n > 0 ? n : ProcessInfo.processInfo.activeProcessorCount
}
