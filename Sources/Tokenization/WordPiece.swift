// Greedy longest-match-first WordPiece over the UTF-8 bytes of one normalized word, with the
// semantics of HF tokenizers models/wordpiece/mod.rs: continuation pieces are looked up with
// "##", a word longer than max_input_chars_per_word scalars is one [UNK], and if any part of a
// word has no match the whole word is one [UNK]. Longest match is found by walking a byte trie
// (tokens are valid UTF-8, so a match always ends on a scalar boundary of the word).

/// Splits normalized words into vocabulary ids.
///
/// ```swift
/// let wp = WordPiece(vocabulary: vocab, maxInputCharsPerWord: 100)
/// var ids: [UInt32] = []
/// "unaffable".utf8.withContiguousStorageIfAvailable { wp.tokenize(UnsafeRawBufferPointer($0), into: &ids) }
/// // ["una", "##ffa", "##ble"]
/// ```
final class WordPiece: @unchecked Sendable {
    let unkID: UInt32
    let maxInputCharsPerWord: Int
    /// Trie over every token's bytes (first piece) and over the bytes after "##" of continuation tokens.
    private let prefixRoot: UInt32
    private let continuationRoot: UInt32
    private var trie = ByteTrie()

    init(vocabulary: Vocabulary, maxInputCharsPerWord: Int) {
        unkID = vocabulary.unkID
        self.maxInputCharsPerWord = maxInputCharsPerWord
        // Edges are at most the bytes of all tokens (plus their "##" remainders): size the table once.
        let bytes = vocabulary.tokens.reduce(0) { $0 + 2 * $1.utf8.count }
        trie.reserve(edges: bytes)
        prefixRoot = trie.newNode()
        continuationRoot = trie.newNode()
        for (id, token) in vocabulary.tokens.enumerated() {
            let bytes = Array(token.utf8)
            trie.insert(bytes[...], root: prefixRoot, id: UInt32(id))
            if bytes.count > 2 && bytes[0] == UInt8(ascii: "#") && bytes[1] == UInt8(ascii: "#") {
                trie.insert(bytes[2...], root: continuationRoot, id: UInt32(id))
            }
        }
    }

    /// Appends the ids of `word` (normalized UTF-8 bytes) to `out`; returns how many were appended.
    /// - Complexity: O(n * longest token) in the word's length, usually O(n).
    @discardableResult
    func tokenize(_ word: UnsafeRawBufferPointer, into out: inout [UInt32]) -> Int {
        let n = word.count
        guard n > 0, let p = word.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return 0 }
        if n > maxInputCharsPerWord {
            var scalars = 0
            for i in 0..<n where p[i] & 0xC0 != 0x80 { scalars += 1 }
            if scalars > maxInputCharsPerWord { out.append(unkID); return 1 }
        }
        let first = out.count
        var start = 0
        while start < n {
            var node = start == 0 ? prefixRoot : continuationRoot
            var bestEnd = -1
            var bestID: UInt32 = 0
            var i = start
            while i < n {
                guard let child = trie.child(node, p[i]) else { break }
                node = child
                i += 1
                let id = trie.tokenID(node)
                if id != ByteTrie.none { bestEnd = i; bestID = id }
            }
            if bestEnd < 0 {
                out.removeSubrange(first...)
                out.append(unkID)
                return 1
            }
            out.append(bestID)
            start = bestEnd
        }
        return out.count - first
    }
}

/// A byte trie: nodes are integers, edges live in one open-addressing hash table keyed by
/// (node, byte), so memory is proportional to the number of edges.
struct ByteTrie {
    static let none = UInt32.max
    /// Token id per node (`none` when no token ends there).
    private var ids: [UInt32] = []
    /// Edge table: key = node << 8 | byte + 1 (0 = empty slot), value = child node.
    private var keys: [UInt64] = Array(repeating: 0, count: 1 << 10)
    private var values: [UInt32] = Array(repeating: 0, count: 1 << 10)
    private var edges = 0

    /// Sizes the edge table for `edges` edges (load factor at most 1/2).
    mutating func reserve(edges: Int) {
        var capacity = keys.count
        while capacity < 2 * edges + 2 { capacity *= 2 }
        if capacity > keys.count { rehash(capacity) }
        ids.reserveCapacity(edges + 2)
    }

    mutating func newNode() -> UInt32 {
        ids.append(ByteTrie.none)
        return UInt32(ids.count - 1)
    }

    @inline(__always)
    private static func slot(_ key: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }

    @inline(__always)
    func child(_ node: UInt32, _ byte: UInt8) -> UInt32? {
        let key = (UInt64(node) << 8 | UInt64(byte)) &+ 1
        let mask = keys.count - 1
        var s = ByteTrie.slot(key, mask)
        return keys.withUnsafeBufferPointer { k in
            while true {
                let found = k[s]
                if found == key { return values[s] }
                if found == 0 { return nil }
                s = (s + 1) & mask
            }
        }
    }

    @inline(__always)
    func tokenID(_ node: UInt32) -> UInt32 { ids[Int(node)] }

    mutating func insert(_ bytes: ArraySlice<UInt8>, root: UInt32, id: UInt32) {
        var node = root
        for b in bytes {
            if let c = child(node, b) {
                node = c
            } else {
                let c = newNode()
                addEdge(node, b, c)
                node = c
            }
        }
        // The first id wins (HF keeps a map token -> id; duplicates are refused by Vocabulary anyway).
        if ids[Int(node)] == ByteTrie.none { ids[Int(node)] = id }
    }

    private mutating func addEdge(_ node: UInt32, _ byte: UInt8, _ child: UInt32) {
        if (edges + 1) * 2 > keys.count { rehash(keys.count * 2) }
        let key = (UInt64(node) << 8 | UInt64(byte)) &+ 1
        let mask = keys.count - 1
        var s = ByteTrie.slot(key, mask)
        while keys[s] != 0 { s = (s + 1) & mask }
        keys[s] = key
        values[s] = child
        edges += 1
    }

    private mutating func rehash(_ capacity: Int) {
        let oldKeys = keys, oldValues = values
        keys = Array(repeating: 0, count: capacity)
        values = Array(repeating: 0, count: capacity)
        let mask = capacity - 1
        for (k, v) in zip(oldKeys, oldValues) where k != 0 {
            var s = ByteTrie.slot(k, mask)
            while keys[s] != 0 { s = (s + 1) & mask }
            keys[s] = k
            values[s] = v
        }
    }
}
