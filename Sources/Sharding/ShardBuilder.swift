// `electra-prep shard` as a library: streams corpus sources through the tokenizer pool, packs
// the lines with ExampleBuilder, writes zstd shards and commits them to the SQLite index at
// source boundaries, so that an interrupted run is finished by running it again.
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
    /// Tokenizer threads (the reading, packing and compression run on the calling thread).
    public var threads = ProcessInfo.processInfo.activeProcessorCount
    /// Sequences per zstd frame (the unit a reader seeks to).
    public var sequencesPerFrame = 1024
    /// Frames per shard file.
    public var framesPerShard = 64
    /// zstd compression level.
    public var compressionLevel: Int32 = 3
    /// Bytes read at a time (blocks of whole lines handed to the tokenizer threads).
    public var blockSize = 1 << 20

    public init() {}
}

/// What a sharding run reports while it works.
public enum ShardingEvent {
    /// Shard files an interrupted run left behind were deleted (their inputs are sharded again).
    case removedIncompleteShards([String])
    /// An input was not sharded; the reason says why (already indexed, unreadable, binary...).
    case skipped(path: String, reason: String)
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
    public var sourcesSkipped = 0
    public var sequences = 0
    public var tokens = 0
    public var shardsWritten = 0
    /// Bytes read from the inputs (compressed bytes for .zst/.gz, skipped inputs included).
    public var bytesRead = 0
    /// Bytes of text tokenized (after decompression).
    public var textBytes = 0
    public var shardBytes = 0
}

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
    public let meta: ShardMeta
    private let makeEncoder: () -> any LineEncoder

    /// Test hook: throw `SimulatedCrash` right after this many shard files were renamed into
    /// place, before they are committed, leaving the temporary file of the open shard behind
    /// as a killed process would.
    var crashAfterShardFiles: Int?
    struct SimulatedCrash: Error {}

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
    }

    // MARK: run state (the packing thread's; the sink owns the files and the index)
    private var index: IndexWriter!
    private var sink: ShardSink!
    private var frameBuffer: [PackedSequence] = []
    /// Frames and sequences sent to the sink since its last shard was closed.
    private var framesInOpenShard = 0
    private var sequencesInOpenShard = 0
    /// Sources finished but not yet sent for commit.
    private var uncommittedSources: [SourceRecord] = []
    /// Known inputs (index + this run), kept here so that only the sink touches the index.
    private var knownHashes: [String: String] = [:]
    private var knownSizes = Set<Int>()
    private var sourceCount = 0
    private var sequenceCount = 0
    private var summary = ShardingSummary()
    /// Plain files up to this read-buffer size are tokenized on the packing thread, with an
    /// encoder made on first use (many tiny inputs would otherwise wait on thread hand-offs).
    var inlineLimit = 64 << 10
    private var inlineEncoder: (any LineEncoder)?
    private var inlineScratch: [UInt32] = []
    private var report: (ShardingEvent) -> Void = { _ in }

    /// Shards `sources` (in order), skipping those whose content is already indexed.
    /// - Throws: `ShardingError` (options differ from the index, I/O), `CorpusError` for stdin.
    /// - Complexity: O(corpus) time; memory O(threads x block size + one shard's frame table).
    public func run(sources: [CorpusSource], progress: @escaping (ShardingEvent) -> Void = { _ in }) throws -> ShardingSummary {
        report = progress
        summary = ShardingSummary()
        index = try IndexWriter(directory: outputDirectory, meta: meta, vocabularyTokens: vocabulary.tokens)
        // The writer thread may hold the index a moment longer than this call: unlock explicitly
        // (the sink has finished by then, on every path).
        defer { index.unlock(); index = nil }
        if !index.removedOrphans.isEmpty { report(.removedIncompleteShards(index.removedOrphans)) }
        knownHashes = index.knownSources
        knownSizes = index.knownSizes
        sourceCount = index.sourceCount
        sequenceCount = index.sequenceCount
        frameBuffer = []; framesInOpenShard = 0; sequencesInOpenShard = 0; uncommittedSources = []
        sink = ShardSink(index: index, outputDirectory: outputDirectory,
                         header: ShardHeader(tokenBytes: meta.tokenBytes, maxSeqLength: meta.maxSeqLength,
                                             vocabularySize: meta.vocabSize),
                         compressionLevel: options.compressionLevel, crashAfterShardFiles: crashAfterShardFiles)
        defer { sink = nil }
        let pool = TokenizerPool(count: options.threads, maxSeqLength: options.maxSeqLength, makeEncoder: makeEncoder)
        defer { pool.shutdown() }
        let sizes = sources.map(statSize)   // one stat() per input (FileManager attributes cost more)
        let totalBytes = sizes.reduce(Optional(0)) { sum, size in sum.flatMap { a in size.map { a + $0 } } }
        do {
            for (sourceIndex, source) in sources.enumerated() {
                var expectedHash: String? = nil
                if !source.isStandardInput {
                    // Before anything of a file is written: reject binary or damaged files, and
                    // skip files already sharded (only a file whose size matches a known source
                    // can be one, so only those are hashed up front).
                    let size = sizes[sourceIndex] ?? -1
                    let mightBeKnown = knownSizes.contains(size)
                    do {
                        if source.compression != .none || mightBeKnown {
                            let reader = try LineReader(source, bufferSize: readBufferSize(source, size: sizes[sourceIndex]))
                            try reader.forEachBlock { _ in }
                            expectedHash = reader.contentSHA256
                        } else {
                            try checkForNUL(source, bufferSize: readBufferSize(source, size: sizes[sourceIndex]))
                        }
                    } catch let error as CorpusError {
                        summary.sourcesSkipped += 1
                        summary.bytesRead += max(0, size)
                        report(.skipped(path: source.description, reason: "\(error); not sharded"))
                        continue
                    }
                    if let hash = expectedHash, let known = knownHashes[hash] {
                        summary.sourcesSkipped += 1
                        summary.bytesRead += max(0, size)
                        report(.skipped(path: source.description,
                                        reason: "already sharded (same content as \(known)); skipped"))
                        continue
                    }
                }
                let record = try shardSource(source, sourceIndex: sourceIndex, sourceCount: sources.count,
                                             expectedHash: expectedHash, totalBytes: totalBytes,
                                             bufferSize: readBufferSize(source, size: sizes[sourceIndex]), pool: pool)
                knownHashes[record.sha256] = record.path
                knownSizes.insert(record.bytes)
                if record.sequences == 0 {
                    report(.warning("\(source.description): no text (blank lines only or nothing that tokenizes); recorded with 0 sequences"))
                }
                if record.invalidUTF8Bytes > 0 {
                    report(.warning("\(source.description): \(record.invalidUTF8Bytes) invalid UTF-8 bytes were dropped (read as U+FFFD, which the tokenizer removes)"))
                }
                summary.sourcesSharded += 1
                report(.finishedSource(record))
                try sourceDone(record)
            }
            try sendFrame()
            try sink.send(.closeShard)
            try sink.send(.commit(uncommittedSources))
            uncommittedSources = []
            try sink.finish()
            index.checkpoint()
        } catch {
            // Stop the writer thread; the open shard's temporary file is deleted unless the
            // writer itself failed (it cleans up after itself) or simulated a crash.
            try? sink.finish(abandoningOpenShard: !(error is SimulatedCrash))
            throw error
        }
        summary.shardsWritten = sink.shardsWritten
        summary.shardBytes = sink.shardBytes
        return summary
    }

    /// Reads, tokenizes and packs one source; returns its record (not committed yet).
    private func shardSource(_ source: CorpusSource, sourceIndex: Int, sourceCount: Int, expectedHash: String?,
                             totalBytes: Int?, bufferSize: Int, pool: TokenizerPool) throws -> SourceRecord {
        let reader = try LineReader(source, bufferSize: bufferSize)
        let ordinal = self.sourceCount
        var builder = ExampleBuilder(maxSeqLength: options.maxSeqLength, clsID: vocabulary.clsID, sepID: vocabulary.sepID,
                                     random: SeededRandom(seed: options.seed, stream: UInt64(ordinal)))
        var record = SourceRecord(path: source.description, bytes: 0, sha256: "", documents: 0, lines: 0, sequences: 0,
                                  tokens: 0, invalidUTF8Bytes: 0, firstSequence: sequenceCount)
        var inDocument = false
        let bytesBefore = summary.bytesRead
        let maxInFlight = max(2, options.threads * 2)

        func emit(_ sequence: PackedSequence) throws {
            record.sequences += 1
            record.tokens += sequence.tokens.count
            try add(sequence)
        }
        func consume(_ block: TokenizedBlock) throws {
            record.invalidUTF8Bytes += block.invalidUTF8Bytes
            summary.textBytes += block.byteCount
            var start = 0
            for (i, end) in block.lineEnds.enumerated() {
                record.lines += 1
                let length = block.lineLengths[i]
                if length < 0 {
                    inDocument = false
                    if let s = builder.endDocument() { try emit(s) }
                } else {
                    if !inDocument { inDocument = true; record.documents += 1 }
                    if let s = builder.addSentence(block.ids[start..<end], length: length) { try emit(s) }
                }
                start = end
            }
            summary.bytesRead = bytesBefore + reader.bytesRead
            report(.progress(ShardingProgress(
                sourcePath: source.description, sourceIndex: sourceIndex, sourceCount: sourceCount,
                sourceTotalBytes: reader.totalBytes, bytesRead: summary.bytesRead,
                totalBytes: totalBytes, sequences: summary.sequences + record.sequences,
                tokens: summary.tokens + record.tokens)))
        }

        var failure: Error?
        do {
            if source.compression == .none, let size = reader.totalBytes, size <= inlineLimit {
                // A small file (one block): tokenize it here rather than pay two thread hand-offs;
                // the same function gives the same ids, so the output does not change.
                if inlineEncoder == nil { inlineEncoder = makeEncoder() }
                try reader.forEachBlock { block in
                    try consume(tokenizeBlock(block, maxSeqLength: options.maxSeqLength, encoder: &inlineEncoder!,
                                              scratch: &inlineScratch))
                }
            } else {
                try reader.forEachBlock { block in
                    pool.submit(Array(block))
                    while pool.inFlight >= maxInFlight { try consume(pool.next()) }
                }
            }
        } catch {
            failure = error
        }
        // Drain what is in flight (also after an error, so that the pool stays usable).
        while pool.inFlight > 0 {
            let block = pool.next()
            if failure == nil {
                do { try consume(block) } catch { failure = error }
            }
        }
        if let failure { throw failure }
        if let s = builder.endDocument() { try emit(s) }

        record.bytes = reader.bytesRead
        record.sha256 = reader.contentSHA256 ?? ""
        if let expectedHash, expectedHash != record.sha256 { throw ShardingError.sourceChanged(source.description) }
        summary.bytesRead = bytesBefore + reader.bytesRead
        summary.sequences += record.sequences
        summary.tokens += record.tokens
        self.sourceCount += 1
        return record
    }

    /// The size in bytes of a file input (stat), nil for standard input or when it cannot be read.
    private func statSize(_ source: CorpusSource) -> Int? {
        guard !source.isStandardInput else { return nil }
        var st = stat()
        guard stat(source.path, &st) == 0 else { return nil }
        return Int(st.st_size)
    }

    /// The read buffer for `source`: the block size, or less for a small plain file (many small
    /// inputs then cost no megabyte allocation each).
    private func readBufferSize(_ source: CorpusSource, size: Int?) -> Int {
        guard source.compression == .none, let size else { return options.blockSize }
        return max(4096, min(options.blockSize, size + 1))
    }

    /// Throws `CorpusError.binary` naming the file when it holds a NUL byte.
    /// - Complexity: O(file size), one read pass with memchr.
    private func checkForNUL(_ source: CorpusSource, bufferSize: Int) throws {
        let fd = open(source.path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { throw CorpusError.notFound(source.path) }
            throw CorpusError.unreadable(source.path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        let size = bufferSize
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
        defer { buffer.deallocate() }
        var offset = 0
        while true {
            let n = read(fd, buffer, size)
            if n < 0 {
                if errno == EINTR { continue }
                throw CorpusError.unreadable(source.path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { return }
            if let nul = memchr(buffer, 0, n) { throw CorpusError.binary(source.path, offset: offset + (nul - buffer)) }
            offset += n
        }
    }

    private func add(_ sequence: PackedSequence) throws {
        frameBuffer.append(sequence)
        sequenceCount += 1
        if frameBuffer.count == options.sequencesPerFrame { try sendFrame() }
    }

    /// Hands the buffered sequences to the sink as one frame; closes the shard when it is full.
    private func sendFrame() throws {
        guard !frameBuffer.isEmpty else { return }
        let frame = frameBuffer
        frameBuffer.removeAll(keepingCapacity: true)
        try sink.send(.frame(frame))
        framesInOpenShard += 1
        sequencesInOpenShard += frame.count
        if framesInOpenShard >= options.framesPerShard { try closeShard() }
    }

    private func closeShard() throws {
        guard framesInOpenShard > 0 else { return }
        try sink.send(.closeShard)
        framesInOpenShard = 0
        sequencesInOpenShard = 0
    }

    /// At the end of a source: commit when the open shard is empty or at least half full
    /// (closing it), so that small inputs share shards and a crash loses at most half a shard.
    private func sourceDone(_ record: SourceRecord) throws {
        uncommittedSources.append(record)
        let open = sequencesInOpenShard + frameBuffer.count
        if open == 0 || open * 2 >= options.sequencesPerFrame * options.framesPerShard {
            try sendFrame()
            try closeShard()
            try sink.send(.commit(uncommittedSources))
            uncommittedSources = []
        }
    }
}
