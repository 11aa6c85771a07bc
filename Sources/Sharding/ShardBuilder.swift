// `electra-prep shard` as a library: streams corpus sources through the worker pool (tokenizing,
// reading ahead across inputs so that many small files keep every thread busy), plans the packing
// of the lines in input order (PackPlanner: ExampleBuilder's rules), has the pool assemble and
// compress the frames, writes zstd shards and
// commits them to the SQLite index at source boundaries, so that an interrupted run is finished
// by running it again. The packing thread (ShardPipeline.swift) decides every byte, in order.
import Corpus
import Foundation
import Tokenization

/// The vocabulary facts sharding needs (what the index records and the packing uses).
public struct ShardVocabulary: Sendable {
    public var tokens: [String]
    /// Hex SHA-256 of the vocabulary file.
    public var sha256: String
    public var padID: UInt32, unkID: UInt32, clsID: UInt32, sepID: UInt32, maskID: UInt32
    /// The tokenizer options as canonical JSON.
    public var tokenizerOptions: String

    /// Finds the special tokens in `tokens`.
    /// - Throws: `ShardingError.badVocabulary` when [PAD], [UNK], [CLS], [SEP] or [MASK] is missing.
    public init(tokens: [String], sha256: String, tokenizerOptions: String, name: String = "the vocabulary") throws {
        switch Vocabulary.specialTokenIDs(in: tokens) {
        case .failure(let missing):
            throw ShardingError.badVocabulary("\(name): lacks \(missing.names.joined(separator: ", ")); shards need [CLS] and [SEP] to frame examples (build one with `electra-prep build-vocab`)")
        case .success(let ids):
            (padID, unkID, clsID, sepID, maskID) = ids
        }
        self.tokens = tokens
        self.sha256 = sha256
        self.tokenizerOptions = tokenizerOptions
    }
}

/// Settings of a sharding run.
public struct ShardingOptions: Sendable {
    /// Tokens per example, [CLS]/[SEP] included (ELECTRA-Small: 128).
    public var maxSeqLength = 128
    /// Seeds every random draw of the packing.
    public var seed: UInt64 = 0
    /// Worker threads: tokenization, assembling and compressing frames (packing decisions run on
    /// the calling thread; writing, hashing and reading a large input on one more each).
    public var threads = ProcessInfo.processInfo.activeProcessorCount
    /// Sequences per zstd frame (the unit a reader seeks to).
    public var sequencesPerFrame = 1024
    /// Frames per shard file.
    public var framesPerShard = 64
    /// zstd compression level.
    public var compressionLevel: Int32 = 3
    /// Bytes read at a time (blocks of whole lines handed to the tokenizer threads).
    public var blockSize = 1 << 20
    /// Refuse a JSONL input with a bad line (else bad lines are skipped, counted and named).
    public var strict = false
    /// Lossless (every token kept) or the original's rules (overflow dropped).
    public var packing = Packing.lossless

    public init() {}
}

/// What a sharding run reports while it works.
public enum ShardingEvent {
    /// Shard files an interrupted run left behind were deleted (their inputs are sharded again).
    case removedIncompleteShards([String])
    /// An input was not sharded; the reason says why (already indexed, unreadable, binary...).
    /// `refused` is true when it was bad (not merely already sharded).
    case skipped(path: String, reason: String, refused: Bool)
    /// Something the user should know that does not stop the run.
    case warning(String)
    /// Reading and tokenizing progress.
    case progress(ShardingProgress)
    /// One input is done (its record will be committed with the shard that holds its end).
    case finishedSource(SourceRecord)
}

/// Progress of a run.
public struct ShardingProgress: Sendable {
    public var sourcePath: String
    public var sourceIndex: Int
    public var sourceCount: Int
    public var sourceTotalBytes: Int?
    /// Bytes read in this run, all sources together, and their total when known.
    public var bytesRead: Int
    public var totalBytes: Int?
    public var sequences: Int
    public var tokens: Int
}

/// Totals of a run.
public struct ShardingSummary: Sendable {
    public var sourcesSharded = 0
    /// Inputs not sharded: already indexed, or refused (`sourcesRefused` of them).
    public var sourcesSkipped = 0
    /// Inputs not sharded because they were bad (binary, unreadable, damaged compression).
    public var sourcesRefused = 0
    /// Lines that held a NUL byte or invalid UTF-8 (sharded, with those bytes dropped).
    public var damagedLines = 0
    /// JSONL lines skipped as bad.
    public var badRecords = 0
    public var sequences = 0
    /// Tokens of the sequences written, [CLS] and [SEP] included.
    public var tokens = 0
    /// Tokens of the inputs' text, and those of them that reached no sequence (`original`
    /// packing: cut from lines longer than an example, or from the overflow of examples).
    public var inputTokens = 0
    public var droppedLongLineTokens = 0
    public var droppedOverflowTokens = 0
    public var shardsWritten = 0
    /// Bytes read from the inputs (compressed bytes for .zst/.gz, skipped inputs included).
    public var bytesRead = 0
    /// Bytes of text tokenized (after decompression).
    public var textBytes = 0
    public var shardBytes = 0
    /// Where the run's time went, thread by thread (see `ShardTimings`).
    public var timings = ShardTimings()
}

/// The CPU seconds each thread of a sharding run used, against the run's wall seconds: a thread
/// busy nearly all the wall time is what limits the run (the workers scale with --threads, the
/// others do not).
public struct ShardTimings: Sendable {
    /// Seconds from the start of `run` to its end, and to the first block handed to the workers
    /// (opening the index, statting and pre-hashing inputs).
    public var wallSeconds = 0.0
    public var firstBlockSeconds = 0.0
    /// The calling thread: reading small inputs, packing, handing out work.
    public var packingCPU = 0.0
    /// The read-ahead threads of large plain inputs, summed.
    public var readingCPU = 0.0
    /// SHA-256 of large plain inputs.
    public var hashingCPU = 0.0
    /// Appending frames, finishing shard files, committing the index.
    public var writingCPU = 0.0
    /// Each worker: tokenizing blocks, assembling and compressing frames.
    public var workerCPU: [Double] = []

    public init() {}
}

/// CPU seconds used so far by the calling thread.
func threadCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

/// Seconds on a monotonic clock (as the trainer's timings).
func monotonicSeconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

/// Shards a corpus into an output directory (see data/FORMAT.md).
///
/// ```swift
/// let builder = try ShardBuilder(outputDirectory: out, vocabulary: vocab, options: options) { MyEncoder() }
/// let summary = try builder.run(sources: try expandCorpusArguments(["corpus/"])) { event in ... }
/// ```
public final class ShardBuilder {
    public let outputDirectory: URL
    public let vocabulary: ShardVocabulary
    public let options: ShardingOptions
    public private(set) var meta: ShardMeta
    let makeEncoder: () -> any LineEncoder

    /// Test hook: throw `SimulatedCrash` right after this many shard files were renamed into
    /// place, before they are committed, leaving the temporary file of the open shard behind
    /// as a killed process would.
    var crashAfterShardFiles: Int?
    struct SimulatedCrash: Error {}
    /// Polled before each block of input is handed out (electra-prep: SIGINT or SIGTERM arrived):
    /// `run` finishes the work handed out (committing what reached a commit point, as an
    /// uninterrupted run would), removes the files of shards not committed, and throws
    /// `ShardingError.stopped`: a rerun gives the bytes of an uninterrupted run.
    public var stopRequested: () -> Bool = { false }

    public init(outputDirectory: URL, vocabulary: ShardVocabulary, options: ShardingOptions,
                makeEncoder: @escaping () -> any LineEncoder) throws {
        guard options.maxSeqLength >= 5 && options.maxSeqLength <= 65_535 else {
            throw ShardingError.invalidOption("--max-seq-length must be between 5 and 65535 (got \(options.maxSeqLength))")
        }
        guard options.sequencesPerFrame >= 1, options.framesPerShard >= 1, options.threads >= 1, options.blockSize >= 1 else {
            throw ShardingError.invalidOption("sequences per frame, frames per shard, threads and block size must be at least 1")
        }
        self.outputDirectory = outputDirectory
        self.vocabulary = vocabulary
        self.options = options
        self.makeEncoder = makeEncoder
        meta = ShardMeta(vocabSize: vocabulary.tokens.count, vocabSHA256: vocabulary.sha256, padID: vocabulary.padID,
                         unkID: vocabulary.unkID, clsID: vocabulary.clsID, sepID: vocabulary.sepID,
                         maskID: vocabulary.maskID, tokenizerOptions: vocabulary.tokenizerOptions,
                         maxSeqLength: options.maxSeqLength, seed: options.seed)
        meta.packing = options.packing
        continuation = vocabulary.tokens.map { $0.hasPrefix("##") }
    }

    /// Per id: true for a word's continuation piece ("##..."), where a long sentence is not cut.
    let continuation: [Bool]

    // MARK: run state (the packing thread's; the sink owns the files and the index)
    var index: IndexWriter!
    var sink: ShardSink!
    var pool: WorkPool!
    var hasher: BackgroundHasher!
    /// Plain files of at least this size are hashed on the BackgroundHasher's thread.
    var backgroundHashMinimum = 4 << 20
    /// The examples of the frame being filled (assembled by a worker when it is sent).
    var framePlan = FramePlan()
    /// The ids of the tokenized blocks that waiting sentences or the open frame may point into:
    /// `liveBlocks[i]` is block serial `liveBase + i`.
    var liveBlocks: [[UInt32]] = []
    var liveBase = 0
    /// Frames and sequences sent to the sink since its last shard was closed.
    var framesInOpenShard = 0
    var sequencesInOpenShard = 0
    /// Sources finished but not yet sent for commit.
    var uncommittedSources: [SourceRecord] = []
    /// Known inputs (index + this run), kept here so that only the sink touches the index.
    var knownHashes: [String: String] = [:]
    var knownSizes = Set<Int>()
    /// Sources accepted so far (index + this run): the next one's random stream.
    var sourceOrdinal = 0
    var sequenceCount = 0
    /// Inputs given to this run (for progress).
    var inputCount = 0
    var summary = ShardingSummary()
    /// Work handed out and not yet consumed, in order (see ShardPipeline.swift).
    var pending: [PendingWork] = []
    var pendingHead = 0
    var report: (ShardingEvent) -> Void = { _ in }
    /// `monotonicSeconds()` at the start of `run`.
    var runStart = 0.0

    /// Shards `sources` (in order), skipping those whose content is already indexed.
    /// - Throws: `ShardingError` (options differ from the index, I/O), `CorpusError` (a JSONL
    ///   bad line with `strict`, a read error in the middle of an input).
    /// - Complexity: O(corpus) time; memory O(threads x block size + one shard's frame table).
    public func run(sources: [CorpusSource], progress: @escaping (ShardingEvent) -> Void = { _ in }) throws -> ShardingSummary {
        report = progress
        summary = ShardingSummary()
        runStart = monotonicSeconds()
        let cpuStart = threadCPUSeconds()
        index = try IndexWriter(directory: outputDirectory, meta: meta, vocabularyTokens: vocabulary.tokens)
        // The writer thread may hold the index a moment longer than this call: unlock explicitly
        // (the sink has finished by then, on every path).
        defer { index.unlock(); index = nil }
        if !index.removedOrphans.isEmpty { report(.removedIncompleteShards(index.removedOrphans)) }
        knownHashes = index.knownSources
        knownSizes = index.knownSizes
        sourceOrdinal = index.sourceCount
        sequenceCount = index.sequenceCount
        framePlan = FramePlan(clsID: vocabulary.clsID, sepID: vocabulary.sepID)
        liveBlocks = []; liveBase = 0
        framesInOpenShard = 0; sequencesInOpenShard = 0; uncommittedSources = []
        pending = []; pendingHead = 0
        sink = ShardSink(index: index, outputDirectory: outputDirectory,
                         header: ShardHeader(tokenBytes: meta.tokenBytes, maxSeqLength: meta.maxSeqLength,
                                             vocabularySize: meta.vocabSize),
                         crashAfterShardFiles: crashAfterShardFiles)
        defer { sink = nil }
        pool = WorkPool(count: options.threads, maxSeqLength: options.maxSeqLength, tokenBytes: meta.tokenBytes,
                        compressionLevel: options.compressionLevel, packing: options.packing, continuation: continuation,
                        makeEncoder: makeEncoder)
        defer { pool.shutdown(); pool = nil }
        hasher = BackgroundHasher()
        defer { hasher.stop(); hasher = nil }
        do {
            try readAll(sources)
            while try consumeOne() {}   // every input packed; then the last frame, shard and commit
            try sendFrame()
            enqueue(.sink(.closeShard))
            enqueue(.sink(.commit(uncommittedSources)))
            uncommittedSources = []
            while try consumeOne() {}
            try sink.finish()
            index.checkpoint()
            pool.shutdown()
            hasher.stop()
        } catch {
            // Stop the writer thread; the open shard's temporary file is deleted unless the
            // writer itself failed (it cleans up after itself) or simulated a crash.
            try? sink.finish(abandoningOpenShard: !(error is SimulatedCrash))
            throw error
        }
        summary.shardsWritten = sink.shardsWritten
        summary.shardBytes = sink.shardBytes
        summary.timings.wallSeconds = monotonicSeconds() - runStart
        summary.timings.packingCPU = threadCPUSeconds() - cpuStart
        summary.timings.writingCPU = sink.cpuSeconds
        summary.timings.hashingCPU = hasher.cpuSeconds
        summary.timings.workerCPU = pool.workerCPU
        return summary
    }

    /// The size in bytes of a file input (stat), nil for standard input or when it cannot be read.
    func statSize(_ source: CorpusSource) -> Int? {
        guard !source.isStandardInput else { return nil }
        var st = stat()
        guard stat(source.path, &st) == 0 else { return nil }
        return Int(st.st_size)
    }

    /// The read buffer for `source`: the block size, or less for a small plain file (many small
    /// inputs then cost no megabyte allocation each).
    func readBufferSize(_ source: CorpusSource, size: Int?) -> Int {
        guard source.compression == .none, let size else { return options.blockSize }
        return max(4096, min(options.blockSize, size + 1))
    }

    /// Counts the example just planned into `framePlan`; sends the frame when it is full.
    func added() throws {
        sequenceCount += 1
        if framePlan.examples.count == options.sequencesPerFrame { try sendFrame() }
    }

    /// Hands the planned frame to the pool to assemble and compress (the sink appends the frame
    /// in this order); closes the shard when it is full.
    func sendFrame() throws {
        guard !framePlan.isEmpty else { return }
        var frame = framePlan
        framePlan = FramePlan(clsID: vocabulary.clsID, sepID: vocabulary.sepID)
        // The blocks the frame points into, from its oldest; pieces renumbered into them.
        let oldest = min(frame.oldestBlock, liveBase + liveBlocks.count)
        frame.blocks = Array(liveBlocks[(oldest - liveBase)...])
        for i in frame.pieces.indices { frame.pieces[i].block -= oldest }
        let count = frame.examples.count
        pool.submit(.compress(frame))
        enqueue(.frame)
        framesInOpenShard += 1
        sequencesInOpenShard += count
        if framesInOpenShard >= options.framesPerShard { try closeShard() }
    }

    /// Makes `ids` the newest live block and returns its serial, first dropping the blocks that
    /// neither the open frame nor `planner`'s waiting sentences point into.
    func addLiveBlock(_ ids: [UInt32], planner: PackPlanner) -> Int {
        let serial = liveBase + liveBlocks.count
        let keep = min(framePlan.oldestBlock, planner.oldestBlock ?? serial, serial)
        if keep > liveBase {
            liveBlocks.removeFirst(keep - liveBase)
            liveBase = keep
        }
        liveBlocks.append(ids)
        return serial
    }

    func closeShard() throws {
        guard framesInOpenShard > 0 else { return }
        enqueue(.sink(.closeShard))
        framesInOpenShard = 0
        sequencesInOpenShard = 0
    }

    /// At the end of a source: commit when the open shard is empty or at least half full
    /// (closing it), so that small inputs share shards and a crash loses at most half a shard.
    func sourceDone(_ record: SourceRecord) throws {
        uncommittedSources.append(record)
        let open = sequencesInOpenShard + framePlan.examples.count
        if open == 0 || open * 2 >= options.sequencesPerFrame * options.framesPerShard {
            try sendFrame()
            try closeShard()
            enqueue(.sink(.commit(uncommittedSources)))
            uncommittedSources = []
        }
    }
}
