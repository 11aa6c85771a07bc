// The deterministic core of the batch stream: which sequence comes next, and how it is masked.
// Shuffling is two-level, as in Megatron-style loaders: a seeded permutation of the training
// frames per epoch, then the sequences of a window of consecutive (permuted) frames shuffled
// together. Both levels are derived from (seed, epoch, window), and each sequence's masks from
// (seed, its index in the stream), so the stream's whole position is a few integers: restored,
// it yields exactly the same batches, and any process can mask any row of a batch alike.
import Masking
import Randomness
import Sharding

/// Frames of packed sequences that can be read in any order (the shard index, or a test double).
public protocol SequenceFrames: AnyObject {
    var frameCount: Int { get }
    /// A stable key of a frame (for the held-out rule): the same for the same data.
    func key(ofFrame frame: Int) -> UInt64
    func sequenceCount(ofFrame frame: Int) -> Int
    /// Reads one frame; errors name the shard and the frame.
    func read(frame: Int) throws -> [PackedSequence]
}

extension ShardIndex: SequenceFrames {
    public var frameCount: Int { frames.count }
    public func key(ofFrame frame: Int) -> UInt64 { UInt64(frames[frame].firstSequence) }
    public func sequenceCount(ofFrame frame: Int) -> Int { frames[frame].count }
    public func read(frame: Int) throws -> [PackedSequence] { try readFrame(frames[frame]) }
}

/// Settings of a batch stream.
public struct BatchStreamOptions: Codable, Equatable, Sendable {
    public var batchSize = 128
    public var masking = MaskingOptions()
    public var specials = SpecialTokenIDs()
    public var seed: UInt64 = 0
    /// Frames whose sequences are shuffled together (the shuffle buffer, in frames).
    public var shuffleWindowFrames = 8
    /// Share of frames held out for evaluation (at least one frame when there are two or more).
    public var heldOutFraction = 0.01
    /// Batches prepared ahead by the background thread.
    public var prefetchBatches = 4
    /// Skip a frame that fails its checksum (counted) instead of stopping.
    public var skipCorruptFrames = false

    public init() {}
}

/// Where a stream stands: enough to continue with exactly the batches it would have produced.
/// The frame permutation and the window shuffle are derived from (`seed`, `epoch`, `window`) and
/// each sequence's masks from (`seed`, its index in the stream), so the position is a few integers.
public struct StreamPosition: Codable, Equatable, Sendable {
    /// The permutation seed the position belongs to (the stream's `options.seed`).
    public var seed: UInt64?
    public var epoch = 0
    /// Index of the current window in this epoch's frame permutation.
    public var window = 0
    /// Sequences of the current window already consumed.
    public var offset = 0
    /// Sequences consumed since the run began: the global index of the next one, which keys its
    /// masks (`maskGenerator`).
    public var sequencesConsumed = 0
    /// A mixture of shard directories (`MixedBatchProducer`): each source's own position, whose
    /// `sequencesConsumed` counts the sequences taken from it; nil for a single directory.
    public var sources: [StreamPosition]?

    public init(seed: UInt64) {
        self.seed = seed
    }
}

/// The generator that masks sequence `index` of the stream seeded with `seed` (training), or
/// held-out sequence `index` (`heldOut`, the same at every evaluation).
public func maskGenerator(seed: UInt64, index: Int, heldOut: Bool = false) -> Xoshiro256 {
    Xoshiro256(seed: derivedKey(seed, heldOut ? 0x6576_616C : 0x6D61_736B, UInt64(index)))   // "eval" / "mask"

}

/// Fisher-Yates over our own generator, so that the order depends only on the seed (the
/// standard library's `shuffle(using:)` does not promise the same order across releases).
/// - Complexity: O(n).
@inlinable
public func seededShuffle<T>(_ elements: inout [T], using rng: inout Xoshiro256) {
    var i = elements.count
    while i > 1 {
        let j = rng.uniform(below: i)
        i -= 1
        elements.swapAt(i, j)
    }
}

/// The held-out rule: frames sorted by a hash of their key; the first `ceil(fraction * frames)`
/// (at least one when there are two or more frames and the fraction is positive) are held out.
public func heldOutFrames(_ frames: SequenceFrames, fraction: Double) -> Set<Int> {
    let n = frames.frameCount
    guard fraction > 0, n >= 2 else { return [] }
    let count = min(n - 1, max(1, Int((fraction * Double(n)).rounded(.up))))
    let ranked = (0..<n).sorted {
        let a = splitMix64(frames.key(ofFrame: $0)), b = splitMix64(frames.key(ofFrame: $1))
        return a != b ? a < b : $0 < $1
    }
    return Set(ranked.prefix(count))
}

/// Problems of a stream, each naming what to do.
public enum BatchStreamError: Error, CustomStringConvertible {
    case noTrainingData(String)
    case mismatch(String)

    public var description: String {
        switch self {
        case .noTrainingData(let why): return "no training sequences: \(why)"
        case .mismatch(let why): return why
        }
    }
}

/// A deterministic source of masked batches with a resumable position (one shard directory,
/// or a mixture of several).
public protocol BatchProducing {
    var options: BatchStreamOptions { get }
    var position: StreamPosition { get }
    var skippedFrames: [String] { get }
    var trainSequenceCount: Int { get }
    var trainFrameCount: Int { get }
    mutating func nextBatch() throws -> MaskedBatch
    func heldOutBatches(limit: Int) throws -> [(batch: MaskedBatch, realRows: Int)]
}

/// Produces masked batches synchronously and deterministically from a position.
public struct BatchProducer: BatchProducing {
    public let options: BatchStreamOptions
    public private(set) var position: StreamPosition
    public private(set) var skippedFrames: [String] = []
    let frames: SequenceFrames
    let trainFrames: [Int]
    var masker: Masker
    var windowSequences: [PackedSequence] = []
    var windowLoaded = false
    /// The frame permutation of `permutationEpoch`, computed once per epoch.
    var permutation: [Int] = []
    var permutationEpoch = -1

    public init(frames: SequenceFrames, options: BatchStreamOptions, position: StreamPosition? = nil) throws {
        self.frames = frames
        self.options = options
        let held = heldOutFrames(frames, fraction: options.heldOutFraction)
        trainFrames = (0..<frames.frameCount).filter { !held.contains($0) && frames.sequenceCount(ofFrame: $0) > 0 }
        guard !trainFrames.isEmpty else {
            throw BatchStreamError.noTrainingData("the shards hold \(frames.frameCount) frame(s), none left for training")
        }
        if let position {
            if let seed = position.seed, seed != options.seed {
                throw BatchStreamError.mismatch(
                    "the saved stream position belongs to seed \(seed), the stream was opened with seed \(options.seed); resume with the same --seed")
            }
            if let sources = position.sources {
                throw BatchStreamError.mismatch(
                    "the saved stream position is of a mixture of \(sources.count) shard directories, this run reads one; resume with the run's --shards")
            }
            guard position.epoch >= 0, position.window >= 0, position.offset >= 0,
                  position.window < (trainFrames.count + options.shuffleWindowFrames - 1) / options.shuffleWindowFrames
            else {
                throw BatchStreamError.mismatch(
                    "the saved stream position (epoch \(position.epoch), window \(position.window), offset \(position.offset)) does not fit these shards (\(trainFrames.count) training frames); resume over the shards the run started with")
            }
        }
        self.position = position ?? StreamPosition(seed: options.seed)
        masker = Masker(options: options.masking, specials: options.specials)
    }

    /// Number of training sequences per epoch.
    public var trainSequenceCount: Int { trainFrames.reduce(0) { $0 + frames.sequenceCount(ofFrame: $1) } }
    public var trainFrameCount: Int { trainFrames.count }

    private var windowsPerEpoch: Int {
        (trainFrames.count + options.shuffleWindowFrames - 1) / options.shuffleWindowFrames
    }

    /// The training frames of window `w` of `epoch`, in permuted order.
    /// - Complexity: O(frames) once per epoch, O(window) otherwise.
    private mutating func windowFrames(epoch: Int, window w: Int) -> ArraySlice<Int> {
        if permutationEpoch != epoch {
            permutation = trainFrames
            var rng = Xoshiro256(seed: options.seed, stream: 0x6570_6F63_6800_0000 &+ UInt64(epoch))
            seededShuffle(&permutation, using: &rng)
            permutationEpoch = epoch
        }
        let start = w * options.shuffleWindowFrames
        return permutation[start..<min(permutation.count, start + options.shuffleWindowFrames)]
    }

    private mutating func loadWindow() throws {
        windowSequences.removeAll(keepingCapacity: true)
        for frame in windowFrames(epoch: position.epoch, window: position.window) {
            do {
                windowSequences.append(contentsOf: try frames.read(frame: frame))
            } catch {
                guard options.skipCorruptFrames else { throw error }
                skippedFrames.append("\(error)")
            }
        }
        var rng = Xoshiro256(seed: options.seed,
                             stream: 0x7769_6E00_0000_0000 &+ UInt64(position.epoch) << 24 &+ UInt64(position.window))
        seededShuffle(&windowSequences, using: &rng)
        windowLoaded = true
    }

    /// The next training sequence, advancing epoch and window as needed.
    private mutating func nextSequence() throws -> PackedSequence {
        var emptyWindows = 0
        while true {
            if !windowLoaded { try loadWindow() }
            if position.offset < windowSequences.count {
                position.offset += 1
                return windowSequences[position.offset - 1]
            }
            emptyWindows += windowSequences.isEmpty ? 1 : 0
            if emptyWindows > windowsPerEpoch {
                throw BatchStreamError.noTrainingData("every training frame was skipped as corrupt")
            }
            position.window += 1
            position.offset = 0
            windowLoaded = false
            if position.window >= windowsPerEpoch {
                position.window = 0
                position.epoch += 1
            }
        }
    }

    /// The next training sequence, counted in `position.sequencesConsumed` (a mixture's source).
    mutating func nextCountedSequence() throws -> PackedSequence {
        let sequence = try nextSequence()
        position.sequencesConsumed += 1
        return sequence
    }

    /// The next training batch.
    public mutating func nextBatch() throws -> MaskedBatch {
        var batch = MaskedBatch(batchSize: options.batchSize, seqLength: options.masking.maxSeqLength,
                                maxPredictions: options.masking.maxPredictions)
        for row in 0..<options.batchSize {
            let sequence = try nextSequence()
            var rng = maskGenerator(seed: options.seed, index: position.sequencesConsumed)
            position.sequencesConsumed += 1
            masker.fill(&batch, row: row, tokens: sequence.tokens, segmentBStart: sequence.segmentBStart, rng: &rng)
        }
        return batch
    }

    /// The held-out sequences as batches, in a fixed order with fixed masks (the same every
    /// evaluation), at most `limit` batches. The last batch is completed by repeating sequences
    /// from the start; `realRows` tells how many rows are new, so metrics can ignore the rest.
    public func heldOutBatches(limit: Int) throws -> [(batch: MaskedBatch, realRows: Int)] {
        heldOutBatchesOf(try heldOutSequences(limit: limit * options.batchSize), options: options)
    }

    /// The first `limit` held-out sequences, in frame order.
    func heldOutSequences(limit wanted: Int) throws -> [PackedSequence] {
        let held = heldOutFrames(frames, fraction: options.heldOutFraction).sorted()
        var sequences: [PackedSequence] = []
        for frame in held where sequences.count < wanted {
            sequences.append(contentsOf: try frames.read(frame: frame))
        }
        return Array(sequences.prefix(wanted))
    }
}

/// Held-out sequences as fixed batches: sequence i masked with the "eval" key of i, the last
/// batch completed by repeating from the start.
func heldOutBatchesOf(_ sequences: [PackedSequence], options: BatchStreamOptions) -> [(batch: MaskedBatch, realRows: Int)] {
    guard !sequences.isEmpty else { return [] }
    var masker = Masker(options: options.masking, specials: options.specials)
    var batches: [(MaskedBatch, Int)] = []
    var start = 0
    while start < sequences.count {
        var batch = MaskedBatch(batchSize: options.batchSize, seqLength: options.masking.maxSeqLength,
                                maxPredictions: options.masking.maxPredictions)
        let real = min(options.batchSize, sequences.count - start)
        for row in 0..<options.batchSize {
            let index = (start + row) % sequences.count
            let s = sequences[index]
            var rng = maskGenerator(seed: options.seed, index: index, heldOut: true)
            masker.fill(&batch, row: row, tokens: s.tokens, segmentBStart: s.segmentBStart, rng: &rng)
        }
        batches.append((batch, real))
        start += options.batchSize
    }
    return batches
}
