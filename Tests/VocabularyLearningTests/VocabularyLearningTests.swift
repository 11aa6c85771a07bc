import Corpus
import Foundation
import TestSupport
import Tokenization
import VocabularyLearning
import XCTest

final class VocabularyLearningTests: XCTestCase {
    private func options(size: Int, minFrequency: Int = 2) -> VocabularyLearnerOptions {
        var o = VocabularyLearnerOptions()
        o.vocabSize = size
        o.minFrequency = minFrequency
        return o
    }

    func testMergesFollowPairFrequencyWithContinuationPieces() throws {
        // The classic example: hug 10, pug 5, pun 12, bun 4, hugs 5.
        let words = [("bun", 4), ("hug", 10), ("hugs", 5), ("pug", 5), ("pun", 12)]
        let learned = try learnWordPieceVocabulary(words: words.map { ($0.0, $0.1) }, options: options(size: 5 + 14 + 4))
        XCTAssertEqual(Array(learned.tokens.prefix(5)), ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
        XCTAssertEqual(Array(learned.tokens[5..<19]),
                       ["b", "##b", "g", "##g", "h", "##h", "n", "##n", "p", "##p", "s", "##s", "u", "##u"])
        // ##u ##g (20) -> ##ug; ##u ##n (16) -> ##un; h ##ug (15) -> hug; p ##un (12) -> pun.
        XCTAssertEqual(Array(learned.tokens[19...]), ["##ug", "##un", "hug", "pun"])
        XCTAssertEqual(learned.merges, 4)
        XCTAssertFalse(learned.isShort)
    }

    func testEveryCharacterAppearsAsWordStartAndContinuation() throws {
        // "x" and "z" only ever start a word, "q" only continues one: each still gets c and ##c.
        let learned = try learnWordPieceVocabulary(words: [("xa", 3), ("zab", 2), ("aq", 2)], options: options(size: 100))
        for c in ["x", "z", "q", "a", "b"] {
            XCTAssertTrue(learned.tokens.contains(c), c)
            XCTAssertTrue(learned.tokens.contains("##" + c), "##" + c)
        }
        XCTAssertEqual(Set(learned.tokens).count, learned.tokens.count, "no duplicate lines")
        XCTAssertTrue(learned.isShort)
    }

    func testMinimumFrequencyAndAlphabetLimit() throws {
        var o = options(size: 100, minFrequency: 3)
        o.limitAlphabet = 2
        // 'a' and 'b' are the two most frequent characters; words with 'c' are left out.
        let learned = try learnWordPieceVocabulary(words: [("ab", 3), ("abc", 50), ("ba", 2)], options: o)
        XCTAssertEqual(Array(learned.tokens[5...]), ["a", "##a", "b", "##b", "ab"])
    }

    func testBadInputIsAClearError() {
        XCTAssertThrowsError(try learnWordPieceVocabulary(words: [], options: options(size: 100))) {
            XCTAssertEqual($0 as? VocabularyLearningError, .emptyCorpus("the corpus"))
        }
        XCTAssertThrowsError(try learnWordPieceVocabulary(words: [("abc", 5)], options: options(size: 10))) {
            XCTAssertEqual($0 as? VocabularyLearningError, .vocabularyTooSmall(requested: 10, needed: 11))
        }
    }

    func testSameBytesWhateverTheThreadCount() throws {
        let dir = try makeTemporaryDirectory(in: self)
        var text = ""
        var state: UInt64 = 12345
        func next() -> Int { state = state &* 6364136223846793005 &+ 1442695040888963407; return Int(state >> 33) }
        let stems = ["run", "walk", "talk", "Über", "café", "naïve", "中文", "jump", "read", "writ"]
        let suffixes = ["", "s", "ing", "ed", "er", "ers", ",", "."]
        for line in 0..<3_000 {
            text += (0..<(3 + next() % 12)).map { _ in stems[next() % stems.count] + suffixes[next() % suffixes.count] }
                .joined(separator: " ") + "\n"
            if line % 50 == 49 { text += "\n" }
        }
        let corpus = dir.appendingPathComponent("corpus.txt")
        try text.write(to: corpus, atomically: true, encoding: .utf8)
        var outputs: [Data] = []
        for threads in [1, 2, 3] {
            let counts = try countWords(sources: [CorpusSource(path: corpus.path)], tokenizer: TokenizerOptions(), threads: threads)
            let learned = try learnWordPieceVocabulary(words: counts.counter.sortedWords(), options: options(size: 120))
            let out = dir.appendingPathComponent("t\(threads)/vocab.txt")
            try writeVocabulary(learned, to: out, tokenizer: TokenizerOptions(), learner: options(size: 120),
                                corpusSHA256: counts.corpusSHA256)
            outputs.append(try Data(contentsOf: out))
            // The learned vocabulary loads as a tokenizer vocabulary and has no temporary files left.
            XCTAssertNoThrow(try Vocabulary(contentsOf: out))
            let files = try FileManager.default.contentsOfDirectory(atPath: out.deletingLastPathComponent().path)
            XCTAssertEqual(files.sorted(), ["tokenizer_config.json", "vocab.txt"])
        }
        XCTAssertEqual(outputs[0], outputs[1])
        XCTAssertEqual(outputs[0], outputs[2])
        // Normalization is the tokenizer's: lower-cased, accents stripped, CJK split.
        let tokens = String(decoding: outputs[0], as: UTF8.self).split(separator: "\n").map(String.init)
        XCTAssertTrue(tokens.contains("u") && !tokens.contains("U") && !tokens.contains("Ü"))
        XCTAssertTrue(tokens.contains("中") && tokens.contains("##中"))
    }

    func testUnreadableCorpusNamesTheFile() throws {
        XCTAssertThrowsError(try countWords(sources: [CorpusSource(path: "/nonexistent/corpus.txt")],
                                            tokenizer: TokenizerOptions(), threads: 2)) {
            XCTAssertEqual($0 as? CorpusError, .notFound("/nonexistent/corpus.txt"))
        }
    }

    func testBinaryInputsAreRefusedAndTheOthersCounted() throws {
        // As `shard` does: a binary file among text files is skipped whole, named, and the rest counted.
        let dir = try makeTemporaryDirectory(in: self)
        let text = dir.appendingPathComponent("a.txt"), pdf = dir.appendingPathComponent("b.pdf")
        let elf = dir.appendingPathComponent("c.bin")
        try "hello world\nhello there\n".write(to: text, atomically: true, encoding: .utf8)
        try Data("%PDF-1.5\nhello pdf\n".utf8).write(to: pdf)
        try Data([0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0]).write(to: elf)
        var events: [CorpusError] = []
        let counts = try countWords(sources: try expandCorpusArguments([dir.path]), tokenizer: TokenizerOptions(),
                                    threads: 2) { if case .refused(let error) = $0 { events.append(error) } }
        XCTAssertEqual(counts.refused.map(\.description), events.map(\.description))
        XCTAssertEqual(counts.refused.count, 2)
        XCTAssertTrue(counts.refused[0].description.hasPrefix(pdf.path + ": looks like a binary file"), "\(counts.refused[0])")
        XCTAssertEqual(counts.counter.distinctWords, 3)   // hello, world, there
        XCTAssertEqual(counts.counter.totalWords, 4)
        // Only refused inputs: a lone one's own error; several, how many and the first.
        XCTAssertThrowsError(try countWords(sources: [CorpusSource(path: pdf.path)], tokenizer: TokenizerOptions(),
                                            threads: 1)) {
            guard case .binary(let path, _)? = $0 as? CorpusError else { return XCTFail("\($0)") }
            XCTAssertEqual(path, pdf.path)
        }
        XCTAssertThrowsError(try countWords(sources: [CorpusSource(path: pdf.path), CorpusSource(path: elf.path)],
                                            tokenizer: TokenizerOptions(), threads: 1)) {
            guard case .everyInputRefused(let count, let first)? = $0 as? VocabularyLearningError else { return XCTFail("\($0)") }
            XCTAssertEqual(count, 2)
            XCTAssertTrue(first.hasPrefix(pdf.path), first)
        }
    }

    func testPruneKeepsTheMostFrequentWordsUpToTheLimit() {
        var counter = WordCounter()
        func add(_ word: String, _ n: Int) { Array(word.utf8).withUnsafeBytes { counter.add($0, count: n) } }
        for i in 0..<100 { add("rare\(i)", 1) }
        for i in 0..<10 { add("twice\(i)", 2) }
        add("common", 50)
        XCTAssertEqual(counter.prune(keepingAtMost: 200), 0, "under the limit: nothing dropped")
        XCTAssertEqual(counter.prune(keepingAtMost: 61), 1)
        XCTAssertEqual(counter.distinctWords, 61, "all words above the cut, then a sample of the words at it")
        XCTAssertEqual(counter.totalWords, 100 + 20 + 50, "occurrences of dropped words still count in the total")
        XCTAssertEqual(counter.prunedWords, 50)
        let kept = Dictionary(uniqueKeysWithValues: counter.sortedWords().map { ($0.word, $0.count) })
        XCTAssertEqual(kept["common"], 50)
        XCTAssertEqual((0..<10).filter { kept["twice\($0)"] == 2 }.count, 10)
        XCTAssertEqual(counter.prune(keepingAtMost: 5), 2)
        XCTAssertEqual(counter.sortedWords().first { $0.word == "common" }?.count, 50)
        XCTAssertEqual(counter.distinctWords, 5)
    }

    func testBoundedCountsAreTheSameWhateverTheThreadCount() throws {
        // 40 blocks of 4 KB through 16 lanes, a bound that prunes: the same counts for 1, 2, 5 threads.
        let dir = try makeTemporaryDirectory(in: self)
        var text = ""
        var state: UInt64 = 99
        func next() -> Int { state = state &* 6364136223846793005 &+ 1442695040888963407; return Int(state >> 33) }
        for line in 0..<4_000 {
            text += (0..<(3 + next() % 8)).map { _ in "w\(Int(pow(2.0, Double(next() % 1_400) / 100.0)))" }.joined(separator: " ") + "\n"
            if line % 40 == 39 { text += "\n" }
        }
        let corpus = dir.appendingPathComponent("zipf.txt")
        try text.write(to: corpus, atomically: true, encoding: .utf8)
        var results: [[String]] = []
        for threads in [1, 2, 5] {
            let counts = try countWords(sources: [CorpusSource(path: corpus.path)], tokenizer: TokenizerOptions(),
                                        threads: threads, maxWords: 400, blockSize: 4096)
            XCTAssertLessThanOrEqual(counts.counter.distinctWords, 400)
            XCTAssertGreaterThan(counts.counter.prunedWords, 0, "the bound was reached")
            results.append(counts.counter.sortedWords().map { "\($0.word) \($0.count)" })
        }
        XCTAssertEqual(results[0], results[1])
        XCTAssertEqual(results[0], results[2])
        let unbounded = try countWords(sources: [CorpusSource(path: corpus.path)], tokenizer: TokenizerOptions(),
                                       threads: 2, maxWords: nil, blockSize: 4096)
        XCTAssertGreaterThan(unbounded.counter.distinctWords, 700)
        XCTAssertEqual(unbounded.counter.prunedWords, 0)
        // The frequent words are counted exactly.
        let exact = Dictionary(uniqueKeysWithValues: unbounded.counter.sortedWords().map { ($0.word, $0.count) })
        for line in results[0].prefix(2_000) {
            let parts = line.split(separator: " ")
            if let n = Int(parts[1]), n >= 50 { XCTAssertEqual(exact[String(parts[0])], n, String(parts[0])) }
        }
    }
}
