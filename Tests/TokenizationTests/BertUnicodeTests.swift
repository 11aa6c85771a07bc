// The generated HF Unicode tables against Swift's own Unicode data: they must agree where the
// Unicode versions cannot differ (ASCII, Latin-1), and the test reports how much they differ
// elsewhere (why the tables are generated from HF tokenizers instead of taken from Swift).
import Foundation
@testable import Tokenization
import XCTest

final class BertUnicodeTests: XCTestCase {
    private let u = BertUnicode.shared

    /// HF's decisions as Swift's standard library would make them.
    private func swiftFlags(_ s: Unicode.Scalar) -> (drop: Bool, whitespace: Bool, punct: Bool, mn: Bool) {
        let p = s.properties
        let category = p.generalCategory
        let isOther: Bool
        switch category {
        case .control, .format, .privateUse, .surrogate: isOther = true   // HF's is_other has no Cn
        default: isOther = false
        }
        let tabs = s == "\t" || s == "\n" || s == "\r"
        let punct: Bool
        switch category {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
             .finalPunctuation, .otherPunctuation: punct = true
        default: punct = s.isASCII && (33...47 ~= s.value || 58...64 ~= s.value || 91...96 ~= s.value || 123...126 ~= s.value)
        }
        return (!tabs && (isOther || s.value == 0 || s.value == 0xFFFD), p.isWhitespace, punct, category == .nonspacingMark)
    }

    private func differences(in range: ClosedRange<UInt32>) -> (flags: Int, lower: Int, firstFlag: UInt32?) {
        var flags = 0, lower = 0
        var first: UInt32?
        for v in range {
            guard let s = Unicode.Scalar(v) else { continue }
            let f = u.flags(v)
            let ours = swiftFlags(s)
            if ours.drop != (f & BertUnicode.drop != 0) || ours.whitespace != (f & BertUnicode.whitespace != 0)
                || ours.punct != (f & BertUnicode.punctuation != 0)
                || (u.decompositionMapping(v) == nil && ours.mn != (f & BertUnicode.nonspacingMark != 0)) {
                flags += 1
                if first == nil { first = v }
            }
            let hfLower = u.lowercaseMapping(v).map { Array($0) } ?? [v]
            if s.properties.lowercaseMapping.unicodeScalars.map(\.value) != hfLower { lower += 1 }
        }
        return (flags, lower, first)
    }

    func testAgreesWithSwiftOnLatin1() {
        let d = differences(in: 0...0xFF)
        XCTAssertEqual(d.flags, 0, "first difference at U+\(String(d.firstFlag ?? 0, radix: 16))")
        XCTAssertEqual(d.lower, 0)
    }

    func testKnownHFQuirks() {
        // HF's clean text keeps unassigned scalars (unicode_categories' is_other has no Cn).
        XCTAssertEqual(u.flags(0x0378) & BertUnicode.drop, 0)
        // Dropped by clean text although they are whitespace in Python: U+001C..U+001F are Cc.
        XCTAssertNotEqual(u.flags(0x1C) & BertUnicode.drop, 0)
        XCTAssertEqual(u.flags(0x1C) & BertUnicode.whitespace, 0)
        // U+0085 is Rust whitespace but Cc: clean text drops it.
        XCTAssertNotEqual(u.flags(0x85) & BertUnicode.drop, 0)
        // Full lower case: U+0130 -> i + U+0307.
        XCTAssertEqual(u.lowercaseMapping(0x130).map { Array($0) }, [0x69, 0x307])
        // Canonical singletons and Hangul.
        XCTAssertEqual(u.decompositionMapping(0x2126).map { Array($0) }, [0x3A9])
        var out: [UInt32] = []
        u.appendDecomposition(of: 0xAC01, to: &out)
        XCTAssertEqual(out, [0x1100, 0x1161, 0x11A8])
    }

    /// Not a pass/fail check beyond the BMP being mostly shared: prints how many BMP scalars
    /// Swift's Unicode data would classify differently from HF's tables.
    func testReportsDifferencesFromSwiftUnicodeData() {
        let d = differences(in: 0x100...0xFFFF)
        print("HF tables vs Swift stdlib Unicode data, U+0100-U+FFFF: \(d.flags) scalars with other flags, \(d.lower) with another lower case")
        XCTAssertLessThan(d.flags, 2000, "HF and Swift Unicode data should share most of the BMP")
    }
}
