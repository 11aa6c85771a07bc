// Tokenizes blocks of whole lines on worker threads and hands the results back in submission
// order, so that everything downstream (packing, random draws, shard bytes) is the same
// whatever the number of threads.
import Corpus
import Foundation

/// Turns one line of raw UTF-8 bytes into token ids. Not thread-safe: one instance per thread.
public protocol LineEncoder {
    /// Appends the ids of `line` to `ids`; returns the number of invalid UTF-8 bytes seen.
    mutating func encode(_ line: UnsafeRawBufferPointer, into ids: inout [UInt32]) -> Int
}

/// The tokenized lines of one block.
struct TokenizedBlock {
    /// Ids of every non-blank line, each cut to at most `maxSeqLength` ids.
    var ids: [UInt32] = []
    /// Per line: the end of its ids in `ids`, and its true token count (-1 for a blank line).
    var lineEnds: [Int] = []
    var lineLengths: [Int] = []
    var invalidUTF8Bytes = 0
    var byteCount = 0
}

/// True when the line is empty after Python's `str.strip()` (the original's blank-line test).
@inline(__always)
func isBlankLine(_ line: UnsafeRawBufferPointer) -> Bool {
    var i = 0
    let n = line.count
    while i < n {
        let b = line[i]
        if b < 0x80 {
            if b == 0x20 || (b >= 0x09 && b <= 0x0D) || (b >= 0x1C && b <= 0x1F) { i += 1; continue }
            return false
        }
        // Non-ASCII whitespace (U+0085, U+00A0, U+1680, U+2000-200A, U+2028/9, U+202F, U+205F, U+3000).
        if b == 0xC2, i + 1 < n, line[i + 1] == 0x85 || line[i + 1] == 0xA0 { i += 2; continue }
        if b == 0xE1, i + 2 < n, line[i + 1] == 0x9A, line[i + 2] == 0x80 { i += 3; continue }
        if b == 0xE2, i + 2 < n {
            let c1 = line[i + 1], c2 = line[i + 2]
            if c1 == 0x80 && (c2 <= 0x8A || c2 == 0xA8 || c2 == 0xA9 || c2 == 0xAF) { i += 3; continue }
            if c1 == 0x81 && c2 == 0x9F { i += 3; continue }
        }
        if b == 0xE3, i + 2 < n, line[i + 1] == 0x80, line[i + 2] == 0x80 { i += 3; continue }
        return false
    }
    return true
}

/// Worker threads that tokenize blocks; results come back in submission order.
final class TokenizerPool {
    private let condition = NSCondition()
    private var jobs: [(id: Int, block: [UInt8])] = []
    private var results: [Int: TokenizedBlock] = [:]
    private var nextSubmit = 0
    private var nextDeliver = 0
    private var stopping = false
    private var threads: [Thread] = []
    private var running = 0
    let maxSeqLength: Int

    /// Starts `count` worker threads, each with its own encoder from `makeEncoder`.
    init(count: Int, maxSeqLength: Int, makeEncoder: @escaping () -> any LineEncoder) {
        self.maxSeqLength = maxSeqLength
        for i in 0..<max(1, count) {
            let thread = Thread { [unowned self] in
                var encoder = makeEncoder()
                self.work(&encoder)
            }
            thread.name = "electra-tokenize-\(i)"
            thread.stackSize = 4 << 20
            threads.append(thread)
            running += 1
            thread.start()
        }
    }

    /// Blocks handed in and not yet taken back.
    var inFlight: Int { condition.lock(); defer { condition.unlock() }; return nextSubmit - nextDeliver }

    /// Queues a block of whole lines for tokenization.
    func submit(_ block: [UInt8]) {
        condition.lock()
        jobs.append((nextSubmit, block))
        nextSubmit += 1
        condition.signal()
        condition.unlock()
    }

    /// The next result in submission order (waits for it).
    func next() -> TokenizedBlock {
        condition.lock()
        defer { condition.unlock() }
        precondition(nextDeliver < nextSubmit, "no block in flight")
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

    private func work(_ encoder: inout any LineEncoder) {
        var scratch: [UInt32] = []
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping { condition.wait() }
            if jobs.isEmpty && stopping {
                running -= 1
                condition.broadcast()
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            let result = job.block.withUnsafeBytes {
                tokenizeBlock($0, maxSeqLength: maxSeqLength, encoder: &encoder, scratch: &scratch)
            }
            condition.lock()
            results[job.id] = result
            condition.broadcast()
            condition.unlock()
        }
    }
}

/// Tokenizes the lines of `block` (one sentence each; blank lines marked), keeping at most
/// `maxSeqLength` ids per line and each line's true length. The same function runs on the pool's
/// threads and, for small inputs, on the packing thread, so the result never depends on where.
/// - Complexity: O(block size).
func tokenizeBlock(_ block: UnsafeRawBufferPointer, maxSeqLength: Int, encoder: inout any LineEncoder,
                   scratch: inout [UInt32]) -> TokenizedBlock {
    var out = TokenizedBlock()
    out.byteCount = block.count
    out.ids.reserveCapacity(block.count / 4)
    splitLines(block) { line in
        if isBlankLine(line) {
            out.lineEnds.append(out.ids.count)
            out.lineLengths.append(-1)
            return
        }
        scratch.removeAll(keepingCapacity: true)
        out.invalidUTF8Bytes += encoder.encode(line, into: &scratch)
        out.ids.append(contentsOf: scratch.prefix(maxSeqLength))
        out.lineEnds.append(out.ids.count)
        out.lineLengths.append(scratch.count)
    }
    return out
}
