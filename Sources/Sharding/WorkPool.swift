// The sharder's worker threads: they tokenize blocks of whole lines (converting JSONL first) and
// assemble and compress packed frames, and hand every result back in submission order, so that everything
// downstream (packing, random draws, shard bytes) is the same whatever the number of threads.
import Corpus
import Foundation

/// Turns one line of raw UTF-8 bytes into token ids. Not thread-safe: one instance per thread.
public protocol LineEncoder {
    /// Appends the ids of `line` to `ids`; returns the number of invalid UTF-8 bytes seen.
    mutating func encode(_ line: UnsafeRawBufferPointer, into ids: inout [UInt32]) -> Int
}

/// The tokenized lines of one block.
struct TokenizedBlock {
    /// Ids of every non-blank line: `original` packing, each cut to at most `maxSeqLength` ids;
    /// `lossless`, every id, a long line as its sentences (see `tokenizeBlockLossless`).
    var ids: [UInt32] = []
    /// Per sentence (`original`: per line): the end of its ids in `ids`, and its true token
    /// count (-1 for a blank line).
    var lineEnds: [Int] = []
    var lineLengths: [Int] = []
    /// Lines of the block (blank ones included), and the tokens of their text.
    var lines = 0
    var inputTokens = 0
    var invalidUTF8Bytes = 0
    /// Lines that held a NUL byte or invalid UTF-8.
    var damagedLines = 0
    /// Bytes of text tokenized (for JSONL: of the records' text).
    var byteCount = 0
    /// JSONL: lines of the block as read, and its bad lines (0-based within the block).
    var rawLines = 0
    var badRecords: [(line: Int, reason: String)] = []
}

/// One frame, encoded and compressed, ready to be appended to a shard.
struct CompressedFrame {
    var bytes: [UInt8]
    var sequences: Int
    var tokens: Int
    var crc32: UInt32
}

/// Encodes and compresses `sequences` as one frame (see data/FORMAT.md), with its CRC-32.
func compressFrame(_ sequences: ArraySlice<PackedSequence>, tokenBytes: Int, compressor: FrameCompressor,
                   payload: inout [UInt8]) -> CompressedFrame {
    FramePayload.encode(sequences, tokenBytes: tokenBytes, into: &payload)
    let bytes = compressor.compress(payload)
    return CompressedFrame(bytes: bytes, sequences: sequences.count, tokens: sequences.reduce(0) { $0 + $1.tokens.count },
                           crc32: bytes.withUnsafeBytes { crc32Of($0) })
}

/// Work for the pool.
enum PoolJob {
    /// Tokenize a block of whole lines (JSONL lines converted first when a converter is given).
    case tokenize([UInt8], JSONLConverter?)
    /// Assemble the examples of one frame, encode and compress them.
    case compress(FramePlan)
}

/// A job's result, in submission order.
enum PoolResult {
    case tokenized(TokenizedBlock)
    case compressed(CompressedFrame)
}

/// Worker threads that tokenize blocks and compress frames; results come back in submission order.
final class WorkPool {
    private let condition = NSCondition()
    private var jobs: [(id: Int, job: PoolJob)] = []
    private var jobHead = 0
    private var results: [Int: PoolResult] = [:]
    private var nextSubmit = 0
    private var nextDeliver = 0
    private var stopping = false
    private var threads: [Thread] = []
    private var workerSeconds: [Double] = []

    /// Each worker's CPU seconds, once `shutdown()` returned (in the order they stopped).
    var workerCPU: [Double] { condition.lock(); defer { condition.unlock() }; return workerSeconds }
    private var running = 0
    let maxSeqLength: Int
    let tokenBytes: Int
    let compressionLevel: Int32
    let packing: Packing
    /// Per id: a word's continuation piece (lossless packing does not cut a sentence before one).
    let continuation: [Bool]

    /// Starts `count` worker threads, each with its own encoder from `makeEncoder`.
    init(count: Int, maxSeqLength: Int, tokenBytes: Int, compressionLevel: Int32, packing: Packing = .original,
         continuation: [Bool] = [], makeEncoder: @escaping () -> any LineEncoder) {
        self.maxSeqLength = maxSeqLength
        self.tokenBytes = tokenBytes
        self.compressionLevel = compressionLevel
        self.packing = packing
        self.continuation = continuation
        for i in 0..<max(1, count) {
            let thread = Thread { [unowned self] in
                var encoder = makeEncoder()
                self.work(&encoder)
            }
            thread.name = "electra-shard-\(i)"
            thread.stackSize = 4 << 20
            threads.append(thread)
            running += 1
            thread.start()
        }
    }

    /// Jobs handed in and not yet taken back.
    var inFlight: Int { condition.lock(); defer { condition.unlock() }; return nextSubmit - nextDeliver }

    /// Queues a job.
    func submit(_ job: PoolJob) {
        condition.lock()
        jobs.append((nextSubmit, job))
        nextSubmit += 1
        condition.signal()
        condition.unlock()
    }

    /// The next result in submission order (waits for it).
    func next() -> PoolResult {
        condition.lock()
        defer { condition.unlock() }
        precondition(nextDeliver < nextSubmit, "no job in flight")
        while results[nextDeliver] == nil { condition.wait() }
        let result = results.removeValue(forKey: nextDeliver)!
        nextDeliver += 1
        return result
    }

    /// Stops the workers and waits for them to exit.
    func shutdown() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while running > 0 { condition.wait() }
        condition.unlock()
    }

    deinit { if running > 0 { shutdown() } }

    private func tokenize(_ block: UnsafeRawBufferPointer, _ encoder: inout any LineEncoder,
                          _ scratch: inout [UInt32]) -> TokenizedBlock {
        switch packing {
        case .original:
            return tokenizeBlock(block, maxSeqLength: maxSeqLength, encoder: &encoder, scratch: &scratch)
        case .lossless:
            return tokenizeBlockLossless(block, maxSeqLength: maxSeqLength, continuation: continuation,
                                         encoder: &encoder, scratch: &scratch)
        }
    }

    private func work(_ encoder: inout any LineEncoder) {
        var scratch: [UInt32] = []
        var text: [UInt8] = []
        var payload: [UInt8] = []
        var compressor: FrameCompressor?
        while true {
            condition.lock()
            while jobHead == jobs.count && !stopping { condition.wait() }
            if jobHead == jobs.count && stopping {
                workerSeconds.append(threadCPUSeconds())
                running -= 1
                condition.broadcast()
                condition.unlock()
                return
            }
            let (id, job) = jobs[jobHead]
            jobs[jobHead] = (id, .compress(FramePlan()))   // release the block's memory
            jobHead += 1
            if jobHead > 64 && jobHead * 2 > jobs.count { jobs.removeFirst(jobHead); jobHead = 0 }
            condition.unlock()
            let result: PoolResult
            switch job {
            case .tokenize(let block, let converter):
                if let converter {
                    text.removeAll(keepingCapacity: true)
                    let converted = block.withUnsafeBytes { converter.convert($0, into: &text) }
                    var out = text.withUnsafeBytes { tokenize($0, &encoder, &scratch) }
                    out.rawLines = converted.lines
                    out.badRecords = converted.bad
                    result = .tokenized(out)
                } else {
                    result = .tokenized(block.withUnsafeBytes { tokenize($0, &encoder, &scratch) })
                }
            case .compress(let plan):
                if compressor == nil { compressor = FrameCompressor(level: compressionLevel) }
                let sequences = plan.assemble()
                result = .compressed(compressFrame(sequences[...], tokenBytes: tokenBytes, compressor: compressor!,
                                                   payload: &payload))
            }
            condition.lock()
            results[id] = result
            condition.broadcast()
            condition.unlock()
        }
    }
}

/// Tokenizes the lines of `block` (one sentence each; blank lines marked), keeping at most
/// `maxSeqLength` ids per line and each line's true length. It runs on the pool's threads.
/// - Complexity: O(block size).
func tokenizeBlock(_ block: UnsafeRawBufferPointer, maxSeqLength: Int, encoder: inout any LineEncoder,
                   scratch: inout [UInt32]) -> TokenizedBlock {
    var out = TokenizedBlock()
    out.byteCount = block.count
    out.ids.reserveCapacity(block.count / 4)
    splitLines(block) { line in
        out.lines += 1
        if isBlankLine(line) {
            out.lineEnds.append(out.ids.count)
            out.lineLengths.append(-1)
            return
        }
        scratch.removeAll(keepingCapacity: true)
        let invalid = encoder.encode(line, into: &scratch)
        out.invalidUTF8Bytes += invalid
        if invalid > 0 || containsNUL(line) { out.damagedLines += 1 }
        out.inputTokens += scratch.count
        out.ids.append(contentsOf: scratch.prefix(maxSeqLength))
        out.lineEnds.append(out.ids.count)
        out.lineLengths.append(scratch.count)
    }
    return out
}

/// Tokenizes the lines of `block` for lossless packing: every id is kept, and a line of more
/// than `maxSeqLength - 3` tokens (what one example holds besides [CLS] and two [SEP]s) becomes
/// its sentences (`sentenceStarts`), a sentence still too long becoming pieces of at most that
/// many tokens, cut before a word's first piece where one lies in the second half of the piece.
/// Each sentence or piece is one entry of `lineEnds`/`lineLengths`, in order.
/// - Complexity: O(block size).
func tokenizeBlockLossless(_ block: UnsafeRawBufferPointer, maxSeqLength: Int, continuation: [Bool],
                           encoder: inout any LineEncoder, scratch: inout [UInt32]) -> TokenizedBlock {
    let capacity = maxSeqLength - 3
    var out = TokenizedBlock()
    out.byteCount = block.count
    out.ids.reserveCapacity(block.count / 4)
    var sentenceEnds: [Int] = []
    func emit(_ range: Range<Int>) {
        guard !range.isEmpty else { return }
        out.ids.append(contentsOf: scratch[range])
        out.lineEnds.append(out.ids.count)
        out.lineLengths.append(range.count)
    }
    func isContinuation(_ id: UInt32) -> Bool { Int(id) < continuation.count && continuation[Int(id)] }
    splitLines(block) { line in
        out.lines += 1
        if isBlankLine(line) {
            out.lineEnds.append(out.ids.count)
            out.lineLengths.append(-1)
            return
        }
        scratch.removeAll(keepingCapacity: true)
        var invalid = 0
        sentenceEnds.removeAll(keepingCapacity: true)
        if line.count <= capacity {   // a token covers at least one byte: it fits whole
            invalid = encoder.encode(line, into: &scratch)
            sentenceEnds.append(scratch.count)
        } else {
            let starts = sentenceStarts(line)
            for (k, start) in starts.enumerated() {
                let end = k + 1 < starts.count ? starts[k + 1] : line.count
                invalid += encoder.encode(UnsafeRawBufferPointer(rebasing: line[start..<end]), into: &scratch)
                sentenceEnds.append(scratch.count)
            }
        }
        out.invalidUTF8Bytes += invalid
        if invalid > 0 || containsNUL(line) { out.damagedLines += 1 }
        out.inputTokens += scratch.count
        if scratch.count <= capacity {
            if scratch.isEmpty {   // nothing that tokenizes: still a line of the document
                out.lineEnds.append(out.ids.count)
                out.lineLengths.append(0)
            } else {
                emit(0..<scratch.count)
            }
            return
        }
        var start = 0
        for end in sentenceEnds {
            var a = start
            while end - a > capacity {
                var cut = a + capacity
                var back = cut
                while back > a + capacity / 2 && isContinuation(scratch[back]) { back -= 1 }
                if !isContinuation(scratch[back]) { cut = back }
                emit(a..<cut)
                a = cut
            }
            emit(a..<end)
            start = end
        }
    }
    return out
}
