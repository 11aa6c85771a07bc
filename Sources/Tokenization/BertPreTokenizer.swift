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
        /// Normalized bytes of the current word; at least 3 bytes per input byte (HF's largest
        /// expansion: a Hangul syllable, 3 bytes, becomes 3 jamo of 3 bytes) plus slack.
        var word: UnsafeMutablePointer<UInt8>
        var wordCapacity = 0
        /// Scalars of the current non-ASCII run.
        var run: UnsafeMutablePointer<UInt32>
        var runCapacity = 0
        /// ASCII byte -> `ByteClass` raw value, and byte -> normalized byte (lower-cased).
        let asciiClass: UnsafeMutablePointer<UInt8>
        let asciiMap: UnsafeMutablePointer<UInt8>
        /// Buffers of the reordering path.
        var stage: [UInt32] = []
        var decomposed: [UInt32] = []

        init() {
            word = .allocate(capacity: 1)
            run = .allocate(capacity: 1)
            asciiClass = .allocate(capacity: 128)
            asciiMap = .allocate(capacity: 128)
        }

        deinit {
            word.deallocate()
            run.deallocate()
            asciiClass.deallocate()
            asciiMap.deallocate()
        }

        /// Makes room for a line of `n` bytes.
        @inline(__always)
        func reserve(lineBytes n: Int) {
            if 3 * n + 16 > wordCapacity {
                wordCapacity = max(3 * n + 16, 2 * wordCapacity, 1024)
                word.deallocate()
                word = .allocate(capacity: wordCapacity)
                word.initialize(repeating: 0, count: wordCapacity)  // read past a word's end by hashing
            }
            if n + 1 > runCapacity {
                runCapacity = max(n + 1, 2 * runCapacity, 256)
                run.deallocate()
                run = .allocate(capacity: runCapacity)
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
    /// subpart), which clean-text then drops. The buffer passed to `body` is valid only during the call;
    /// at least 8 initialized bytes follow its end (so a hash may load whole 8-byte words).
    /// - Returns: the number of invalid UTF-8 bytes seen in `line`.
    /// - Complexity: O(n) in the line's length.
    @inline(__always)
    public mutating func forEachWord(in line: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) -> Int {
        guard let start = line.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return 0 }
        let n = line.count
        let s = scratch
        s.reserve(lineBytes: n)
        let asciiClass = s.asciiClass, asciiMap = s.asciiMap
        let w = s.word
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
                continue
            }
            i = nonASCIIRun(start, n, i, w, &len, &invalid, body)
        }
        if len > 0 { body(UnsafeRawBufferPointer(start: w, count: len)) }
        return invalid
    }

    /// Normalizes the run of non-ASCII scalars starting at `i`, appending to the current word and
    /// emitting finished words; returns where the run ends. Kept out of line so that the ASCII
    /// loop stays small. A control that clean-text drops does not end the run (the scalars around
    /// it meet in NFD); ASCII scalars are starters, so canonical reordering stays inside a run.
    @inline(never)
    private func nonASCIIRun(_ start: UnsafePointer<UInt8>, _ n: Int, _ from: Int, _ w: UnsafeMutablePointer<UInt8>,
                             _ len: inout Int, _ invalid: inout Int, _ body: (UnsafeRawBufferPointer) -> Void) -> Int {
        let run = scratch.run, asciiClass = scratch.asciiClass
        let clean = options.cleanText, strip = options.stripsAccents
        var i = from
        var count = 0
        var needsReordering = false
        while i < n {
            let b = start[i]
            if b < 0x80 {
                if clean && asciiClass[Int(b)] == ByteClass.drop.rawValue { i &+= 1; continue }
                break
            }
            let (scalar, used, valid) = decodeUTF8(start, n, i)
            if !valid { invalid &+= used }
            run[count] = scalar
            count &+= 1
            i &+= used
            if strip && unicode.flags(scalar) & BertUnicode.keptNonStarter != 0 { needsReordering = true }
        }
        if needsReordering {
            reorderingRun(run, count, w, &len, body)
        } else {
            for k in 0..<count { normalize(run[k], w, &len, body) }
        }
        return i
    }

    /// Normalizes one scalar when no canonical reordering can matter: clean text, Chinese
    /// characters, NFD without the dropped Mn, lower case, then pre-tokenization.
    @inline(__always)
    private func normalize(_ c: UInt32, _ w: UnsafeMutablePointer<UInt8>, _ len: inout Int,
                           _ body: (UnsafeRawBufferPointer) -> Void) {
        let f = unicode.flags(c)
        if options.cleanText {
            if f & BertUnicode.drop != 0 { return }
            if f & BertUnicode.cleanSpace != 0 {
                if len > 0 { body(UnsafeRawBufferPointer(start: w, count: len)); len = 0 }
                return
            }
        }
        let chinese = options.handleChineseChars && BertUnicode.isChineseChar(c)
        if chinese, len > 0 { body(UnsafeRawBufferPointer(start: w, count: len)); len = 0 }
        if options.stripsAccents {
            if c >= 0xAC00 && c <= 0xD7A3 {
                // Hangul syllable: L V (T), all starters without case.
                let sIndex = c - 0xAC00
                emit(0x1100 + sIndex / 588, w, &len, body)
                emit(0x1161 + (sIndex % 588) / 28, w, &len, body)
                if sIndex % 28 != 0 { emit(0x11A7 + sIndex % 28, w, &len, body) }
            } else if let d = unicode.decompositionMapping(c) {
                for x in d where unicode.flags(x) & BertUnicode.nonspacingMark == 0 { lowercaseAndEmit(x, w, &len, body) }
            } else if f & BertUnicode.nonspacingMark == 0 {
                lowercaseAndEmit(c, w, &len, body)
            }
        } else {
            lowercaseAndEmit(c, w, &len, body)
        }
        if chinese, len > 0 { body(UnsafeRawBufferPointer(start: w, count: len)); len = 0 }
    }

    @inline(__always)
    private func lowercaseAndEmit(_ c: UInt32, _ w: UnsafeMutablePointer<UInt8>, _ len: inout Int,
                                  _ body: (UnsafeRawBufferPointer) -> Void) {
        if options.lowercase, let lower = unicode.lowercaseMapping(c) {
            for x in lower { emit(x, w, &len, body) }
        } else {
            emit(c, w, &len, body)
        }
    }

    /// The full pipeline over a run whose NFD keeps several non-starters: decompose the whole run,
    /// reorder canonically, drop Mn, then lower-case and pre-tokenize.
    private func reorderingRun(_ run: UnsafeMutablePointer<UInt32>, _ count: Int, _ w: UnsafeMutablePointer<UInt8>,
                               _ len: inout Int, _ body: (UnsafeRawBufferPointer) -> Void) {
        let s = scratch
        var stage = s.stage, decomposed = s.decomposed
        s.stage = []
        s.decomposed = []
        stage.removeAll(keepingCapacity: true)
        decomposed.removeAll(keepingCapacity: true)
        for k in 0..<count {
            let c = run[k]
            if options.cleanText {
                let f = unicode.flags(c)
                if f & BertUnicode.drop != 0 { continue }
                if f & BertUnicode.cleanSpace != 0 { stage.append(Self.boundary); continue }
            }
            if options.handleChineseChars && BertUnicode.isChineseChar(c) {
                stage.append(Self.boundary)
                stage.append(c)
                stage.append(Self.boundary)
                continue
            }
            stage.append(c)
        }
        for c in stage {
            if c == Self.boundary { decomposed.append(c) } else { unicode.appendDecomposition(of: c, to: &decomposed) }
        }
        canonicalReorder(&decomposed)
        for c in decomposed {
            if c == Self.boundary {
                if len > 0 { body(UnsafeRawBufferPointer(start: w, count: len)); len = 0 }
            } else if unicode.flags(c) & BertUnicode.nonspacingMark == 0 {
                lowercaseAndEmit(c, w, &len, body)
            }
        }
        s.stage = stage
        s.decomposed = decomposed
    }

    /// Pre-tokenizes one normalized scalar: whitespace ends the word, punctuation is a word alone.
    @inline(__always)
    private func emit(_ c: UInt32, _ w: UnsafeMutablePointer<UInt8>, _ len: inout Int,
                      _ body: (UnsafeRawBufferPointer) -> Void) {
        let f = unicode.flags(c)
        if f & (BertUnicode.whitespace | BertUnicode.punctuation) == 0 {
            len &+= encodeUTF8(c, w + len)
        } else if f & BertUnicode.whitespace != 0 {
            if len > 0 { body(UnsafeRawBufferPointer(start: w, count: len)); len = 0 }
        } else {
            if len > 0 { body(UnsafeRawBufferPointer(start: w, count: len)) }
            len = encodeUTF8(c, w)
            body(UnsafeRawBufferPointer(start: w, count: len))
            len = 0
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
