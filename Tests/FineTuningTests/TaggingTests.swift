// Token tagging: the CoNLL reader (layouts, bad lines named by file:line, unknown dev tags),
// first-sub-token labels, the entity metric against seqeval's numbers on a committed fixture
// (tools/make-seqeval-fixture.py), and a tiny tagger that learns through the fine-tuning loop.
import FineTuning
import Foundation
import Model
import TestSupport
import Tokenization
import XCTest

final class TaggingTests: XCTestCase {
    private func write(_ text: String, _ name: String = "f.conll") throws -> String {
        let dir = try makeTemporaryDirectory("tagging", in: self)
        let url = dir.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    func testEntityScoresEqualSeqeval() throws {
        let data = try Data(contentsOf: fixtureURL("finetune/seqeval.json"))
        let root = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let cases = root["cases"] as! [[String: Any]]
        XCTAssertGreaterThan(cases.count, 50)
        for c in cases {
            let s = entityScores(gold: c["gold"] as! [[String]], predicted: c["predicted"] as! [[String]])
            let name = c["name"] as! String
            XCTAssertEqual(s.precision, Double(c["precision"] as! String), "\(name): precision")
            XCTAssertEqual(s.recall, Double(c["recall"] as! String), "\(name): recall")
            XCTAssertEqual(s.f1, Double(c["f1"] as! String), "\(name): f1")
        }
    }

    func testChunksAsConllevalReadsThem() {
        XCTAssertEqual(chunks([["O", "I-PER", "I-PER", "B-PER", "I-LOC"]]),
                       [Chunk(type: "PER", start: 1, end: 2), Chunk(type: "PER", start: 3, end: 3), Chunk(type: "LOC", start: 4, end: 4)])
        // Sentences are joined with an O: a chunk does not run on into the next sentence.
        XCTAssertEqual(chunks([["B-X"], ["I-X"]]), [Chunk(type: "X", start: 0, end: 0), Chunk(type: "X", start: 2, end: 2)])
    }

    func testReadsWnutStyleFile() throws {
        // WNUT-17's training file separates some sentences with a line holding a tab.
        let path = try write("-DOCSTART-\tO\n\nEmpire\tB-location\nState\tI-location\n.\tO\n\t\nHi\tO\r\nBob\tB-person\n\n\n")
        let file = try readConllFile(path)
        XCTAssertEqual(file.badLines, [])
        XCTAssertEqual(file.sentences, [
            TaggedSentence(words: ["Empire", "State", "."], tags: ["B-location", "I-location", "O"], line: 3),
            TaggedSentence(words: ["Hi", "Bob"], tags: ["O", "B-person"], line: 7),
        ])
        XCTAssertEqual(tagsOf(file.sentences), ["B-location", "B-person", "I-location", "O"])
    }

    func testOtherLayouts() throws {
        // CoNLL-2003: token POS chunk NER, separated by spaces.
        let path = try write("EU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\nPeter NNP B-NP B-PER\n")
        let file = try readConllFile(path, layout: ConllLayout(tokenColumn: 0, tagColumn: 3))
        XCTAssertEqual(file.sentences.map(\.tags), [["B-ORG", "O"], ["B-PER"]])
        let chunkTags = try readConllFile(path, layout: ConllLayout(tokenColumn: 0, tagColumn: 2))
        XCTAssertEqual(chunkTags.sentences.map(\.tags), [["B-NP", "B-VP"], ["B-NP"]])
        // Prediction input: tokens only.
        let plain = try readConllFile(try write("a\nb\n\nc\n"), requireTags: false)
        XCTAssertEqual(plain.sentences, [TaggedSentence(words: ["a", "b"], tags: nil, line: 1), TaggedSentence(words: ["c"], tags: nil, line: 4)])
        XCTAssertThrowsError(try readConllFile(try write("a\nb\n")), "a tagging file without tags is refused") { error in
            XCTAssertTrue("\(error)".contains("no usable sentence"), "\(error)")
        }
    }

    func testBadLinesAreNamedAndTheirSentencesSkipped() throws {
        let path = try write("a\tO\nb\tx\tO\nc\tO\n\nd\tB-X\n\ne\tPER\nf\tO\n\ng\tO\n")
        let file = try readConllFile(path)
        XCTAssertEqual(file.sentences.map(\.words), [["d"], ["g"]])
        XCTAssertEqual(file.badLines.map(\.line), [2, 7])
        XCTAssertEqual(file.skippedSentences, 2)
        XCTAssertTrue(file.badLines[0].description.hasPrefix("\(path):2: 3 columns where"), file.badLines[0].description)
        XCTAssertTrue(file.badLines[1].description.contains("tag \"PER\" is not BIO"), file.badLines[1].description)
        XCTAssertThrowsError(try readConllFile(try write("\n\n"))) { XCTAssertTrue("\($0)".contains("no usable sentence")) }
        XCTAssertThrowsError(try readConllFile(path + ".missing")) { XCTAssertEqual($0 as? TaskDataError, .unreadable(path + ".missing")) }
    }

    func testDevTagNeverSeenInTraining() throws {
        let dev = try readConllFile(try write("a\tO\nb\tB-Y\nc\tI-Y\n\nd\tB-Y\n", "dev.conll"))
        let unknown = unknownTags(dev.sentences, known: ["B-X", "I-X", "O"], file: "dev.conll")
        XCTAssertEqual(unknown.map(\.tag), ["B-Y", "I-Y"])
        XCTAssertEqual(unknown.map(\.count), [2, 1])
        XCTAssertEqual(unknown.map(\.first), ["dev.conll:2", "dev.conll:3"])
    }

    func testLabelsSitOnFirstSubTokens() throws {
        let vocabulary = try Vocabulary(contentsOf: repositoryRoot.appendingPathComponent("vocab/bert-base-uncased.txt"))
        var encoder = TaggingEncoder(vocabulary: vocabulary, options: TokenizerOptions(), maxLength: 16)
        let labels = ["B-X", "I-X", "O"]
        // "unaffable" is three pieces; "@paulwalk" is pre-tokenized into "@" + pieces; U+200B alone gives no token.
        let s = TaggedSentence(words: ["The", "unaffable", "\u{200B}", "@paulwalk", "x"], tags: ["O", "B-X", "O", "I-X", "O"], line: 1)
        let f = encoder.encode(s, labels: labels)
        let tokens = vocabulary.tokens
        XCTAssertEqual(f.ids.map { tokens[Int($0)] }, ["[CLS]", "the", "una", "##ffa", "##ble", "@", "paul", "##walk", "x", "[SEP]"])
        XCTAssertEqual(f.labels, [-100, 2, 0, -100, -100, 1, -100, -100, 2, -100])
        XCTAssertEqual(f.wordStarts, [1, 2, -1, 5, 8])
        // Cut to 6 tokens: the words past the cut have no token.
        var short = TaggingEncoder(vocabulary: vocabulary, options: TokenizerOptions(), maxLength: 6)
        let g = short.encode(s, labels: labels)
        XCTAssertEqual(g.ids.count, 6)
        XCTAssertEqual(g.wordStarts, [1, 2, -1, -1, -1])
        XCTAssertEqual(predictedTags([Float](repeating: 0, count: 6 * 3), feature: g, labels: labels), ["B-X", "B-X", "O", "O", "O"])
    }

    func testTaggerLearnsThroughTheLoopAndResumesExactly() throws {
        // Tag token 7 as B-X, the token after it as I-X, the rest O.
        var x: UInt64 = 3
        func next(_ n: Int) -> Int { x = x &* 6364136223846793005 &+ 1442695040888963407; return Int((x >> 33) % UInt64(n)) }
        let labels = ["B-X", "I-X", "O"]
        func sentences(_ n: Int) -> [(TaggingFeature, TaggedSentence)] {
            (0..<n).map { _ in
                let words = (0..<(3 + next(4))).map { _ in next(3) == 0 ? 7 : Int32(8 + next(10)) }
                let tags = words.indices.map { i in words[i] == 7 ? "B-X" : (i > 0 && words[i - 1] == 7 ? "I-X" : "O") }
                let f = TaggingFeature(ids: [2] + words.map { Int32($0) } + [3],
                                       labels: [-100] + tags.map { Int32(labels.firstIndex(of: $0)!) } + [-100],
                                       wordStarts: Array(1...words.count))
                return (f, TaggedSentence(words: words.map { "\($0)" }, tags: tags, line: 1))
            }
        }
        var config = ElectraConfig(vocabSize: 20, embeddingSize: 16, hiddenSize: 16, numLayers: 1, numHeads: 2,
                                   intermediateSize: 32, maxPositions: 16)
        config.generatorHiddenSize = 1; config.generatorHeads = 1; config.generatorIntermediateSize = 1
        var options = FineTuningOptions()
        options.learningRate = 1e-2
        options.batchSize = 16
        options.epochs = 10
        options.seed = 5
        let setup = FineTuneSetup(task: .tagging(labels: labels), options: options, config: config, seqLength: 8, model: "random",
                                  train: "train", dev: "dev", tokenizer: TokenizerOptionsRecord(lowercase: true, stripAccents: nil, handleChineseChars: true))
        let train = sentences(256), dev = sentences(40)
        func tuner(_ setup: FineTuneSetup, _ run: URL, resume: Bool = false) throws -> FineTuner {
            let workload = try TaggingWorkload(setup: setup, train: train.map(\.0), dev: dev.map(\.0), devSentences: dev.map(\.1),
                                               specialIDs: (0, 2, 3))
            return try FineTuner(setup: setup, run: run, workload: workload, initial: [:], resume: resume)
        }
        let run = try makeTemporaryDirectory("tagging-run", in: self)
        let whole = try tuner(setup, run)
        var f1: [Double] = []
        try whole.fit { if case .evaluated(_, _, let values, _) = $0 { f1.append(values[0].1) } }
        XCTAssertEqual(f1.count, 10)
        XCTAssertGreaterThan(f1.last!, 0.9, "dev entity F1 by epoch: \(f1)")
        // Interrupted in epoch 2 and resumed from the epoch's checkpoint: the same weights at the end.
        var short = setup
        short.options.epochs = 3
        let a = try makeTemporaryDirectory("tagging-a", in: self), b = try makeTemporaryDirectory("tagging-b", in: self)
        let uninterrupted = try tuner(short, a)
        try uninterrupted.fit { _ in }
        let first = try tuner(short, b)
        try first.fit(stopAfter: first.stepsPerEpoch + 3) { _ in }
        let resumed = try tuner(short, b, resume: true)
        XCTAssertEqual(resumed.optimizer.step, first.stepsPerEpoch)
        try resumed.fit { _ in }
        XCTAssertEqual(Array(UnsafeBufferPointer(start: uninterrupted.model.parameters, count: uninterrupted.model.parameterCount)),
                       Array(UnsafeBufferPointer(start: resumed.model.parameters, count: resumed.model.parameterCount)),
                       "the resumed tagging run's weights differ from the uninterrupted run's")
    }
}
