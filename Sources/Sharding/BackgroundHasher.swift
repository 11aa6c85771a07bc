// SHA-256 of large plain inputs on a thread of its own: the packing thread hands it the blocks it
// also hands the tokenizers (the same arrays, no copy) and collects the digest when the input's
// end is packed, so hashing is no longer part of the serial path of a sharding run.
import Corpus
import Crypto
import Foundation

/// Hashes a sequence of inputs, each a sequence of blocks, in order, on its own thread.
final class BackgroundHasher {
    private let condition = NSCondition()
    private var queue: [[UInt8]?] = []   // nil ends an input
    private var head = 0
    private var digests: [String] = []
    private var inputs = 0
    private var stopping = false
    private var running = true
    private var cpu = 0.0

    /// The thread's CPU seconds, once `stop()` returned.
    var cpuSeconds: Double { condition.lock(); defer { condition.unlock() }; return cpu }

    init() {
        let thread = Thread { [unowned self] in self.loop() }
        thread.name = "electra-shard-hash"
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Appends a block of the current input.
    func add(_ block: [UInt8]) {
        condition.lock()
        queue.append(block)
        condition.signal()
        condition.unlock()
    }

    /// Ends the current input; returns the ticket of its digest.
    func endInput() -> Int {
        condition.lock()
        defer { condition.unlock() }
        queue.append(nil)
        condition.signal()
        inputs += 1
        return inputs - 1
    }

    /// The hex SHA-256 of input `ticket` (waits for it).
    func digest(_ ticket: Int) -> String {
        condition.lock()
        defer { condition.unlock() }
        while digests.count <= ticket { condition.wait() }
        return digests[ticket]
    }

    /// Stops the thread (after what is queued).
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while running { condition.wait() }
        condition.unlock()
    }

    deinit { if running { stop() } }

    private func loop() {
        var hasher = SHA256()
        while true {
            condition.lock()
            while head == queue.count && !stopping { condition.wait() }
            if head == queue.count {
                cpu = threadCPUSeconds()
                running = false
                condition.broadcast()
                condition.unlock()
                return
            }
            let item = queue[head]
            queue[head] = nil
            head += 1
            if head > 256 && head * 2 > queue.count { queue.removeFirst(head); head = 0 }
            condition.unlock()
            if let block = item {
                block.withUnsafeBytes { hasher.update(bufferPointer: $0) }
            } else {
                let digest = hexString(hasher.finalize())
                hasher = SHA256()
                condition.lock()
                digests.append(digest)
                condition.broadcast()
                condition.unlock()
            }
        }
    }
}
