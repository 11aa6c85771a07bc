// The batch stream the trainer reads: a `BatchProducer` run ahead on a background thread with a
// bounded queue, so that decompression and masking overlap with the training step. The producer
// is deterministic and single-threaded, so prefetching never changes which batches come out.
import Foundation
import Masking
import Sharding

/// Shards -> shuffled, masked, fixed-shape batches, prepared ahead on a background thread.
///
/// ```swift
/// let index = try ShardIndex(directory: URL(fileURLWithPath: "data"))
/// let stream = try BatchStream(index: index, options: options, expectedVocabulary: (vocabSize, vocabSHA))
/// let (batch, position, _) = try stream.next()   // store `position` in a checkpoint to resume
/// ```
public final class BatchStream {
    public let options: BatchStreamOptions
    public let trainSequenceCount: Int
    public let trainFrameCount: Int
    private let heldOutProducer: any BatchProducing

    private let shared = PrefetchQueue()

    /// Opens a stream over `frames` starting at `position` (nil: the beginning).
    public convenience init(frames: SequenceFrames, options: BatchStreamOptions, position: StreamPosition? = nil) throws {
        self.init(producer: try BatchProducer(frames: frames, options: options, position: position))
    }

    /// Opens a stream over several sources mixed by weight (`MixedBatchProducer`).
    public convenience init(mixture: [MixtureSource], options: BatchStreamOptions, position: StreamPosition? = nil) throws {
        self.init(producer: try MixedBatchProducer(sources: mixture, options: options, position: position))
    }

    /// Runs `producer` ahead on a background thread.
    public init(producer: any BatchProducing) {
        self.options = producer.options
        heldOutProducer = producer
        trainSequenceCount = producer.trainSequenceCount
        trainFrameCount = producer.trainFrameCount
        let box = ProducerBox(producer)
        let shared = self.shared
        let capacity = max(1, options.prefetchBatches)
        // The thread owns the producer and the shared queue, never `self`: dropping the stream
        // stops the thread.
        let thread = Thread {
            var reported = 0
            while shared.waitForRoom(capacity) {
                do {
                    let batch = try box.producer.nextBatch()
                    let skipped = Array(box.producer.skippedFrames[reported...])
                    reported = box.producer.skippedFrames.count
                    shared.push((batch, box.producer.position, skipped))
                } catch {
                    shared.fail(error)
                    return
                }
            }
        }
        thread.name = "electra-batch-prefetch"
        thread.start()
    }

    /// Opens a stream over the shards of `index`, after checking that they match what the trainer
    /// expects: the sequence length, and the vocabulary when `expectedVocabulary` is given.
    public convenience init(index: ShardIndex, options: BatchStreamOptions, position: StreamPosition? = nil,
                            expectedVocabulary: (size: Int, sha256: String)? = nil) throws {
        let meta = index.meta
        if meta.maxSeqLength != options.masking.maxSeqLength {
            throw BatchStreamError.mismatch(
                "\(index.directory.path): the shards were built with --max-seq-length \(meta.maxSeqLength), the trainer expects \(options.masking.maxSeqLength); re-shard or change the sequence length")
        }
        if let expected = expectedVocabulary, expected.size != meta.vocabSize || expected.sha256 != meta.vocabSHA256 {
            throw BatchStreamError.mismatch(
                "\(index.directory.path): the shards use a vocabulary of \(meta.vocabSize) tokens (sha256 \(meta.vocabSHA256.prefix(12))), the model expects \(expected.size) tokens (sha256 \(expected.sha256.prefix(12)))")
        }
        var options = options
        options.specials = SpecialTokenIDs(pad: Int32(meta.padID), cls: Int32(meta.clsID),
                                           sep: Int32(meta.sepID), mask: Int32(meta.maskID))
        try self.init(frames: index, options: options, position: position)
    }

    deinit { shared.stop() }

    /// The next batch, the stream position just after it, and the frames skipped as corrupt
    /// while preparing it (only with `skipCorruptFrames`).
    /// - Throws: the reader's error (naming shard and frame) when a frame is damaged.
    public func next() throws -> (batch: MaskedBatch, position: StreamPosition, skippedFrames: [String]) {
        let (batch, position, skipped) = try shared.pop()
        return (batch, position, skipped)
    }

    /// Fixed held-out batches for evaluation (see `BatchProducer.heldOutBatches`).
    public func heldOutBatches(limit: Int) throws -> [(batch: MaskedBatch, realRows: Int)] {
        try heldOutProducer.heldOutBatches(limit: limit)
    }
}

/// The producer, owned by the prefetch thread alone.
private final class ProducerBox: @unchecked Sendable {
    var producer: any BatchProducing
    init(_ producer: any BatchProducing) { self.producer = producer }
}

/// A bounded queue between the prefetch thread and the trainer.
private final class PrefetchQueue: @unchecked Sendable {
    typealias Item = (MaskedBatch, StreamPosition, [String])
    private let condition = NSCondition()
    private var items: [Item] = []
    private var failure: Error?
    private var stopped = false

    /// Waits until the queue has room; false once the stream was dropped.
    func waitForRoom(_ capacity: Int) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while items.count >= capacity && !stopped { condition.wait() }
        return !stopped
    }

    func push(_ item: Item) {
        condition.lock()
        items.append(item)
        condition.broadcast()
        condition.unlock()
    }

    func fail(_ error: Error) {
        condition.lock()
        failure = error
        condition.broadcast()
        condition.unlock()
    }

    func pop() throws -> Item {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty && failure == nil { condition.wait() }
        if items.isEmpty, let failure { throw failure }
        let item = items.removeFirst()
        condition.broadcast()
        return item
    }

    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }
}
