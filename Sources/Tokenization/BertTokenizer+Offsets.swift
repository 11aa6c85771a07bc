// Token offsets into the original text, as HF tokenizers' BertTokenizerFast returns them with
// return_offsets_mapping: follows normalizer.rs's NormalizedString alignments through
// normalizers/bert.rs (clean text: a filter and a map, which keep each character's alignment;
// Chinese characters: the added spaces share the character's; NFD: `transform`, where a character
// whose change is 0 takes the alignment of the next original character and an added one (change
// 1) that of the one before, so after canonical reordering the alignment follows the position;
// dropping Mn: a filter; lower case: added characters share the alignment), then the
// pre-tokenizer's words and WordPiece's pieces, whose offsets are the alignment of their first
// byte's start and of their last byte's end. Offsets count Unicode scalars of the line as decoded
// (an invalid UTF-8 subpart is one U+FFFD), Python's string indices, end exclusive.
// This path is separate from `encode` (the shards' path, which tracks nothing): it works on
// arrays of (scalar, alignment) and is several times slower.

/// One token of a line and where it comes from.
public struct TokenSpan: Equatable, Sendable {
    public var id: UInt32
    /// Unicode scalar offsets into the line, end exclusive.
    public var start: Int, end: Int

    public init(id: UInt32, start: Int, end: Int) {
        self.id = id; self.start = start; self.end = end
    }
}

extension BertTokenizer {
    /// The tokens of `line` (raw, possibly invalid UTF-8) with their offsets in the line's scalars;
    /// the same ids as `encode`.
    ///
    /// ```swift
    /// tokenizer.encodeWithOffsets("Héllo!")   // [hello 0..<5, ! 5..<6]
    /// ```
    /// - Complexity: O(n) in the line's length.
    public mutating func encodeWithOffsets(_ line: UnsafeRawBufferPointer) -> [TokenSpan] {
        var invalid = 0
        return encodeWithOffsets(line, invalidBytes: &invalid)
    }

    /// `encodeWithOffsets(_:)`, adding the number of invalid UTF-8 bytes seen in `line` to `invalidBytes`.
    public mutating func encodeWithOffsets(_ line: UnsafeRawBufferPointer, invalidBytes: inout Int) -> [TokenSpan] {
        let aligner = OffsetNormalizer(options: options)
        let words = aligner.words(line, invalidBytes: &invalidBytes)
        var out: [TokenSpan] = []
        var ids: [UInt32] = []
        var bytes: [UInt8] = [], byteAlign: [(Int, Int)] = []
        for word in words {
            bytes.removeAll(keepingCapacity: true)
            byteAlign.removeAll(keepingCapacity: true)
            var buffer: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
            for (c, a) in word {
                let n = withUnsafeMutableBytes(of: &buffer) { encodeUTF8(c, $0.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
                withUnsafeBytes(of: &buffer) { bytes.append(contentsOf: $0.prefix(n)) }
                for _ in 0..<n { byteAlign.append(a) }
            }
            ids.removeAll(keepingCapacity: true)
            bytes.withUnsafeBytes { _ = wordPieceTokenize($0, into: &ids) }
            var start = 0
            for id in ids {
                let length: Int
                if id == vocabulary.unkID && ids.count == 1 {
                    length = bytes.count   // the whole word is one [UNK]
                } else {
                    let token = vocabulary.tokens[Int(id)].utf8
                    length = start == 0 ? token.count : token.count - 2
                }
                let end = min(start + length, bytes.count)
                out.append(TokenSpan(id: id, start: byteAlign[start].0, end: byteAlign[end - 1].1))
                start = end
            }
        }
        return out
    }

    /// The tokens of `text` with their offsets in its Unicode scalars.
    public mutating func encodeWithOffsets(_ text: String) -> [TokenSpan] {
        var text = text
        return text.withUTF8 { encodeWithOffsets(UnsafeRawBufferPointer($0)) }
    }
}

/// HF's BertNormalizer and BertPreTokenizer over (scalar, alignment) pairs.
struct OffsetNormalizer {
    typealias Aligned = (scalar: UInt32, align: (Int, Int))
    let options: TokenizerOptions
    let unicode = BertUnicode.shared

    init(options: TokenizerOptions) { self.options = options }

    /// The pre-tokenized words of `line`, each scalar with its original (start, end) in the line's scalars.
    func words(_ line: UnsafeRawBufferPointer, invalidBytes: inout Int) -> [[Aligned]] {
        guard let p = line.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return [] }
        var s: [Aligned] = []
        s.reserveCapacity(line.count)
        var i = 0, k = 0
        while i < line.count {
            let (c, used, valid) = decodeUTF8(p, line.count, i)
            if !valid { invalidBytes += used }
            s.append((c, (k, k + 1)))
            i += used
            k += 1
        }
        if options.cleanText {   // filter + map: alignments kept
            s = s.compactMap { x in
                let f = unicode.flags(x.scalar)
                if f & BertUnicode.drop != 0 { return nil }
                return f & BertUnicode.cleanSpace != 0 ? (0x20, x.align) : x
            }
        }
        if options.handleChineseChars {   // (' ', 0), (c, 1), (' ', 1): all share c's alignment
            var t: [Aligned] = []
            t.reserveCapacity(s.count)
            for x in s {
                if BertUnicode.isChineseChar(x.scalar) { t.append((0x20, x.align)); t.append(x); t.append((0x20, x.align)) } else { t.append(x) }
            }
            s = t
        }
        if options.stripsAccents { s = nfdWithoutMn(s) }
        if options.lowercase {   // added characters share the alignment
            var t: [Aligned] = []
            t.reserveCapacity(s.count)
            for x in s {
                if let lower = unicode.lowercaseMapping(x.scalar) { for c in lower { t.append((c, x.align)) } } else { t.append(x) }
            }
            s = t
        }
        // Pre-tokenization: whitespace ends a word, punctuation is a word alone.
        var words: [[Aligned]] = [], word: [Aligned] = []
        for x in s {
            let f = unicode.flags(x.scalar)
            if f & BertUnicode.whitespace != 0 {
                if !word.isEmpty { words.append(word); word = [] }
            } else if f & BertUnicode.punctuation != 0 {
                if !word.isEmpty { words.append(word); word = [] }
                words.append([x])
            } else {
                word.append(x)
            }
        }
        if !word.isEmpty { words.append(word) }
        return words
    }

    /// NFD with canonical reordering, alignments as NormalizedString::transform gives them, then
    /// the nonspacing marks dropped (a filter: the others keep theirs).
    private func nfdWithoutMn(_ s: [Aligned]) -> [Aligned] {
        // Each decomposed scalar with its change: 0 for the first of a character's decomposition, 1 after.
        var d: [(scalar: UInt32, added: Bool, ccc: UInt8)] = []
        d.reserveCapacity(s.count)
        var pieces: [UInt32] = []
        for x in s {
            pieces.removeAll(keepingCapacity: true)
            unicode.appendDecomposition(of: x.scalar, to: &pieces)
            for (j, c) in pieces.enumerated() { d.append((c, j > 0, unicode.combiningClass(c))) }
        }
        // Stable sort of every maximal run of non-starters by combining class.
        var i = 0
        while i < d.count {
            if d[i].ccc == 0 { i += 1; continue }
            var j = i
            while j < d.count && d[j].ccc != 0 { j += 1 }
            if j - i > 1 {
                for k in (i + 1)..<j {
                    let x = d[k]
                    var m = k - 1
                    while m >= i && d[m].ccc > x.ccc { d[m + 1] = d[m]; m -= 1 }
                    d[m + 1] = x
                }
            }
            i = j
        }
        var out: [Aligned] = []
        out.reserveCapacity(d.count)
        var next = 0   // the next original character a change-0 scalar replaces
        for x in d {
            let align: (Int, Int)
            if x.added {
                align = next > 0 ? s[next - 1].align : (0, 0)
            } else {
                align = s[next].align
                next += 1
            }
            if unicode.flags(x.scalar) & BertUnicode.nonspacingMark == 0 { out.append((x.scalar, align)) }
        }
        return out
    }
}
