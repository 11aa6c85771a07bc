// Sentence boundaries for lossless packing: a line longer than an example is split into its
// sentences before it is packed. The rule is Unicode UAX #29's sentence rules, simplified to
// what packing needs (documented in data/FORMAT.md):
//
// - a sentence ends after a run of terminators (STerm: ! ? and their forms in other scripts,
//   among them 。！？; ATerm: . and its forms), the closing punctuation after it (quotes,
//   brackets: Unicode Pe, Pf, and ' " »), and the spaces after that (SB9-SB11);
// - after a run of only ATerms (a full stop), no sentence ends when no space follows (3.14,
//   e.g, www.example.org, U.S; SB6, SB7) or when the next letter after the spaces is lower
//   case (etc. and so on; SB8);
// - after any terminator, no sentence ends before , ; : or another terminator (SB8a).
//
// The boundaries fall after punctuation and spaces, which the BERT pre-tokenizer always splits
// at, so the tokens of the sentences, concatenated, are the tokens of the whole line.

/// Byte offsets in `line` where its sentences start, 0 first (see the file comment).
/// - Complexity: O(line length).
func sentenceStarts(_ line: UnsafeRawBufferPointer) -> [Int] {
    var starts = [0]
    let n = line.count
    var i = 0
    while i < n {
        let b = line[i]
        // ASCII fast path: only . ! ? can end a sentence.
        if b < 0x80 && b != 0x2E && b != 0x21 && b != 0x3F { i += 1; continue }
        let (c, length) = decodeScalar(line, at: i)
        guard let kind = terminatorKind(c) else { i += length; continue }
        var onlyFullStops = kind == .fullStop
        var j = i + length
        while j < n {
            let (c2, l2) = decodeScalar(line, at: j)
            guard let k2 = terminatorKind(c2) else { break }
            if k2 != .fullStop { onlyFullStops = false }
            j += l2
        }
        while j < n {
            let (c2, l2) = decodeScalar(line, at: j)
            guard isCloser(c2) else { break }
            j += l2
        }
        var k = j
        while k < n {
            let (c2, l2) = decodeScalar(line, at: k)
            guard isSentenceSpace(c2) else { break }
            k += l2
        }
        if k >= n { break }   // the line's end ends the sentence anyway
        let (next, _) = decodeScalar(line, at: k)
        var ends = !continuesSentence(next)
        if ends && onlyFullStops {
            ends = k > j && !nextLetterIsLowercase(line, from: k)
        }
        if ends { starts.append(k) }
        i = k
    }
    return starts
}

enum TerminatorKind { case fullStop, sentence }

/// UAX #29's ATerm (full stops) and STerm (sentence terminators), for the scalars that carry them.
@inline(__always)
func terminatorKind(_ c: Unicode.Scalar?) -> TerminatorKind? {
    guard let c else { return nil }
    switch c.value {
    case 0x2E, 0x2024, 0xFE52, 0xFF0E:
        return .fullStop
    case 0x21, 0x3F, 0x0589, 0x061F, 0x06D4, 0x0700...0x0702, 0x07F9, 0x0964, 0x0965, 0x104A, 0x104B,
         0x1362, 0x1367, 0x1368, 0x166E, 0x1803, 0x1809, 0x1944, 0x1945, 0x203C, 0x203D, 0x2047...0x2049,
         0x2E2E, 0x3002, 0xA4FF, 0xA60E, 0xA60F, 0xA6F3, 0xA6F7, 0xFE56, 0xFE57, 0xFF01, 0xFF1F, 0xFF61:
        return .sentence
    default:
        return nil
    }
}

/// Closing punctuation that stays with the sentence it follows (UAX #29's Close, simplified).
@inline(__always)
private func isCloser(_ c: Unicode.Scalar?) -> Bool {
    guard let c else { return false }
    switch c.value {
    case 0x22, 0x27, 0x29, 0x5D, 0x7D, 0xBB: return true
    case 0..<0x80: return false
    default:
        switch c.properties.generalCategory {
        case .closePunctuation, .finalPunctuation: return true
        default: return false
        }
    }
}

/// Spaces between sentences (UAX #29's Sp: the white space a line can hold).
@inline(__always)
private func isSentenceSpace(_ c: Unicode.Scalar?) -> Bool {
    guard let c else { return false }
    switch c.value {
    case 0x09, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
        return true
    default:
        return false
    }
}

/// UAX #29's SContinue and the terminators: after them the sentence goes on (SB8a).
@inline(__always)
private func continuesSentence(_ c: Unicode.Scalar?) -> Bool {
    guard let c else { return false }
    switch c.value {
    case 0x2C, 0x3A, 0x3B, 0x2D, 0xFE50, 0xFE51, 0xFE55, 0xFF0C, 0xFF1A, 0xFF1B, 0x3001: return true
    default: return terminatorKind(c) != nil
    }
}

/// SB8: the first letter from `start` on, skipping what is neither a letter nor a terminator,
/// is lower case.
private func nextLetterIsLowercase(_ line: UnsafeRawBufferPointer, from start: Int) -> Bool {
    var i = start
    while i < line.count {
        let (c, length) = decodeScalar(line, at: i)
        i += length
        guard let c else { continue }
        if terminatorKind(c) != nil { return false }
        if c.value < 0x80 {
            let b = UInt8(c.value)
            if b >= 0x61 && b <= 0x7A { return true }
            if b >= 0x41 && b <= 0x5A { return false }
            continue
        }
        let p = c.properties
        if p.isLowercase { return true }
        if p.isAlphabetic { return false }
    }
    return false
}

/// The scalar at byte `i` and its length in bytes (nil and 1 for a byte that starts no valid
/// UTF-8 sequence).
@inline(__always)
func decodeScalar(_ s: UnsafeRawBufferPointer, at i: Int) -> (Unicode.Scalar?, Int) {
    let b0 = s[i]
    if b0 < 0x80 { return (Unicode.Scalar(b0), 1) }
    let n = s.count
    func cont(_ k: Int) -> UInt32? {
        guard i + k < n else { return nil }
        let b = s[i + k]
        return b & 0xC0 == 0x80 ? UInt32(b & 0x3F) : nil
    }
    if b0 >= 0xC2 && b0 <= 0xDF, let c1 = cont(1) {
        return (Unicode.Scalar((UInt32(b0 & 0x1F) << 6) | c1), 2)
    }
    if b0 >= 0xE0 && b0 <= 0xEF, let c1 = cont(1), let c2 = cont(2) {
        let v = (UInt32(b0 & 0x0F) << 12) | (c1 << 6) | c2
        if v >= 0x800, let scalar = Unicode.Scalar(v) { return (scalar, 3) }
        return (nil, 1)
    }
    if b0 >= 0xF0 && b0 <= 0xF4, let c1 = cont(1), let c2 = cont(2), let c3 = cont(3) {
        let v = (UInt32(b0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3
        if v >= 0x10000, let scalar = Unicode.Scalar(v) { return (scalar, 4) }
        return (nil, 1)
    }
    return (nil, 1)
}
