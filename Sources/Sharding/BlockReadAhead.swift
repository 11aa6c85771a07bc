// Reading a large plain input on a thread of its own, a bounded number of blocks ahead of the
// packing thread: the read() calls and the copy of each block then leave the packing thread,
// whose work is what a sharding run cannot spread over the workers.
import Corpus
import Foundation

/// Runs `reader.forEachBlock` on its own thread; `next()` hands out the blocks in order.
final class BlockReadAhead {
    private let condition = NSCondition()
    private var queue: [(bytes: [UInt8], bytesRead: Int)] = []
    private var head = 0
    private var finished = false
    private var cancelled = false
    private var failure: Error?
    private let limit: Int
    private var cpu = 0.0
    private struct Cancelled: Error {}

    /// Starts reading; at most `limit` blocks wait unread by `next()`.
    init(_ reader: LineReader, limit: Int) {
        self.limit = max(1, limit)
        let thread = Thread { [self] in
            do {
                try reader.forEachBlock { block in
                    let bytes = Array(block)
                    condition.lock()
                    defer { condition.unlock() }
                    while queue.count - head >= self.limit && !cancelled { condition.wait() }
                    if cancelled { throw Cancelled() }
                    queue.append((bytes, reader.bytesRead))
                    condition.broadcast()
                }
            } catch is Cancelled {
            } catch {
                condition.lock(); failure = error; condition.unlock()
            }
            let used = threadCPUSeconds()
            condition.lock()
            cpu = used
            finished = true
            condition.broadcast()
            condition.unlock()
        }
        thread.name = "electra-shard-read"
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// The next block and the reader's `bytesRead` after it; nil at the end (the reader's
    /// hash and counts are then final). Rethrows the reader's error in its place.
    func next() throws -> (bytes: [UInt8], bytesRead: Int)? {
        condition.lock()
        defer { condition.unlock() }
        while head == queue.count && !finished { condition.wait() }
        if head < queue.count {
            let item = queue[head]
            queue[head] = ([], 0)
            head += 1
            if head >= 64 && head * 2 >= queue.count { queue.removeFirst(head); head = 0 }
            condition.broadcast()
            return item
        }
        if let failure { throw failure }
        return nil
    }

    /// The reading thread's CPU seconds, once `next()` returned nil.
    var cpuSeconds: Double { condition.lock(); defer { condition.unlock() }; return cpu }

    /// Stops the thread (the packing thread gave up on this input) and waits for it.
    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }
}
