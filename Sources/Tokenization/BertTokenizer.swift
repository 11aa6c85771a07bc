// The BERT WordPiece tokenizer: BertPreTokenizer's words, then WordPiece, with a cache of whole
// words (normalized bytes -> ids) since most words of a corpus repeat. Same output as HF
// tokenizers' BertWordPieceTokenizer without special tokens, except that special tokens are
// never produced from text ("[MASK]" in text is "[", "mask", "]").
import Foundation

/// Turns lines of text into WordPiece ids (no [CLS]/[SEP]: callers add those).
///
/// ```swift
/// var tokenizer = BertTokenizer(vocabulary: vocab, options: TokenizerOptions())
/// let ids = tokenizer.encode("Unaffable, isn't it?")
/// tokenizer.tokens(ids)   // ["una", "##ffa", "##ble", ",", "isn", "'", "t", "it", "?"]
/// ```
/// Not thread-safe (it owns caches): one per thread.
public struct BertTokenizer {
    public let vocabulary: Vocabulary
    public let options: TokenizerOptions
    private var preTokenizer: BertPreTokenizer
    private let wordPiece: WordPiece
    private let cache: WordCacheStorage
    private var missPieces: [UInt32] = []

    public init(vocabulary: Vocabulary, options: TokenizerOptions) {
        self.vocabulary = vocabulary
        self.options = options
        preTokenizer = BertPreTokenizer(options: options)
        wordPiece = WordPiece(vocabulary: vocabulary, maxInputCharsPerWord: options.maxInputCharsPerWord)
        cache = WordCacheStorage()
    }

    /// A tokenizer for another thread: it shares this one's read-only vocabulary trie (no rebuild)
    /// but has its own word cache and scratch buffers.
    public func copyForAnotherThread() -> BertTokenizer {
        BertTokenizer(vocabulary: vocabulary, options: options, wordPiece: wordPiece)
    }

    private init(vocabulary: Vocabulary, options: TokenizerOptions, wordPiece: WordPiece) {
        self.vocabulary = vocabulary
        self.options = options
        preTokenizer = BertPreTokenizer(options: options)
        self.wordPiece = wordPiece
        cache = WordCacheStorage()
    }

    /// Appends the ids of `line` to `ids`; returns the number of invalid UTF-8 bytes seen.
    /// - Complexity: O(n) in the line's length (amortized: new words cost a trie walk).
    public mutating func encode(_ line: UnsafeRawBufferPointer, into ids: inout [UInt32]) -> Int {
        // The loop captures only plain values (the cache struct, an unretained WordPiece), so
        // no reference counting happens per word.
        // Ids are collected in a buffer sized for the line and appended to `ids` once.
        let storage = cache
        storage.reserveLine(line.count)
        let out = storage.lineIDs
        var count = 0
        var wordCache = storage.cache
        var miss = missPieces
        missPieces = []
        let wordPiece = Unmanaged.passUnretained(self.wordPiece)
        let invalid = preTokenizer.forEachWord(in: line) { word in
            let n = word.count
            let p = word.baseAddress!.assumingMemoryBound(to: UInt8.self)
            let (h, head) = WordCache.hashPadded(p, n)
            let cached = wordCache.copyCached(p, n, h, head, to: out + count)
            if cached >= 0 { count &+= cached; return }
            miss.removeAll(keepingCapacity: true)
            _ = wordPiece._withUnsafeGuaranteedRef { $0.tokenize(word, into: &miss) }
            for id in miss { out[count] = id; count &+= 1 }
            wordCache.insert(p, n, h, head, miss)
        }
        ids.append(contentsOf: UnsafeBufferPointer(start: out, count: count))
        storage.cache = wordCache
        missPieces = miss
        return invalid
    }

    /// The ids of `text`.
    public mutating func encode(_ text: String) -> [UInt32] {
        var text = text
        var ids: [UInt32] = []
        _ = text.withUTF8 { encode(UnsafeRawBufferPointer($0), into: &ids) }
        return ids
    }

    /// WordPiece on one normalized word, without the word cache (the offsets path).
    func wordPieceTokenize(_ word: UnsafeRawBufferPointer, into ids: inout [UInt32]) -> Int {
        wordPiece.tokenize(word, into: &ids)
    }

    /// The token strings of `ids` (ids outside the vocabulary give "[UNK]").
    public func tokens(_ ids: [UInt32]) -> [String] {
        ids.map { Int($0) < vocabulary.count ? vocabulary.tokens[Int($0)] : "[UNK]" }
    }

    /// Number of distinct words in the word cache (for diagnostics).
    public var cachedWords: Int { cache.cache.count }
}

/// Owns a `WordCache`'s memory (the cache itself is a plain struct, so that the hot loop touches
/// no reference-counted object).
final class WordCacheStorage {
    var cache = WordCache()
    /// The ids of the line being encoded, appended to the caller's array once per line.
    var lineIDs = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)
    var lineIDsCapacity = 1

    /// Makes room for the ids of a line of `n` bytes: at most one per normalized byte, and
    /// normalization at most triples the bytes.
    @inline(__always)
    func reserveLine(_ n: Int) {
        if 3 * n + 16 > lineIDsCapacity {
            lineIDsCapacity = max(3 * n + 16, 2 * lineIDsCapacity)
            lineIDs.deallocate()
            lineIDs = .allocate(capacity: lineIDsCapacity)
        }
    }

    deinit {
        cache.deallocate()
        lineIDs.deallocate()
    }
}

/// Open-addressing hash table from a word's normalized bytes to its ids, with both stored in
/// flat arenas. Cleared when it reaches `maxEntries`, so memory stays bounded on any corpus.
/// An entry holds a word's first 8 bytes and, for one-piece words, the id itself: most lookups
/// touch one cache line.
struct WordCache {
    private struct Entry {
        var hash: UInt64       // 0 = empty
        var head: UInt64       // the first min(8, length) bytes, little-endian, zero-padded
        var keyOffset: UInt32  // the whole word in `keys` (words over 8 bytes)
        var keyLength: UInt32
        var idsOffset: UInt32  // the id itself when idsCount == 1
        var idsCount: UInt32
    }
    private static let empty = Entry(hash: 0, head: 0, keyOffset: 0, keyLength: 0, idsOffset: 0, idsCount: 0)

    static let maxEntries = 1 << 20
    static let maxArenaBytes = 1 << 26
    private var table: UnsafeMutablePointer<Entry>
    private var mask: Int
    private(set) var count = 0
    private var keys: UnsafeMutablePointer<UInt8>
    private var keysUsed = 0, keysCapacity = 1 << 16
    private var ids: UnsafeMutablePointer<UInt32>
    private var idsUsed = 0, idsCapacity = 1 << 14

    init() {
        mask = (1 << 12) - 1
        table = .allocate(capacity: mask + 1)
        table.initialize(repeating: WordCache.empty, count: mask + 1)
        keys = .allocate(capacity: keysCapacity)
        ids = .allocate(capacity: idsCapacity)
    }

    func deallocate() {
        table.deallocate()
        keys.deallocate()
        ids.deallocate()
    }

    /// A 64-bit hash of the `n` bytes at `p` (one multiply-xor step per 8 bytes), never 0, and the
    /// first min(8, n) bytes as a little-endian integer. At least 8 readable bytes must follow
    /// `p + n`: the tail is one masked load.
    @inline(__always)
    static func hashPadded(_ p: UnsafePointer<UInt8>, _ n: Int) -> (hash: UInt64, head: UInt64) {
        var h: UInt64 = 0x243F_6A88_85A3_08D3 ^ UInt64(n)
        let raw = UnsafeRawPointer(p)
        var head = raw.loadUnaligned(as: UInt64.self)
        if n < 8 { head &= (1 << (UInt64(n) << 3)) &- 1 }
        var i = 0
        while i + 8 <= n {
            let v = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            h = (h ^ v) &* 0x9E37_79B9_7F4A_7C15
            h ^= h >> 29
            i += 8
        }
        if i < n {
            let v = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) & ((1 << (UInt64(n - i) << 3)) &- 1)
            h = (h ^ v) &* 0x9E37_79B9_7F4A_7C15
            h ^= h >> 29
        }
        h = (h ^ (h >> 32)) &* 0xD6E8_FEB8_6659_FD93
        h ^= h >> 32
        return (h | 1, head)
    }

    /// Writes the cached ids of the word `p[0..<n]` (hash `h`) at `out`; returns their count,
    /// or -1 when the word is not cached.
    @inline(__always)
    func copyCached(_ p: UnsafePointer<UInt8>, _ n: Int, _ h: UInt64, _ head: UInt64,
                    to out: UnsafeMutablePointer<UInt32>) -> Int {
        var s = Int(truncatingIfNeeded: h >> 20) & mask
        while true {
            let e = table[s]
            if e.hash == 0 { return -1 }
            if e.hash == h && e.head == head && Int(e.keyLength) == n
                && (n <= 8 || WordCache.equal(keys + Int(e.keyOffset), p, n)) {
                if e.idsCount == 1 {
                    out[0] = e.idsOffset
                    return 1
                }
                out.update(from: ids + Int(e.idsOffset), count: Int(e.idsCount))
                return Int(e.idsCount)
            }
            s = (s + 1) & mask
        }
    }

    @inline(__always)
    private static func equal(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        var i = 0
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        while i + 8 <= n {
            if ra.loadUnaligned(fromByteOffset: i, as: UInt64.self) != rb.loadUnaligned(fromByteOffset: i, as: UInt64.self) {
                return false
            }
            i += 8
        }
        while i < n {
            if a[i] != b[i] { return false }
            i += 1
        }
        return true
    }

    /// Remembers that the word `p[0..<n]` (hash `h`, first bytes `head`) has the ids `pieces`.
    mutating func insert(_ p: UnsafePointer<UInt8>, _ n: Int, _ h: UInt64, _ head: UInt64, _ pieces: [UInt32]) {
        if count >= WordCache.maxEntries || keysUsed + n > WordCache.maxArenaBytes { clear() }
        if (count + 1) * 2 > mask + 1 { grow() }
        if keysUsed + n > keysCapacity {
            var c = keysCapacity * 2
            while c < keysUsed + n { c *= 2 }
            let k = UnsafeMutablePointer<UInt8>.allocate(capacity: c)
            k.update(from: keys, count: keysUsed)
            keys.deallocate()
            keys = k
            keysCapacity = c
        }
        if idsUsed + pieces.count > idsCapacity {
            var c = idsCapacity * 2
            while c < idsUsed + pieces.count { c *= 2 }
            let d = UnsafeMutablePointer<UInt32>.allocate(capacity: c)
            d.update(from: ids, count: idsUsed)
            ids.deallocate()
            ids = d
            idsCapacity = c
        }
        (keys + keysUsed).update(from: p, count: n)
        for (k, id) in pieces.enumerated() { ids[idsUsed + k] = id }
        var s = Int(truncatingIfNeeded: h >> 20) & mask
        while table[s].hash != 0 { s = (s + 1) & mask }
        table[s] = Entry(hash: h, head: head, keyOffset: UInt32(keysUsed), keyLength: UInt32(n),
                         idsOffset: pieces.count == 1 ? pieces[0] : UInt32(idsUsed), idsCount: UInt32(pieces.count))
        keysUsed += n
        idsUsed += pieces.count
        count += 1
    }

    private mutating func grow() {
        let old = table, oldSize = mask + 1
        mask = oldSize * 2 - 1
        table = .allocate(capacity: mask + 1)
        table.initialize(repeating: WordCache.empty, count: mask + 1)
        for i in 0..<oldSize where old[i].hash != 0 {
            var s = Int(truncatingIfNeeded: old[i].hash >> 20) & mask
            while table[s].hash != 0 { s = (s + 1) & mask }
            table[s] = old[i]
        }
        old.deallocate()
    }

    private mutating func clear() {
        table.update(repeating: WordCache.empty, count: mask + 1)
        count = 0
        keysUsed = 0
        idsUsed = 0
    }
}
