// Counting the distinct words of a corpus: an open-addressing hash table over a byte arena, so
// that a word seen again costs a hash and a compare, never an allocation. Memory grows with the
// number of distinct words, not with the corpus.
import Foundation

/// Counts byte strings (normalized words).
///
/// ```swift
/// var counter = WordCounter()
/// counter.add(wordBytes)               // UnsafeRawBufferPointer
/// counter.merge(other)                 // sums counts
/// let sorted = counter.sortedWords()   // [(bytes, count)] in byte order: deterministic
/// ```
public struct WordCounter {
    private var arena: [UInt8] = []
    /// Per slot: start in the arena + 1 (0 = empty), length, count, hash.
    private var starts: [Int32]
    private var lengths: [Int32]
    private var counts: [Int]
    private var hashes: [UInt64]
    private var mask: Int
    public private(set) var distinctWords = 0
    public private(set) var totalWords = 0
    /// Distinct words dropped by `prune` so far (their occurrences still count in `totalWords`).
    public private(set) var prunedWords = 0

    public init(capacity: Int = 1 << 16) {
        var size = 1
        while size < capacity * 2 { size <<= 1 }
        starts = Array(repeating: 0, count: size)
        lengths = Array(repeating: 0, count: size)
        counts = Array(repeating: 0, count: size)
        hashes = Array(repeating: 0, count: size)
        mask = size - 1
    }

    @inline(__always)
    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325 ^ UInt64(bytes.count)
        var i = 0
        let n = bytes.count
        while i + 8 <= n {
            h = (h ^ bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0x0000_0100_0000_01B3
            h ^= h >> 29
            i += 8
        }
        while i < n {
            h = (h ^ UInt64(bytes[i])) &* 0x0000_0100_0000_01B3
            i += 1
        }
        h ^= h >> 32
        h = h &* 0xD6E8_FEB8_6659_FD93
        return h ^ (h >> 32)
    }

    /// Adds `count` occurrences of `word`.
    /// - Complexity: O(word length) expected.
    @inline(__always)
    public mutating func add(_ word: UnsafeRawBufferPointer, count: Int = 1) {
        totalWords += count
        let h = WordCounter.hash(word)
        var slot = Int(truncatingIfNeeded: h) & mask
        while true {
            let start = starts[slot]
            if start == 0 { break }
            if hashes[slot] == h && Int(lengths[slot]) == word.count {
                let equal = arena.withUnsafeBytes { a in
                    memcmp(a.baseAddress! + Int(start - 1), word.baseAddress!, word.count) == 0
                }
                if equal { counts[slot] += count; return }
            }
            slot = (slot + 1) & mask
        }
        starts[slot] = Int32(arena.count + 1)
        lengths[slot] = Int32(word.count)
        counts[slot] = count
        hashes[slot] = h
        arena.append(contentsOf: word)
        distinctWords += 1
        if distinctWords * 2 > mask { grow() }
    }

    private mutating func grow() {
        let old = (starts, lengths, counts, hashes)
        let size = (mask + 1) * 2
        starts = Array(repeating: 0, count: size)
        lengths = Array(repeating: 0, count: size)
        counts = Array(repeating: 0, count: size)
        hashes = Array(repeating: 0, count: size)
        mask = size - 1
        for i in 0..<old.0.count where old.0[i] != 0 {
            var slot = Int(truncatingIfNeeded: old.3[i]) & mask
            while starts[slot] != 0 { slot = (slot + 1) & mask }
            starts[slot] = old.0[i]
            lengths[slot] = old.1[i]
            counts[slot] = old.2[i]
            hashes[slot] = old.3[i]
        }
    }

    /// Bounds the table as memory-bounded counters do: keeps the `limit` most frequent words,
    /// dropping all words counted fewer than `k` times and, among those counted exactly `k`
    /// times, the ones with the largest hashes (a deterministic, uniform sample of the rarest).
    /// A dropped word that comes back starts again from 0, so rare words are undercounted;
    /// frequent ones are exact.
    /// - Returns: `k` (0 when nothing was dropped).
    /// - Complexity: O(distinct words + n log n) for the n words counted exactly `k` times.
    @discardableResult
    public mutating func prune(keepingAtMost limit: Int) -> Int {
        guard distinctWords > limit else { return 0 }
        let cap = 1 << 16
        var histogram = [Int](repeating: 0, count: cap + 1)
        for i in 0..<starts.count where starts[i] != 0 { histogram[min(counts[i], cap)] += 1 }
        // k: the smallest count such that the words counted more than k fit in the limit.
        var k = 1, above = distinctWords - histogram[0] - histogram[1]
        while above > limit && k < cap { k += 1; above -= histogram[k] }
        // Among the words counted exactly k times, keep the `limit - above` of smallest hash.
        var tied: [UInt64] = []
        tied.reserveCapacity(histogram[k])
        for i in 0..<starts.count where starts[i] != 0 && counts[i] == k { tied.append(hashes[i]) }
        tied.sort()
        let room = max(0, limit - above)
        let cutoff: UInt64? = room >= tied.count ? nil : (room == 0 ? 0 : tied[room - 1])
        var kept = WordCounter(capacity: max(limit, 1 << 10))
        forEachWithHash { word, count, hash in
            if count > k || (count == k && (cutoff.map { hash <= $0 && room > 0 } ?? true)) { kept.add(word, count: count) }
        }
        kept.totalWords = totalWords
        kept.prunedWords = prunedWords + distinctWords - kept.distinctWords
        self = kept
        return k
    }

    /// Forgets every word (keeping the table's capacity); the totals restart from 0.
    public mutating func removeAll() {
        for i in 0..<starts.count { starts[i] = 0 }
        arena.removeAll(keepingCapacity: true)
        distinctWords = 0
        totalWords = 0
        prunedWords = 0
    }

    /// Calls `body` with each distinct word, its count and its hash, in table order.
    func forEachWithHash(_ body: (UnsafeRawBufferPointer, Int, UInt64) -> Void) {
        arena.withUnsafeBytes { a in
            for i in 0..<starts.count where starts[i] != 0 {
                body(UnsafeRawBufferPointer(rebasing: a[Int(starts[i] - 1)..<Int(starts[i] - 1 + lengths[i])]), counts[i], hashes[i])
            }
        }
    }

    /// Adds `count` occurrences of `word`, counted in `totalWords` or not (a merge of partitions).
    mutating func add(_ word: UnsafeRawBufferPointer, count: Int, countingTotal: Bool) {
        let total = totalWords
        add(word, count: count)
        if !countingTotal { totalWords = total }
    }

    /// Adds the total of another table's words without its words (for partitioned merges).
    mutating func addToTotal(_ words: Int) { totalWords += words }

    /// Calls `body` with each distinct word and its count, in table order.
    public func forEach(_ body: (UnsafeRawBufferPointer, Int) -> Void) {
        arena.withUnsafeBytes { a in
            for i in 0..<starts.count where starts[i] != 0 {
                body(UnsafeRawBufferPointer(rebasing: a[Int(starts[i] - 1)..<Int(starts[i] - 1 + lengths[i])]), counts[i])
            }
        }
    }

    /// Adds every count of `other` (its pruned-word tally too).
    public mutating func merge(_ other: WordCounter) {
        let total = totalWords + other.totalWords
        other.forEach { word, count in add(word, count: count) }
        totalWords = total
        prunedWords += other.prunedWords
    }

    /// The words as strings with their counts, sorted by their UTF-8 bytes (a deterministic order).
    public func sortedWords() -> [(word: String, count: Int)] {
        var out: [(bytes: [UInt8], count: Int)] = []
        out.reserveCapacity(distinctWords)
        forEach { out.append((Array($0), $1)) }
        out.sort { $0.bytes.lexicographicallyPrecedes($1.bytes) }
        return out.map { (String(decoding: $0.bytes, as: UTF8.self), $0.count) }
    }
}
