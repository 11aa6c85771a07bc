// The packing thread of a sharding run. Reading runs ahead of packing, across input boundaries:
// every block of every input goes to the worker pool as soon as it is read (a directory of
// many small files keeps all threads busy), while packing consumes the results strictly in
// submission order. `pending` lists, in that order, everything handed out and not yet consumed:
// tokenized blocks, compressed frames and writer commands; so the bytes of the output never
// depend on the number of threads or on timing.
import Corpus
import Foundation

/// One input between its reading and the end of its packing.
final class SourceInProgress {
    let source: CorpusSource
    let position: Int
    let jsonl: JSONLConverter?
    var planner: PackPlanner
    var record: SourceRecord
    var inDocument = false
    var started = false
    /// JSONL lines consumed so far (for the line numbers of bad lines).
    var rawLines = 0
    var namedBadRecords = 0
    var expectedHash: String?
    /// The BackgroundHasher's ticket of this input's digest, when it hashes it.
    var hashTicket: Int?

    init(source: CorpusSource, position: Int, planner: PackPlanner) {
        self.source = source
        self.position = position
        self.planner = planner
        if case .jsonl(let field) = source.format { jsonl = JSONLConverter(field: field) } else { jsonl = nil }
        record = SourceRecord(path: source.description, bytes: 0, sha256: "", documents: 0, lines: 0, sequences: 0,
                              tokens: 0, invalidUTF8Bytes: 0, damagedLines: 0, badRecords: 0, firstSequence: 0)
    }
}

/// Something handed out, consumed in order by `consumeOne`.
enum PendingWork {
    /// A block in the pool; `bytesRead` of its source once it was read (for progress).
    case block(SourceInProgress, bytesRead: Int, totalBytes: Int?)
    /// A frame in the pool (compression).
    case frame
    /// A command for the writer, in its place in the order.
    case sink(SinkCommand)
    /// The source's last block was handed out before this.
    case endOfSource(SourceInProgress)
}

extension ShardBuilder {
    /// Bad JSONL lines named one by one per input; the rest are counted.
    static let namedBadRecordsPerSource = 5

    func enqueue(_ work: PendingWork) { pending.append(work) }

    /// Reads every source, handing its blocks to the pool and packing results as they come.
    func readAll(_ sources: [CorpusSource]) throws {
        let sizes = sources.map(statSize)   // one stat() per input (FileManager attributes cost more)
        let totalBytes = sizes.reduce(Optional(0)) { sum, size in sum.flatMap { a in size.map { a + $0 } } }
        let maxInFlight = max(4, options.threads * 3)
        inputCount = sources.count
        for (position, source) in sources.enumerated() {
            if stopRequested() { try stop(at: source, inside: false) }
            let size = sizes[position]
            let bufferSize = readBufferSize(source, size: size)
            var expectedHash: String? = nil
            if !source.isStandardInput && (source.compression != .none || knownSizes.contains(size ?? -1)) {
                // Before anything of it is written: a compressed file is read whole once (a damaged
                // stream is refused, not half sharded), and a file whose size matches a known input
                // is hashed to skip it when it was sharded already.
                do {
                    let reader = try LineReader(source, bufferSize: bufferSize)
                    try reader.forEachBlock { _ in }
                    expectedHash = reader.contentSHA256
                } catch let error as CorpusError {
                    refuse(source, size: size, error)
                    continue
                }
                // An input of the same size may still be in flight (hashed in the background).
                if knownSizes.contains(size ?? -1) { while try consumeOne() {} }
                if let hash = expectedHash, let known = knownHashes[hash] {
                    summary.sourcesSkipped += 1
                    summary.bytesRead += max(0, size ?? 0)
                    report(.skipped(path: source.description, reason: "already sharded (same content as \(known)); skipped",
                                    refused: false))
                    continue
                }
            }
            let reader: LineReader
            do { reader = try LineReader(source, bufferSize: bufferSize) } catch let error as CorpusError {
                refuse(source, size: size, error)
                continue
            }
            let state = SourceInProgress(
                source: source, position: position,
                planner: PackPlanner(maxSeqLength: options.maxSeqLength,
                                     random: SeededRandom(seed: options.seed, stream: UInt64(sourceOrdinal)),
                                     packing: options.packing))
            state.expectedHash = expectedHash
            // A large plain file is hashed on the hasher's thread, from the blocks themselves.
            let background = expectedHash == nil && source.compression == .none && !source.isStandardInput
                && (size ?? 0) >= backgroundHashMinimum
            reader.computesHash = !background
            var handedOut = false
            func handOut(_ bytes: [UInt8], bytesRead: Int) throws {
                if stopRequested() { try stop(at: source, inside: true) }
                if summary.timings.firstBlockSeconds == 0 { summary.timings.firstBlockSeconds = monotonicSeconds() - runStart }
                handedOut = true
                if background { hasher.add(bytes) }
                pool.submit(.tokenize(bytes, state.jsonl))
                enqueue(.block(state, bytesRead: bytesRead, totalBytes: totalBytes))
                while pool.inFlight >= maxInFlight { _ = try consumeOne() }
            }
            do {
                if background {
                    // A large plain file: read on a thread of its own, ahead of the packing.
                    let ahead = BlockReadAhead(reader, limit: maxInFlight)
                    do {
                        while let (bytes, bytesRead) = try ahead.next() { try handOut(bytes, bytesRead: bytesRead) }
                    } catch {
                        ahead.cancel()
                        throw error
                    }
                    summary.timings.readingCPU += ahead.cpuSeconds
                } else {
                    try reader.forEachBlock { block in try handOut(Array(block), bytesRead: reader.bytesRead) }
                }
            } catch let error as CorpusError where !handedOut {
                refuse(source, size: size, error)   // binary: its beginning said so, nothing was handed out
                continue
            }
            sourceOrdinal += 1
            state.record.bytes = reader.bytesRead
            if background {
                state.hashTicket = hasher.endInput()
            } else {
                state.record.sha256 = reader.contentSHA256 ?? ""
                knownHashes[state.record.sha256] = state.record.path
            }
            knownSizes.insert(state.record.bytes)
            enqueue(.endOfSource(state))
            // Keep what waits without pool work short (end-of-source records of tiny inputs).
            while pending.count - pendingHead > 4 * maxInFlight { _ = try consumeOne() }
        }
    }

    /// Stops the run on request: the work handed out is consumed (so that every commit point
    /// reached, as an uninterrupted run has it, is committed), then `ShardingError.stopped` is
    /// thrown and `run` abandons the rest (a rerun then gives the uninterrupted run's bytes).
    private func stop(at source: CorpusSource, inside: Bool) throws -> Never {
        while try consumeOne() {}
        throw ShardingError.stopped(at: source.description, inside: inside)
    }

    private func refuse(_ source: CorpusSource, size: Int?, _ error: CorpusError) {
        summary.sourcesSkipped += 1
        summary.sourcesRefused += 1
        summary.bytesRead += max(0, size ?? 0)
        report(.skipped(path: source.description, reason: "\(error); not sharded", refused: true))
    }

    /// Consumes the oldest pending work; false when there is none.
    func consumeOne() throws -> Bool {
        guard pendingHead < pending.count else { return false }
        let work = pending[pendingHead]
        pending[pendingHead] = .frame   // drop references
        pendingHead += 1
        if pendingHead >= 1024 && pendingHead * 2 >= pending.count {
            pending.removeFirst(pendingHead)
            pendingHead = 0
        }
        switch work {
        case .block(let state, let bytesRead, let totalBytes):
            guard case .tokenized(let block) = pool.next() else { preconditionFailure("pool results out of order") }
            try consume(block, of: state)
            report(.progress(ShardingProgress(
                sourcePath: state.source.description, sourceIndex: state.position, sourceCount: inputCount,
                sourceTotalBytes: nil, bytesRead: summary.bytesRead + bytesRead,
                totalBytes: totalBytes, sequences: summary.sequences + state.record.sequences,
                tokens: summary.tokens + state.record.tokens)))
        case .frame:
            guard case .compressed(let frame) = pool.next() else { preconditionFailure("pool results out of order") }
            try sink.send(.frame(frame))
        case .sink(let command):
            try sink.send(command)
        case .endOfSource(let state):
            try finish(state)
        }
        return true
    }

    private func start(_ state: SourceInProgress) {
        guard !state.started else { return }
        state.started = true
        state.record.firstSequence = sequenceCount
    }

    /// Counts an example of `tokens` tokens just planned into the frame.
    private func emit(_ tokens: Int, _ state: SourceInProgress) throws {
        state.record.sequences += 1
        state.record.tokens += tokens
        try added()
    }

    private func consume(_ block: TokenizedBlock, of state: SourceInProgress) throws {
        start(state)
        for (line, reason) in block.badRecords {
            let bad = BadRecord(path: state.source.description, line: state.rawLines + line + 1, reason: reason)
            if options.strict { throw CorpusError.badRecord(bad) }
            state.record.badRecords += 1
            if state.namedBadRecords < ShardBuilder.namedBadRecordsPerSource {
                state.namedBadRecords += 1
                report(.warning("\(bad); line skipped"))
            }
        }
        state.rawLines += block.rawLines
        state.record.invalidUTF8Bytes += block.invalidUTF8Bytes
        state.record.damagedLines += block.damagedLines
        state.record.lines += block.lines
        state.record.inputTokens = (state.record.inputTokens ?? 0) + block.inputTokens
        summary.textBytes += block.byteCount
        let serial = addLiveBlock(block.ids, planner: state.planner)
        var line = 0
        while true {
            let before = framePlan.examples.count
            line = packLines(block, from: line, serial: serial, frameSize: options.sequencesPerFrame,
                             planner: &state.planner, plan: &framePlan, record: &state.record, inDocument: &state.inDocument)
            sequenceCount += framePlan.examples.count - before
            guard framePlan.examples.count >= options.sequencesPerFrame else { break }
            try sendFrame()
        }
    }

    /// Packs the sentences of `block` (block serial `serial`) from `first` until its end, every
    /// example they make taken, or until the frame holds `frameSize` examples; returns the next
    /// sentence. Everything per sentence is a plain inout value (per-line accesses to class
    /// properties cost more than the planning itself).
    private func packLines(_ block: TokenizedBlock, from first: Int, serial: Int, frameSize: Int,
                           planner: inout PackPlanner, plan: inout FramePlan, record: inout SourceRecord,
                           inDocument: inout Bool) -> Int {
        var line = first
        var start = line == 0 ? 0 : block.lineEnds[line - 1]
        let count = block.lineEnds.count
        while true {
            while plan.examples.count < frameSize, let tokens = planner.takeReady(into: &plan) {
                record.sequences += 1
                record.tokens += tokens
            }
            guard line < count && plan.examples.count < frameSize else { return line }
            let end = block.lineEnds[line]
            let length = block.lineLengths[line]
            if length < 0 {
                inDocument = false
                planner.endDocument()
            } else {
                if !inDocument { inDocument = true; record.documents += 1 }
                planner.addSentence(SentenceRef(block: serial, start: start, count: end - start), length: length)
            }
            start = end
            line += 1
        }
    }

    private func finish(_ state: SourceInProgress) throws {
        start(state)
        state.planner.endDocument()
        while let n = state.planner.takeReady(into: &framePlan) { try emit(n, state) }
        state.record.droppedLongLineTokens = state.planner.droppedLongLineTokens
        state.record.droppedOverflowTokens = state.planner.droppedOverflowTokens
        if state.record.inputTokens == nil { state.record.inputTokens = 0 }
        assert(state.record.inputTokens == state.planner.keptTokens + state.record.droppedTokens,
               "tokens in = tokens kept + tokens dropped")
        if let ticket = state.hashTicket {
            state.record.sha256 = hasher.digest(ticket)
            knownHashes[state.record.sha256] = state.record.path
        }
        let record = state.record
        if let expected = state.expectedHash, expected != record.sha256 { throw ShardingError.sourceChanged(state.source.description) }
        summary.bytesRead += record.bytes
        summary.sequences += record.sequences
        summary.tokens += record.tokens
        summary.inputTokens += record.inputTokens ?? 0
        summary.droppedLongLineTokens += record.droppedLongLineTokens
        summary.droppedOverflowTokens += record.droppedOverflowTokens
        summary.damagedLines += record.damagedLines
        summary.badRecords += record.badRecords
        summary.sourcesSharded += 1
        let path = state.source.description
        if record.sequences == 0 {
            report(.warning("\(path): no text (blank lines only or nothing that tokenizes); recorded with 0 sequences"))
        }
        if record.damagedLines > 0 {
            report(.warning("\(path): \(record.damagedLines) line(s) held NUL bytes or invalid UTF-8 (\(record.invalidUTF8Bytes) invalid bytes, read as U+FFFD); the lines were sharded, tokenized as HF tokenizers does (clean-text drops NUL and U+FFFD)"))
        }
        if record.badRecords > state.namedBadRecords {
            report(.warning("\(path): \(record.badRecords) bad JSONL line(s) skipped in all (the first \(state.namedBadRecords) named above)"))
        }
        report(.finishedSource(record))
        try sourceDone(record)
    }
}
