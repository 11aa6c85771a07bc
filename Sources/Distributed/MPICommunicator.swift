// The Open MPI communicator: MPI_Init_thread(MPI_THREAD_MULTIPLE) (the gradient all-reduce runs on
// a thread of its own while the backward pass goes on), errors returned instead of aborting, and a
// watchdog that reports a collective that has not finished after `stallTimeout` seconds (a rank
// that stopped answering: MPI itself would wait forever).
import CMPI
import Foundation

public final class MPICommunicator: Communicator, @unchecked Sendable {
    public let rank: Int
    public let size: Int
    public let localSize: Int
    private let watchdog: Watchdog

    /// Initialises MPI (once per process). `onStall` is called from the watchdog's thread with a
    /// message naming the collective and how long it has waited; the executable decides what to do
    /// (print it and abort the job).
    public init(stallTimeout: Double, onStall: (@Sendable (String) -> Void)?) throws {
        var initialized: Int32 = 0
        MPI_Initialized(&initialized)
        if initialized == 0 {
            var provided: Int32 = 0
            let code = MPI_Init_thread(nil, nil, cmpi_thread_multiple(), &provided)
            guard code == cmpi_success() else {
                throw CommunicationError.mpi(call: "MPI_Init_thread", rank: -1, code: code, message: MPICommunicator.errorString(code))
            }
            guard provided >= cmpi_thread_multiple() else { throw CommunicationError.unsupportedThreading(provided: provided) }
        }
        _ = cmpi_errors_return()
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(cmpi_comm_world(), &r)
        MPI_Comm_size(cmpi_comm_world(), &s)
        rank = Int(r)
        size = Int(s)
        localSize = Int(ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"] ?? "") ?? 1
        watchdog = Watchdog(rank: Int(r), timeout: stallTimeout, onStall: onStall)
    }

    /// Ends MPI; call once at the end of a successful run, on every rank.
    public func finalize() {
        watchdog.stop()
        var finalized: Int32 = 0
        MPI_Finalized(&finalized)
        if finalized == 0 { MPI_Finalize() }
    }

    /// Ends every process of the job (after a fatal error on one rank: the others would wait forever).
    public func abort(code: Int32) -> Never {
        MPI_Abort(cmpi_comm_world(), code)
        exit(code)
    }

    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws {
        try call("MPI_Bcast") {
            MPI_Bcast(buffer.baseAddress, Int32(buffer.count), cmpi_byte(), Int32(root), cmpi_comm_world())
        }
    }

    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
        // MPI counts are Int32: large buffers go in pieces.
        try forPieces(buffer.count) { start, count in
            try call("MPI_Allreduce") {
                MPI_Allreduce(cmpi_in_place(), buffer.baseAddress! + start, Int32(count), cmpi_float(), cmpi_sum(), cmpi_comm_world())
            }
        }
    }

    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws {
        try forPieces(buffer.count) { start, count in
            try call("MPI_Allreduce") {
                MPI_Allreduce(cmpi_in_place(), buffer.baseAddress! + start, Int32(count), cmpi_double(), cmpi_sum(), cmpi_comm_world())
            }
        }
    }

    public func allGather(_ value: UInt64) throws -> [UInt64] {
        var mine = value
        var all = [UInt64](repeating: 0, count: size)
        try all.withUnsafeMutableBufferPointer { out in
            try call("MPI_Allgather") {
                MPI_Allgather(&mine, 1, cmpi_uint64(), out.baseAddress, 1, cmpi_uint64(), cmpi_comm_world())
            }
        }
        return all
    }

    public func allGatherV(_ values: [Float]) throws -> [Float] {
        let counts = try allGather(UInt64(values.count)).map { Int32($0) }
        var displacements = [Int32](repeating: 0, count: size)
        for r in 1..<max(1, size) { displacements[r] = displacements[r - 1] + counts[r - 1] }
        var all = [Float](repeating: 0, count: Int(counts.reduce(0, +)))
        try values.withUnsafeBufferPointer { mine in
            try all.withUnsafeMutableBufferPointer { out in
                try call("MPI_Allgatherv") {
                    MPI_Allgatherv(mine.baseAddress, Int32(mine.count), cmpi_float(), out.baseAddress,
                                   counts, displacements, cmpi_float(), cmpi_comm_world())
                }
            }
        }
        return all
    }

    public func barrier() throws {
        try call("MPI_Barrier") { MPI_Barrier(cmpi_comm_world()) }
    }

    private func forPieces(_ count: Int, _ body: (Int, Int) throws -> Void) throws {
        let piece = 1 << 28
        var start = 0
        repeat {
            let n = min(piece, count - start)
            try body(start, n)
            start += n
        } while start < count
    }

    private func call(_ name: String, _ body: () -> Int32) throws {
        let ticket = watchdog.begin(name)
        let code = body()
        watchdog.end(ticket)
        guard code == cmpi_success() else {
            throw CommunicationError.mpi(call: name, rank: rank, code: code, message: MPICommunicator.errorString(code))
        }
    }

    static func errorString(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 512)
        var length: Int32 = 0
        MPI_Error_string(code, &buffer, &length)
        return String(cString: buffer)
    }
}

/// Watches the collectives in flight: one that has not returned after `timeout` seconds is
/// reported once through `onStall`.
final class Watchdog: @unchecked Sendable {
    private let lock = NSLock()
    private var inFlight: [Int: (name: String, start: Double)] = [:]
    private var next = 0
    private var stopped = false
    private let rank: Int
    private let timeout: Double
    private let onStall: (@Sendable (String) -> Void)?

    init(rank: Int, timeout: Double, onStall: (@Sendable (String) -> Void)?) {
        self.rank = rank
        self.timeout = timeout
        self.onStall = onStall
        guard onStall != nil, timeout > 0 else { return }
        let thread = Thread { [weak self] in self?.watch() }
        thread.name = "mpi-watchdog"
        thread.start()
    }

    func begin(_ name: String) -> Int {
        lock.lock(); defer { lock.unlock() }
        next += 1
        inFlight[next] = (name, Date().timeIntervalSince1970)
        return next
    }

    func end(_ ticket: Int) {
        lock.lock(); inFlight[ticket] = nil; lock.unlock()
    }

    func stop() { lock.lock(); stopped = true; lock.unlock() }

    private func watch() {
        while true {
            Thread.sleep(forTimeInterval: min(1, timeout / 4))
            lock.lock()
            if stopped { lock.unlock(); return }
            let now = Date().timeIntervalSince1970
            let stalled = inFlight.values.first { now - $0.start > timeout }
            lock.unlock()
            if let stalled {
                onStall?("rank \(rank): \(stalled.name) has waited \(Int(now - stalled.start)) s for the other ranks "
                    + "(timeout \(Int(timeout)) s): a rank stopped answering; the job is stopped, resume it with --resume")
                return
            }
        }
    }
}
