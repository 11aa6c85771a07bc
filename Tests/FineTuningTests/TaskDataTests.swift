// Task files (GLUE layouts, CSV quoting, JSONL), bad rows named by file:line, whole-file errors,
// feature building (pairs, truncation of the longer side first) and GLUE's metrics.
import FineTuning
import Foundation
import TestSupport
import Tokenization
import XCTest

final class TaskDataTests: XCTestCase {
    private func write(_ text: String, _ name: String) throws -> String {
        let dir = try makeTemporaryDirectory("finetune-data", in: self)
        let url = dir.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    func testMRPCLayoutWithBadRowsNamedByLine() throws {
        let path = try write("""
            Quality\t#1 ID\t#2 ID\t#1 String\t#2 String
            1\t1\t2\tHe said "yes".\tHe agreed.
            0\t3\t4\tA cat.\t
            2\t5\t6\tOne.\tTwo.
            0\t7\t8\tShort row

            1\t9\t10\tLast one.\tThe end.
            """, "dev.tsv")
        let file = try readTaskFile(path, spec: TaskSpec.glue("mrpc")!)
        XCTAssertEqual(file.examples.map(\.text), ["He said \"yes\".", "Last one."], "GLUE's TSVs keep quotes as text")
        XCTAssertEqual(file.examples.map(\.pair), ["He agreed.", "The end."])
        XCTAssertEqual(file.examples.map(\.label), ["1", "1"])
        XCTAssertEqual(file.badRows.map(\.line), [3, 5])
        XCTAssertEqual(file.badRows[0].description, "\(path):3: empty text pair")
        XCTAssertTrue(file.badRows[1].problem.contains("no column \"#2 String\""), file.badRows[1].problem)
        XCTAssertEqual(file.unknownLabels.map(\.line), [4], "a label the task lacks is set apart, not skipped")
        XCTAssertEqual(file.unknownLabels.map(\.label), ["2"])
    }

    func testCoLAHasNoHeaderAndSTSBIsRegression() throws {
        let cola = try write("gj04\t1\t\tThe sailors rode the breeze clear of the rocks.\ngj04\t0\t*\tThe more does Bill smoke.\n", "train.tsv")
        let c = try readTaskFile(cola, spec: TaskSpec.glue("cola")!)
        XCTAssertEqual(c.examples.map(\.label), ["1", "0"])
        XCTAssertEqual(c.examples[1].text, "The more does Bill smoke.")
        let sts = try write("index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n"
                            + "0\tmain\tf\t2012\t1\tnone\tnone\tA plane.\tAn air plane.\t5.000\n"
                            + "1\tmain\tf\t2012\t4\tnone\tnone\tA man.\tA woman.\tabc\n", "sts.tsv")
        let s = try readTaskFile(sts, spec: TaskSpec.glue("sts-b")!)
        XCTAssertEqual(s.examples.map(\.label), ["5.000"])
        XCTAssertEqual(s.examples[0].id, "0")
        XCTAssertEqual(s.badRows.first?.line, 3)
    }

    func testCSVQuotingAndJSONL() throws {
        let csv = try write("id,review,sentiment\n1,\"Good, really \"\"good\"\"\nfilm\",pos\n2,Bad film,neg\n", "data.csv")
        let spec = TaskSpec(name: "custom", format: .csv, hasHeader: true, text: .name("review"), textPair: nil,
                            label: .name("sentiment"), labels: [], regression: false, metric: .accuracy)
        let c = try readTaskFile(csv, spec: spec)
        XCTAssertEqual(c.examples.map(\.text), ["Good, really \"good\"\nfilm", "Bad film"])
        XCTAssertEqual(c.examples.map(\.line), [2, 4])
        XCTAssertEqual(labelsOf(c.examples), ["neg", "pos"])
        let jsonl = try write("{\"review\": \"fine\", \"sentiment\": \"pos\"}\n{\"review\": \"\", \"sentiment\": \"neg\"}\n{\"sentiment\": 1}\n", "data.jsonl")
        let j = try readTaskFile(jsonl, spec: spec)
        XCTAssertEqual(j.examples.map(\.text), ["fine"])
        XCTAssertEqual(j.badRows.map(\.line), [2, 3])
    }

    func testCRLFFilesReadAsTheirLFTwins() throws {
        // "\r\n" is one Character in Swift: splitting a String on "\n" left a CRLF file as one line.
        let tsv = "sentence\tlabel\nGood film.\tpos\n\nBad film.\tneg\nno label\n"
        // (A line break inside a quoted CSV field is the field's text and stays as the file has it, as Python's csv keeps it.)
        let csv = "review,sentiment\n\"Good, film\",pos\nBad film,neg\n"
        let jsonl = "{\"review\": \"fine\", \"sentiment\": \"pos\"}\n\n{\"review\": \"bad\", \"sentiment\": \"neg\"}\n"
        let conll = "-DOCSTART-\tO\n\nEmpire\tB-location\nState\tI-location\n\t\nHi\tO\nBob\tB-person\n\n"
        let crlf = { (text: String) in text.replacingOccurrences(of: "\n", with: "\r\n") }
        let custom = { (format: TableFormat, text: String, label: String) in
            TaskSpec(name: "custom", format: format, hasHeader: true, text: .name(text), textPair: nil, label: .name(label),
                     labels: [], regression: false, metric: .accuracy)
        }
        for (text, name, spec) in [(tsv, "t.tsv", custom(.tsv, "sentence", "label")), (csv, "t.csv", custom(.csv, "review", "sentiment")),
                                   (jsonl, "t.jsonl", custom(.jsonl, "review", "sentiment"))] {
            let lf = try readTaskFile(try write(text, name), spec: spec)
            let cr = try readTaskFile(try write(crlf(text), name), spec: spec)
            XCTAssertGreaterThanOrEqual(lf.examples.count, 2, name)
            XCTAssertEqual(cr.examples.map(\.text), lf.examples.map(\.text), name)
            XCTAssertEqual(cr.examples.map(\.label), lf.examples.map(\.label), name)
            XCTAssertEqual(cr.examples.map(\.line), lf.examples.map(\.line), name)
            XCTAssertEqual(cr.badRows.map(\.line), lf.badRows.map(\.line), name)
        }
        let lf = try readConllFile(try write(conll, "t.conll"))
        let cr = try readConllFile(try write(crlf(conll), "t.conll"))
        XCTAssertEqual(lf.sentences.count, 2)
        XCTAssertEqual(cr.sentences, lf.sentences)
        XCTAssertEqual(cr.sentenceLines, lf.sentenceLines)
        XCTAssertEqual(cr.badLines, lf.badLines)
    }

    func testWholeFileErrorsNameTheFileAndWhatToDo() throws {
        let wrong = try write("text\tlabel\nhello\t1\n", "train.tsv")
        XCTAssertThrowsError(try readTaskFile(wrong, spec: TaskSpec.glue("rte")!)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix(wrong) && message.contains("sentence1") && message.contains("HINT"), message)
        }
        let allBad = try write("sentence\tlabel\nhello\t\n \t1\n", "train.tsv")
        XCTAssertThrowsError(try readTaskFile(allBad, spec: TaskSpec.glue("sst-2")!)) { error in
            XCTAssertTrue("\(error)".contains("none of its 2 rows is usable"), "\(error)")
        }
        // Rows whose labels are all unknown are not "unusable": they are refused by their labels.
        let otherTask = try write("sentence\tlabel\nhello\t7\nworld\t9\n", "train.tsv")
        let file = try readTaskFile(otherTask, spec: TaskSpec.glue("sst-2")!)
        XCTAssertEqual(file.unknownLabels.count, 2)
        let message = "\(try XCTUnwrap(file.unknownLabelsError(known: ["0", "1"], source: "task sst-2", hint: "check --task")))"
        XCTAssertTrue(message.hasPrefix(otherTask + ": 2 of its 2 rows have a label that task sst-2 lacks: \"7\" (1 row, first on line 2)"), message)
        XCTAssertThrowsError(try readTaskFile("/nonexistent/train.tsv", spec: TaskSpec.glue("sst-2")!))
    }

    func testDevLabelsTheTaskLacksAreRefusedByNameWithTheirRows() throws {
        // A dev file whose labels differ from the training file's: in case ("Positive"), or not at all ("maybe").
        let dev = try write("text,label\nGreat.,Positive\nFine.,positive\nBad.,negative\nSuperb.,Positive\nHmm.,maybe\n,negative\n", "dev.csv")
        let spec = TaskSpec(name: "custom", format: .csv, hasHeader: true, text: .name("text"), textPair: nil,
                            label: .name("label"), labels: ["negative", "positive"], regression: false, metric: .accuracy)
        let file = try readTaskFile(dev, spec: spec)
        XCTAssertEqual(file.examples.map(\.line), [3, 4], "only the rows with a known label are examples")
        XCTAssertEqual(file.unknownLabels.map(\.line), [2, 5, 6])
        XCTAssertEqual(file.badRows.map(\.line), [7], "an empty text is still a bad row")
        let error = try XCTUnwrap(file.unknownLabelsError(known: spec.labels, source: "the training file", hint: "fix the labels"))
        XCTAssertEqual("\(error)", """
            \(dev): 3 of its 5 rows have a label that the training file lacks: "Positive" (2 rows, first on line 2; \
            the training file has "positive": labels are compared case included), "maybe" (1 row, first on line 6); \
            known labels: negative, positive
            ---> HINT: fix the labels
            """)
        XCTAssertNil(try readTaskFile(dev, spec: TaskSpec(name: "custom", format: .csv, hasHeader: true, text: .name("text"), textPair: nil,
                                                         label: .name("label"), labels: ["negative", "positive", "Positive", "maybe"],
                                                         regression: false, metric: .accuracy))
            .unknownLabelsError(known: [], source: "--labels", hint: ""))
        // Prediction input: labels are not needed, so none is set apart (every row is predicted).
        XCTAssertEqual(try readTaskFile(dev, spec: spec, requireLabel: false).examples.map(\.line), [2, 3, 4, 5, 6])

        // --unknown-dev-labels wrong: the rows come back in file order, marked, and count as wrong.
        let vocabulary = try Vocabulary(tokens: Vocabulary.specialTokens + ["great", "fine", "bad", "superb", "hmm"])
        var encoder = FeatureEncoder(vocabulary: vocabulary, options: TokenizerOptions(), maxLength: 8)
        let features = file.examplesWithUnknownLabels.map { encoder.encode($0, labels: spec.labels, regression: false) }
        XCTAssertEqual(features.map(\.unknownLabel), [true, false, false, true, true])
        XCTAssertEqual(features.map(\.label), [0, 1, 0, 0, 0], "the model sees class 0 for an unknown label")
        XCTAssertEqual(taskMetrics(.accuracy, predictions: [1, 1, 0, 0, 1], gold: [-1, 1, 0, -1, -1]).main, 0.4, accuracy: 1e-12)
        // F1 and MCC: a row without a class is a false positive when predicted 1, else a false negative.
        XCTAssertEqual(f1([1, 0, 1], [1, -1, -1]), 2.0 / 4.0, accuracy: 1e-12)   // tp 1, fn 1, fp 1
        XCTAssertEqual(matthews([1, 0, 0, 1], [1, 0, -1, -1]), matthews([1, 0, 0, 1], [1, 0, 1, 0]), accuracy: 1e-12)
    }

    func testPairsTruncateTheLongerSideFirst() throws {
        let vocabulary = try Vocabulary(tokens: Vocabulary.specialTokens + ["a", "b", "c", "d", "e", "f"])
        var encoder = FeatureEncoder(vocabulary: vocabulary, options: TokenizerOptions(), maxLength: 8)
        let e = RawExample(text: "a b c d e f", pair: "a b", label: "y", id: "0", line: 1)
        let f = encoder.encode(e, labels: ["x", "y"], regression: false)
        // [CLS] a b c [SEP] a b [SEP]: the first side lost three tokens, the second none.
        XCTAssertEqual(f.ids, [2, 5, 6, 7, 3, 5, 6, 3])
        XCTAssertEqual(f.segments, [0, 0, 0, 0, 0, 1, 1, 1])
        XCTAssertEqual(f.label, 1)
        let single = encoder.encode(RawExample(text: "a b c d e f a b", pair: nil, label: "x", id: "1", line: 2), labels: ["x", "y"], regression: false)
        XCTAssertEqual(single.ids.count, 8)
        XCTAssertEqual(single.ids.last, 3)
    }

    func testDoubleUnorderedAppendsEachPairSwapped() throws {
        // classification_tasks.py (MRPC, STS-B under double_unordered): the file's examples, then
        // each again as [CLS] B [SEP] A [SEP] with the same label, in the same order.
        let path = try write("Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\ta b c\td\n0\t3\t4\te\tf a\n", "train.tsv")
        let file = try readTaskFile(path, spec: TaskSpec.glue("mrpc")!)
        let doubled = doublingUnorderedPairs(file.examples)
        XCTAssertEqual(doubled.map(\.text), ["a b c", "e", "d", "f a"])
        XCTAssertEqual(doubled.map(\.pair), ["d", "f a", "a b c", "e"])
        XCTAssertEqual(doubled.map(\.label), ["1", "0", "1", "0"])
        XCTAssertEqual(doubled.map(\.line), [2, 3, 2, 3], "a swapped pair still names its row")
        let vocabulary = try Vocabulary(tokens: Vocabulary.specialTokens + ["a", "b", "c", "d", "e", "f"])
        var encoder = FeatureEncoder(vocabulary: vocabulary, options: TokenizerOptions(), maxLength: 16)
        let swapped = encoder.encode(doubled[2], labels: ["0", "1"], regression: false)
        XCTAssertEqual(swapped.ids, [2, 8, 3, 5, 6, 7, 3])   // [CLS] d [SEP] a b c [SEP]
        XCTAssertEqual(swapped.segments, [0, 0, 0, 1, 1, 1, 1])
        XCTAssertEqual(TaskSpec.unorderedPairTasks, ["mrpc", "sts-b"])
        // Single sentences are not repeated.
        let single = RawExample(text: "a", pair: nil, label: "1", id: "0", line: 2)
        XCTAssertEqual(doublingUnorderedPairs([single]), [single])
    }

    func testGLUEMetricsMatchSklearnAndScipy() {
        let p: [Double] = [1, 1, 0, 0, 1, 0, 1], g: [Double] = [1, 0, 0, 1, 1, 0, 1]
        XCTAssertEqual(matthews(p, g), 5.0 / 12.0, accuracy: 1e-12)   // sklearn matthews_corrcoef
        XCTAssertEqual(f1(p, g), 0.75, accuracy: 1e-12)
        XCTAssertEqual(accuracy(p, g), 5.0 / 7.0, accuracy: 1e-12)
        let x = [0.1, 0.4, 0.35, 0.8, 2.0, 1.0], y = [0.0, 0.5, 0.5, 1.0, 3.0, 0.9]
        XCTAssertEqual(pearson(x, y), 0.9779273746315303, accuracy: 1e-12)    // scipy.stats.pearsonr
        XCTAssertEqual(spearman(x, y), 0.9276336570439175, accuracy: 1e-12)   // scipy.stats.spearmanr (ties)
        XCTAssertEqual(matthews([1, 1], [1, 1]), 0)
    }
}
