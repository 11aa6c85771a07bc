// Whether a source is text: decided by its beginning only, as file(1) and git do. A NUL byte in
// the first `binaryCheckLength` bytes, or the signature of a known binary format at offset 0,
// makes it binary; a NUL further on is a character of the text (clean-text drops it, as HF
// tokenizers' BertNormalizer does), so one stray NUL never costs a whole corpus file.
import Foundation

/// How many leading bytes (after decompression) decide whether a source is binary.
public let binaryCheckLength = 8192

/// Signatures of binary formats that may hold no NUL early on, with what to tell the user.
private let binarySignatures: [(bytes: [UInt8], what: String)] = [
    ([0x1F, 0x8B], "gzip data (name the file .gz to have it decompressed)"),
    ([0x28, 0xB5, 0x2F, 0xFD], "zstd data (name the file .zst to have it decompressed)"),
    ([0x89, 0x50, 0x4E, 0x47], "a PNG image"),
    ([0xFF, 0xD8, 0xFF], "a JPEG image"),
    ([0x47, 0x49, 0x46, 0x38], "a GIF image"),
    ([0x50, 0x4B, 0x03, 0x04], "a zip archive"),
    ([0x25, 0x50, 0x44, 0x46, 0x2D], "a PDF document"),
    ([0x7F, 0x45, 0x4C, 0x46], "an ELF executable"),
    ([0xFD, 0x37, 0x7A, 0x58, 0x5A], "xz data"),
]

/// Why the beginning of a source says it is binary, or nil for text.
///
/// ```swift
/// binaryReason(prefix: firstBytes)   // "NUL byte at offset 4" / "gzip data (...)" / nil
/// ```
/// - Parameter prefix: the first bytes of the (decompressed) source; only the first
///   `binaryCheckLength` are looked at.
/// - Complexity: O(min(prefix.count, binaryCheckLength)).
public func binaryReason(prefix: UnsafeRawBufferPointer) -> String? {
    guard let base = prefix.baseAddress, prefix.count > 0 else { return nil }
    for signature in binarySignatures where prefix.count >= signature.bytes.count {
        if signature.bytes.withUnsafeBytes({ memcmp($0.baseAddress!, base, signature.bytes.count) == 0 }) {
            return "starts like \(signature.what)"
        }
    }
    let n = min(prefix.count, binaryCheckLength)
    if let nul = memchr(base, 0, n) {
        return "NUL byte at offset \(UnsafeRawPointer(nul) - base), within the first \(binaryCheckLength) bytes"
    }
    return nil
}

/// True when `line` holds a NUL byte (counted with invalid UTF-8 as a damaged line).
@inline(__always)
public func containsNUL(_ line: UnsafeRawBufferPointer) -> Bool {
    guard let base = line.baseAddress, line.count > 0 else { return false }
    return memchr(base, 0, line.count) != nil
}
