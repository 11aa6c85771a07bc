// Sums the flat gradient buffer over ranks, in buckets handed over as the backward pass finishes
// them (the last layers' gradients are ready first), on a communication thread so the sum of one
// bucket overlaps the backward of the layers below. Open MPI has no progress thread: a
// non-blocking all-reduce would only advance inside MPI calls, so the thread makes blocking ones.
import Foundation

public final class GradientReducer: @unchecked Sendable {
    /// Whether buckets are reduced while the backward pass goes on (false: all at the end).
    public let overlap: Bool
    private let communicator: Communicator
    private let condition = NSCondition()
    private var queue: [UnsafeMutableBufferPointer<Float>] = []
    private var submitted = 0
    private var reduced = 0
    private var failure: Error?
    private var stopping = false
    private var thread: Thread?
    /// Seconds spent inside all-reduce (on the communication thread) since the last `finish`.
    private var reduceSeconds = 0.0
    /// Bytes reduced since the last `finish`.
    private var bytes = 0

    public struct StepReport: Sendable, Equatable {
        /// Seconds the step waited for communication after its backward pass (not hidden).
        public var waitSeconds: Double
        /// Seconds spent in all-reduce in all.
        public var reduceSeconds: Double
        /// Bytes summed.
        public var bytes: Int
        /// The share of all-reduce time the overlap hid, 0...1.
        public var hiddenFraction: Double { reduceSeconds > 0 ? max(0, 1 - waitSeconds / reduceSeconds) : 0 }
    }

    public init(communicator: Communicator, overlap: Bool) {
        self.communicator = communicator
        self.overlap = overlap && communicator.size > 1
        if self.overlap {
            let t = Thread { [weak self] in self?.serve() }
            t.name = "gradient-allreduce"
            t.stackSize = 1 << 20
            thread = t
            t.start()
        }
    }

    deinit { stop() }

    /// Hands over one finished bucket. Every rank must submit the same buckets in the same order.
    public func submit(_ bucket: UnsafeMutableBufferPointer<Float>) {
        guard communicator.size > 1 else { return }
        condition.lock()
        queue.append(bucket)
        submitted += 1
        if !overlap { condition.unlock(); return }
        condition.signal()
        condition.unlock()
    }

    /// Waits until every submitted bucket is summed (reducing them now when not overlapping).
    public func finish() throws -> StepReport {
        guard communicator.size > 1 else { return StepReport(waitSeconds: 0, reduceSeconds: 0, bytes: 0) }
        let start = Date()
        if !overlap {
            condition.lock(); let work = queue; queue.removeAll(); condition.unlock()
            for bucket in work { try reduce(bucket) }
            reduced = submitted
        } else {
            condition.lock()
            while reduced < submitted && failure == nil { condition.wait() }
            condition.unlock()
        }
        let wait = Date().timeIntervalSince(start)
        condition.lock(); defer { condition.unlock() }
        if let failure { throw failure }
        let report = StepReport(waitSeconds: wait, reduceSeconds: reduceSeconds, bytes: bytes)
        reduceSeconds = 0
        bytes = 0
        return report
    }

    /// Stops the communication thread.
    public func stop() {
        condition.lock(); stopping = true; condition.broadcast(); condition.unlock()
    }

    private func reduce(_ bucket: UnsafeMutableBufferPointer<Float>) throws {
        let t = Date()
        try communicator.allReduceSum(bucket)
        let seconds = Date().timeIntervalSince(t)
        condition.lock(); reduceSeconds += seconds; bytes += bucket.count * 4; condition.unlock()
    }

    private func serve() {
        while true {
            condition.lock()
            while queue.isEmpty && !stopping { condition.wait() }
            if stopping { condition.unlock(); return }
            let bucket = queue.removeFirst()
            condition.unlock()
            do {
                try reduce(bucket)
                condition.lock(); reduced += 1; condition.broadcast(); condition.unlock()
            } catch {
                condition.lock(); failure = error; condition.broadcast(); condition.unlock()
                return
            }
        }
    }
}
