// BERT normalization + pre-tokenization in one pass over UTF-8 bytes. Follows HF tokenizers
// normalizers/bert.rs (clean text, Chinese chars, strip accents = NFD then drop Mn, lowercase, in
// that order) and pre_tokenizers/bert.rs (split on whitespace, isolate punctuation).
// ASCII bytes take a table-driven fast path; a run of non-ASCII scalars goes through the full
// pipeline, including NFD canonical reordering (ASCII scalars are starters, so a run between
// ASCII bytes holds every reordering window).

/// Splits a line into normalized words, the one implementation shared by tokenizer and learner.
///
/// ```swift
/// var pre = BertPreTokenizer(options: TokenizerOptions())
/// let invalid = "Héllo, World!".utf8CString.withUnsafeBytes { raw in
///     pre.forEachWord(in: UnsafeRawBufferPointer(rebasing: raw.dropLast())) { word in
///         print(String(decoding: word, as: UTF8.self))   // hello  ,  world  !
///     }
/// }
/// ```
/// Not thread-safe (it owns scratch buffers): use one per thread.
public struct BertPreTokenizer {
    public let options: TokenizerOptions
    let unicode = BertUnicode.shared
    let scratch: Scratch

    /// Class of an ASCII byte once the options are applied.
    enum ByteClass: UInt8 { case word = 0, split = 1, punctuation = 2, drop = 3 }

    /// Buffers reused across lines; `word` holds the normalized bytes of the current word.
    final class Scratch {
        var word: UnsafeMutablePointer<UInt8>
        var capacity: Int
        /// ASCII byte -> `ByteClass` raw value, and byte -> normalized byte (lower-cased).
        let asciiClass: UnsafeMutablePointer<UInt8>
        let asciiMap: UnsafeMutablePointer<UInt8>
        var run: [UInt32] = []
        var stage: [UInt32] = []
        var decomposed: [UInt32] = []

        init() {
            capacity = 1024
            word = .allocate(capacity: capacity)
            asciiClass = .allocate(capacity: 128)
            asciiMap = .allocate(capacity: 128)
        }

        deinit {
            word.deallocate()
            asciiClass.deallocate()
            asciiMap.deallocate()
        }

        /// Makes room for `extra` more bytes after `length`.
        @inline(__always)
        func reserve(_ length: Int, _ extra: Int) {
            if length + extra > capacity {
                var bigger = capacity * 2
                while bigger < length + extra { bigger *= 2 }
                let new = UnsafeMutablePointer<UInt8>.allocate(capacity: bigger)
                new.update(from: word, count: length)
                word.deallocate()
                word = new
                capacity = bigger
            }
        }
    }

    /// A marker between words in the scalar pipeline (not a Unicode scalar).
    static let boundary: UInt32 = 0xFFFF_FFFF

    public init(options: TokenizerOptions) {
        self.options = options
        scratch = Scratch()
        for b in 0..<128 {
            let f = unicode.flags(UInt32(b))
            let cls: ByteClass
            if options.cleanText && f & BertUnicode.drop != 0 {
                cls = .drop
            } else if (options.cleanText && f & BertUnicode.cleanSpace != 0) || f & BertUnicode.whitespace != 0 {
                cls = .split
            } else if f & BertUnicode.punctuation != 0 {
                cls = .punctuation
            } else {
                cls = .word
            }
            scratch.asciiClass[b] = cls.rawValue
            var mapped = UInt8(b)
            if options.lowercase { unicode.forEachLowercased(UInt32(b)) { mapped = UInt8($0) } }
            scratch.asciiMap[b] = mapped
        }
    }

    /// Calls `body` with the normalized UTF-8 bytes of each word of `line` (raw, possibly invalid UTF-8 bytes).
    ///
    /// Invalid UTF-8 is decoded like Python's `errors="replace"` (one U+FFFD per maximal invalid
    /// subpart), which clean-text then drops. The buffer passed to `body` is valid only during the call.
    /// - Returns: the number of invalid UTF-8 bytes seen in `line`.
    /// - Complexity: O(n) in the line's length.
    @inline(__always)
    public mutating func forEachWord(in line: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) -> Int {
        guard let start = line.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return 0 }
        let n = line.count
        let s = scratch
        s.reserve(0, n + 16)
        let asciiClass = s.asciiClass, asciiMap = s.asciiMap
        var w = s.word
        var len = 0
        var invalid = 0
        var i = 0
        while i < n {
            let b = start[i]
            if b < 0x80 {
                let cls = asciiClass[Int(b)]
                if cls == 0 {
                    w[len] = asciiMap[Int(b)]
                    len &+= 1
                } else if cls == 1 {
                    if len > 0 { body(UnsafeRawBufferPointer(start: w, count: len)); len = 0 }
                } else if cls == 2 {
                    if len > 0 { body(UnsafeRawBufferPointer(start: w, count: len)) }
                    w[0] = b
                    body(UnsafeRawBufferPointer(start: w, count: 1))
                    len = 0
                }
                i &+= 1
            } else {
                i = nonASCIIRun(start, n, from: i, length: &len, invalid: &invalid, body)
                // The slow path may have grown the buffer; keep room for the ASCII rest of the line.
                s.reserve(len, n - i + 16)
                w = s.word
            }
        }
        if len > 0 { body(UnsafeRawBufferPointer(start: w, count: len)) }
        return invalid
    }

    /// Normalizes the run of non-ASCII scalars (and dropped ASCII controls) starting at `i`,
    /// appending to the current word and emitting finished words; returns where the run ends.
    private func nonASCIIRun(_ bytes: UnsafePointer<UInt8>, _ n: Int, from start: Int, length len: inout Int,
                             invalid: inout Int, _ body: (UnsafeRawBufferPointer) -> Void) -> Int {
        let s = scratch
        let clean = options.cleanText
        s.run.removeAll(keepingCapacity: true)
        var i = start
        while i < n {
            let b = bytes[i]
            if b < 0x80 {
                // A control that clean-text drops does not end the run: the scalars around it meet in NFD.
                if clean && s.asciiClass[Int(b)] == ByteClass.drop.rawValue { i += 1; continue }
                break
            }
            let (scalar, used, valid) = decodeUTF8(bytes, n, i)
            if !valid { invalid += used }
            s.run.append(scalar)
            i += used
        }

        // Clean text and Chinese characters, per scalar.
        s.stage.removeAll(keepingCapacity: true)
        for c in s.run {
            if clean {
                let f = unicode.flags(c)
                if f & BertUnicode.drop != 0 { continue }
                if f & BertUnicode.cleanSpace != 0 { s.stage.append(Self.boundary); continue }
            }
            if options.handleChineseChars && BertUnicode.isChineseChar(c) {
                s.stage.append(Self.boundary)
                s.stage.append(c)
                s.stage.append(Self.boundary)
                continue
            }
            s.stage.append(c)
        }

        // Strip accents: NFD (decompose, then canonical reordering), then drop Mn.
        if options.stripsAccents {
            s.decomposed.removeAll(keepingCapacity: true)
            for c in s.stage {
                if c == Self.boundary { s.decomposed.append(c) } else { unicode.appendDecomposition(of: c, to: &s.decomposed) }
            }
            canonicalReorder(&s.decomposed)
            s.stage.removeAll(keepingCapacity: true)
            for c in s.decomposed where c == Self.boundary || unicode.flags(c) & BertUnicode.nonspacingMark == 0 {
                s.stage.append(c)
            }
        }

        // Lowercase, then split on whitespace and isolate punctuation.
        let lower = options.lowercase
        for c in s.stage {
            if c == Self.boundary {
                if len > 0 { body(UnsafeRawBufferPointer(start: s.word, count: len)); len = 0 }
            } else if lower {
                unicode.forEachLowercased(c) { emit($0, &len, body) }
            } else {
                emit(c, &len, body)
            }
        }
        return i
    }

    /// Pre-tokenizes one normalized scalar: whitespace ends the word, punctuation is a word alone.
    @inline(__always)
    private func emit(_ c: UInt32, _ len: inout Int, _ body: (UnsafeRawBufferPointer) -> Void) {
        let s = scratch
        let f = unicode.flags(c)
        if f & BertUnicode.whitespace != 0 {
            if len > 0 { body(UnsafeRawBufferPointer(start: s.word, count: len)); len = 0 }
        } else if f & BertUnicode.punctuation != 0 {
            if len > 0 { body(UnsafeRawBufferPointer(start: s.word, count: len)) }
            len = encodeUTF8(c, s.word)
            body(UnsafeRawBufferPointer(start: s.word, count: len))
            len = 0
        } else {
            s.reserve(len, 4)
            len += encodeUTF8(c, s.word + len)
        }
    }

    /// Stable-sorts every maximal run of non-starters by combining class (Unicode canonical ordering).
    private func canonicalReorder(_ a: inout [UInt32]) {
        var i = 0
        let n = a.count
        while i < n {
            if a[i] == Self.boundary || unicode.combiningClass(a[i]) == 0 { i += 1; continue }
            var j = i
            while j < n && a[j] != Self.boundary && unicode.combiningClass(a[j]) != 0 { j += 1 }
            if j - i > 1 {
                // Insertion sort: runs are a few marks long and must stay stable.
                for k in (i + 1)..<j {
                    let x = a[k]
                    let cx = unicode.combiningClass(x)
                    var m = k - 1
                    while m >= i && unicode.combiningClass(a[m]) > cx { a[m + 1] = a[m]; m -= 1 }
                    a[m + 1] = x
                }
            }
            i = j
        }
    }
}

/// Decodes the scalar at `i`; an invalid sequence yields U+FFFD covering its maximal subpart
/// (the Unicode / WHATWG / Python `errors="replace"` convention).
/// - Returns: the scalar, the bytes used, and whether they were valid UTF-8.
@inline(__always)
func decodeUTF8(_ p: UnsafePointer<UInt8>, _ n: Int, _ i: Int) -> (UInt32, Int, Bool) {
    let b0 = p[i]
    if b0 < 0x80 { return (UInt32(b0), 1, true) }
    var need: Int
    var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
    var value: UInt32
    switch b0 {
    case 0xC2...0xDF: need = 1; value = UInt32(b0 & 0x1F)
    case 0xE0: need = 2; lo = 0xA0; value = UInt32(b0 & 0x0F)
    case 0xE1...0xEC, 0xEE...0xEF: need = 2; value = UInt32(b0 & 0x0F)
    case 0xED: need = 2; hi = 0x9F; value = UInt32(b0 & 0x0F)
    case 0xF0: need = 3; lo = 0x90; value = UInt32(b0 & 0x07)
    case 0xF1...0xF3: need = 3; value = UInt32(b0 & 0x07)
    case 0xF4: need = 3; hi = 0x8F; value = UInt32(b0 & 0x07)
    default: return (0xFFFD, 1, false)
    }
    var k = 1
    while need > 0 {
        guard i + k < n else { return (0xFFFD, k, false) }
        let b = p[i + k]
        guard b >= lo && b <= hi else { return (0xFFFD, k, false) }
        value = value << 6 | UInt32(b & 0x3F)
        lo = 0x80; hi = 0xBF
        k += 1
        need -= 1
    }
    return (value, k, true)
}

/// Writes the UTF-8 encoding of scalar `c` at `out`; returns the byte count.
@inline(__always)
func encodeUTF8(_ c: UInt32, _ out: UnsafeMutablePointer<UInt8>) -> Int {
    if c < 0x80 { out[0] = UInt8(c); return 1 }
    if c < 0x800 { out[0] = UInt8(0xC0 | c >> 6); out[1] = UInt8(0x80 | c & 0x3F); return 2 }
    if c < 0x10000 {
        out[0] = UInt8(0xE0 | c >> 12); out[1] = UInt8(0x80 | (c >> 6) & 0x3F); out[2] = UInt8(0x80 | c & 0x3F)
        return 3
    }
    out[0] = UInt8(0xF0 | c >> 18); out[1] = UInt8(0x80 | (c >> 12) & 0x3F)
    out[2] = UInt8(0x80 | (c >> 6) & 0x3F); out[3] = UInt8(0x80 | c & 0x3F)
    return 4
}
