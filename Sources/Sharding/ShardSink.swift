// The writing end of a sharding run, on its own thread: appends compressed frames (the pool's
// workers compress them) to the open shard file, publishes finished shards (fsync + rename) and
// commits them to the index, in the order the packing thread decided.
import Foundation

/// Commands from the packing thread, executed in order.
enum SinkCommand {
    /// Append one compressed frame to the open shard (opening a new one when none is open).
    case frame(CompressedFrame)
    /// Finish the open shard (if any): footer, fsync, rename into place.
    case closeShard
    /// Commit every finished, uncommitted shard together with these sources.
    case commit([SourceRecord])
}

/// Executes `SinkCommand`s on a dedicated thread; errors come back on the next `send` or `finish`.
final class ShardSink {
    private let index: IndexWriter
    private let outputDirectory: URL
    private let header: ShardHeader
    private let condition = NSCondition()
    private var queue: [SinkCommand] = []
    private var finishing = false
    private var abandonAtEnd = false
    private var done = false
    private var failure: Error?
    /// Commands queued at most (compressed frames of about 100 KB): enough that an fsync at the
    /// end of a shard does not stall the packing thread.
    private let maxQueued = 32
    private var thread: Thread?

    // Sink-thread state.
    private var openShard: (number: Int, writer: ShardFileWriter)?
    private var pendingShards: [(number: Int, shard: WrittenShard)] = []
    private var shardFiles = 0
    /// Test hook: fail with `ShardBuilder.SimulatedCrash` once this many shard files were renamed.
    let crashAfterShardFiles: Int?

    // Read by the packing thread under the lock.
    private(set) var shardsWritten = 0
    private(set) var shardBytes = 0
    /// The writer thread's CPU seconds, set when it stops.
    private(set) var cpuSeconds = 0.0

    init(index: IndexWriter, outputDirectory: URL, header: ShardHeader, crashAfterShardFiles: Int?) {
        self.index = index
        self.outputDirectory = outputDirectory
        self.header = header
        self.crashAfterShardFiles = crashAfterShardFiles
        let thread = Thread { [unowned self] in self.loop() }
        thread.name = "electra-shard-writer"
        thread.stackSize = 4 << 20
        self.thread = thread
        thread.start()
    }

    /// Queues a command (waits while too many frames are queued); rethrows an earlier failure.
    func send(_ command: SinkCommand) throws {
        condition.lock()
        defer { condition.unlock() }
        while queue.count >= maxQueued && failure == nil { condition.wait() }
        if let failure { throw failure }
        queue.append(command)
        condition.broadcast()
    }

    /// Waits until every queued command ran and stops the thread; rethrows a failure.
    /// - Parameter abandoningOpenShard: delete the open shard's temporary file (the run failed).
    func finish(abandoningOpenShard: Bool = false) throws {
        condition.lock()
        finishing = true
        abandonAtEnd = abandoningOpenShard
        condition.broadcast()
        while !done { condition.wait() }
        let failure = self.failure
        condition.unlock()
        if let failure { throw failure }
    }

    private func loop() {
        while true {
            condition.lock()
            while queue.isEmpty && !finishing { condition.wait() }
            if queue.isEmpty || failure != nil {
                if abandonAtEnd { abandonUncommitted() }
                cpuSeconds = threadCPUSeconds()
                done = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let command = queue.removeFirst()
            condition.broadcast()
            condition.unlock()
            do {
                try execute(command)
            } catch {
                // The shards not committed go (on a full disk their space comes back); after a
                // simulated crash the files stay, as after kill -9.
                if !(error is ShardBuilder.SimulatedCrash) { abandonUncommitted() }
                openShard = nil
                condition.lock()
                failure = error
                queue.removeAll()
                done = true
                condition.broadcast()
                condition.unlock()
                return
            }
        }
    }

    /// Deletes the open shard's temporary file and the shard files finished but not committed
    /// (the index never lists them; a later run would remove them as orphans).
    private func abandonUncommitted() {
        openShard?.writer.abandon()
        openShard = nil
        for (_, shard) in pendingShards { unlink(outputDirectory.appendingPathComponent(shard.path).path) }
        pendingShards.removeAll()
    }

    private func execute(_ command: SinkCommand) throws {
        switch command {
        case .frame(let frame):
            if openShard == nil {
                let number = index.takeShardNumber()
                openShard = (number, try ShardFileWriter(outputDirectory: outputDirectory, number: number, header: header))
            }
            try openShard!.writer.appendFrame(frame)
        case .closeShard:
            guard let (number, writer) = openShard else { return }
            let shard = try writer.finish()
            openShard = nil
            pendingShards.append((number, shard))
            shardFiles += 1
            condition.lock()
            shardsWritten += 1
            shardBytes += shard.bytes
            condition.unlock()
            if let limit = crashAfterShardFiles, shardFiles >= limit { throw ShardBuilder.SimulatedCrash() }
        case .commit(let sources):
            guard !pendingShards.isEmpty || !sources.isEmpty else { return }
            try index.commit(shards: pendingShards, sources: sources)
            pendingShards.removeAll()
        }
    }
}
