// SQuAD files, windows and post-processing: v1.1/v2.0 told apart, bad questions named by id (an
// answer not at its answer_start, a missing field, an empty context), --strict, files that are
// not SQuAD; windows that overlap by doc_stride with the answer's tokens (or [CLS]) as labels, a
// question that leaves no room; the best span over windows and v2.0's null answer.
import FineTuning
import Foundation
import Model
import TestSupport
import Tokenization
import XCTest

final class SquadTests: XCTestCase {
    static let bert = try! Vocabulary(contentsOf: repositoryRoot.appendingPathComponent("vocab/bert-base-uncased.txt"))

    private func write(_ json: String) throws -> String {
        let url = try makeTemporaryDirectory("squad", in: self).appendingPathComponent("f.json")
        try Data(json.utf8).write(to: url)
        return url.path
    }

    private let context = "Super Bowl 50 was played in Santa Clara, California. The Broncos won."

    func testReadsV1AndNamesBadQuestions() throws {
        let path = try write("""
            {"version": "1.1", "data": [{"title": "t", "paragraphs": [
              {"context": "\(context)", "qas": [
                {"id": "good", "question": "Where?", "answers": [{"text": "Santa Clara", "answer_start": 28}, {"text": "Santa Clara, California", "answer_start": 28}]},
                {"id": "moved", "question": "Who?", "answers": [{"text": "Broncos", "answer_start": 3}]},
                {"id": "no-start", "question": "Who?", "answers": [{"text": "Broncos"}]},
                {"question": "No id?", "answers": [{"text": "Broncos", "answer_start": 57}]},
                {"id": "no-question", "answers": [{"text": "Broncos", "answer_start": 57}]}]},
              {"context": "  ", "qas": [{"id": "empty-context", "question": "What?", "answers": []}]}]}]}
            """)
        let file = try readSquadFile(path)
        XCTAssertEqual(file.version, .v1)
        XCTAssertEqual(file.examples.map(\.id), ["good"])
        XCTAssertEqual(file.examples[0].answers.count, 2)
        XCTAssertEqual(file.problems.map(\.question), ["moved", "no-start", "#4 (data[0].paragraphs[0], no id)", "no-question", "empty-context"])
        XCTAssertTrue(file.problems[0].description.contains("answer \"Broncos\" is not at answer_start 3 (the context has \"er Bowl\" there)"),
                      file.problems[0].description)
        XCTAssertTrue(file.problems[4].problem.contains("context is empty"))
        XCTAssertThrowsError(try readSquadFile(path, strict: true)) { XCTAssertTrue("\($0)".contains("5 bad question(s) (--strict)"), "\($0)") }
    }

    func testV2AndFilesThatAreNotSquad() throws {
        let v2 = try write("""
            {"data": [{"paragraphs": [{"context": "\(context)", "qas": [
              {"id": "a", "question": "Who won?", "is_impossible": false, "answers": [{"text": "The Broncos", "answer_start": 53}]},
              {"id": "b", "question": "Who lost?", "is_impossible": true, "answers": []}]}]}]}
            """)
        let file = try readSquadFile(v2)
        XCTAssertEqual(file.version, .v2)
        XCTAssertEqual(file.examples.map(\.answers.count), [1, 0])
        XCTAssertThrowsError(try readSquadFile(try write("{\"rows\": [1, 2]}"))) { XCTAssertTrue("\($0)".contains("not a SQuAD file"), "\($0)") }
        XCTAssertThrowsError(try readSquadFile(try write("text, not JSON"))) { XCTAssertTrue("\($0)".contains("not JSON"), "\($0)") }
        XCTAssertThrowsError(try readSquadFile(try write("{\"data\": [{\"paragraphs\": [{\"context\": \"\", \"qas\": [{\"id\": \"x\", \"question\": \"q\", \"answers\": []}]}]}]}"))) {
            XCTAssertTrue("\($0)".contains("no usable question (first: question x: its paragraph's context is empty)"), "\($0)")
        }
    }

    private func example(_ question: String = "Where was Super Bowl 50 played?") -> SquadExample {
        SquadExample(id: "q", question: question, context: context, answers: [SquadAnswer(text: "Santa Clara", start: 28)])
    }

    func testWindowsOverlapByTheStrideAndLabelTheAnswer() throws {
        var tokenizer = BertTokenizer(vocabulary: Self.bert, options: TokenizerOptions())
        let e = example()
        let whole = try squadFeatures([e], tokenizer: &tokenizer, windowing: SquadWindowing(maxSeqLength: 64))
        XCTAssertEqual(whole.count, 1)
        let f = whole[0]
        let tokens = Self.bert.tokens
        XCTAssertEqual(tokens[Int(f.ids[Int(f.start)])], "santa")
        XCTAssertEqual(tokens[Int(f.ids[Int(f.end)])], "clara")
        let scalars = Array(context.unicodeScalars)
        XCTAssertEqual(String(String.UnicodeScalarView(scalars[f.offsets[Int(f.start)]!.lowerBound..<f.offsets[Int(f.end)]!.upperBound])), "Santa Clara")
        // Question of 7 tokens, 16 per sequence: windows of 6 context tokens overlapping by 3.
        let small = try squadFeatures([e], tokenizer: &tokenizer, windowing: SquadWindowing(maxSeqLength: 16, docStride: 3))
        XCTAssertGreaterThan(small.count, 2)
        XCTAssertTrue(small.allSatisfy { $0.ids.count <= 16 })
        let contextTokens = tokenizer.encodeWithOffsets(context).count
        XCTAssertEqual(small.map { $0.offsets.compactMap { $0 }.count }.reduce(0, +) - 3 * (small.count - 1), contextTokens)
        let labelled = small.filter { $0.start != 0 }
        XCTAssertFalse(labelled.isEmpty)
        XCTAssertTrue(labelled.allSatisfy { tokens[Int($0.ids[Int($0.start)])] == "santa" && tokens[Int($0.ids[Int($0.end)])] == "clara" })
        XCTAssertTrue(small.contains { $0.start == 0 && $0.end == 0 }, "a window without the whole answer points at [CLS]")
        // A question that leaves no room for the context.
        XCTAssertThrowsError(try squadFeatures([e], tokenizer: &tokenizer, windowing: SquadWindowing(maxSeqLength: 10, maxQueryLength: 64))) {
            XCTAssertEqual($0 as? SquadFeatureError, .noRoomForContext(question: "q", questionTokens: 7, maxSeqLength: 10))
        }
    }

    func testPostProcessingPicksTheBestSpanOverWindowsAndTheNullAnswer() throws {
        var tokenizer = BertTokenizer(vocabulary: Self.bert, options: TokenizerOptions())
        let e = example()
        let features = try squadFeatures([e], tokenizer: &tokenizer, windowing: SquadWindowing(maxSeqLength: 16, docStride: 3))
        // Every logit 0 but the answer's start and end in the windows that hold it (strongest in the last of them).
        let labelled = features.indices.filter { features[$0].start != 0 }
        var logits = features.map { [Float](repeating: 0, count: 2 * $0.ids.count) }
        for (k, i) in labelled.enumerated() {
            logits[i][2 * Int(features[i].start)] = 5 + Float(k)
            logits[i][2 * Int(features[i].end) + 1] = 5
        }
        let v1 = squadPredictions([e], features, logits: logits, version: .v1)
        XCTAssertEqual(v1[0].text, "Santa Clara")
        XCTAssertLessThanOrEqual(v1[0].nBest.count, 20)
        XCTAssertEqual(v1[0].nBest.map(\.probability).reduce(0, +), 1, accuracy: 1e-9)
        // v2.0: a strong [CLS] in every window makes the null answer win.
        for i in features.indices { logits[i][0] = 20; logits[i][1] = 20 }
        let v2 = squadPredictions([e], features, logits: logits, version: .v2)
        XCTAssertEqual(v2[0].text, "")
        XCTAssertEqual(v2[0].nullOdds!, 40 - Double(10 + labelled.count - 1), accuracy: 1e-6)
        // A span longer than max_answer_length is never chosen.
        let short = squadPredictions([e], features, logits: logits, version: .v1, maxAnswerLength: 1)
        XCTAssertNotEqual(short[0].text, "Santa Clara")
    }
}

final class QuestionAnsweringLoopTests: XCTestCase {
    /// The answer is the two tokens starting at token 7 (or none: [CLS]); the reader learns it through the loop.
    func testReaderLearnsThroughTheLoop() throws {
        var x: UInt64 = 9
        func next(_ n: Int) -> Int { x = x &* 6364136223846793005 &+ 1442695040888963407; return Int((x >> 33) % UInt64(n)) }
        func examples(_ n: Int) -> ([SquadExample], [SquadFeature]) {
            var es: [SquadExample] = [], fs: [SquadFeature] = []
            for i in 0..<n {
                var context = (0..<8).map { _ in Int32(8 + next(12)) }
                let at = next(6)
                context[at] = 7
                let words = context.map { "w\($0)" }
                let text = words.joined(separator: " ")
                let starts = words.indices.map { k in words[..<k].reduce(0) { $0 + $1.count + 1 } }
                let answer = words[at] + " " + words[at + 1]
                es.append(SquadExample(id: "\(i)", question: "q", context: text, answers: [SquadAnswer(text: answer, start: starts[at])]))
                let ids: [Int32] = [2, 5, 3] + context + [3]
                let offsets: [Range<Int>?] = [nil, nil, nil] + words.indices.map { starts[$0]..<(starts[$0] + words[$0].count) } + [nil]
                fs.append(SquadFeature(example: i, ids: ids, segments: [0, 0, 0] + [Int32](repeating: 1, count: 9), offsets: offsets,
                                       start: Int32(3 + at), end: Int32(4 + at)))
            }
            return (es, fs)
        }
        var config = ElectraConfig(vocabSize: 20, embeddingSize: 16, hiddenSize: 16, numLayers: 1, numHeads: 2,
                                   intermediateSize: 32, maxPositions: 16)
        config.generatorHiddenSize = 1; config.generatorHeads = 1; config.generatorIntermediateSize = 1
        var options = FineTuningOptions()
        options.learningRate = 1e-2
        options.batchSize = 16
        options.epochs = 8
        options.seed = 3
        let setup = FineTuneSetup(task: .squad(windowing: SquadWindowing(maxSeqLength: 12), version: .v1), options: options, config: config,
                                  seqLength: 12, model: "random", train: "train", dev: "dev",
                                  tokenizer: TokenizerOptionsRecord(lowercase: true, stripAccents: nil, handleChineseChars: true))
        let (_, train) = examples(256), (devExamples, dev) = examples(40)
        let workload = try QuestionAnsweringWorkload(setup: setup, train: train, dev: dev, devExamples: devExamples, version: .v1,
                                                     specialIDs: (0, 2, 3))
        let run = try makeTemporaryDirectory("qa-run", in: self)
        let tuner = try FineTuner(setup: setup, run: run, workload: workload, initial: [:], resume: false)
        var f1: [Double] = []
        try tuner.fit { if case .evaluated(_, _, let values, _) = $0 { f1.append(values[0].1) } }
        XCTAssertEqual(f1.count, 8)
        XCTAssertGreaterThan(f1.last!, 90, "dev F1 by epoch: \(f1)")
    }
}
