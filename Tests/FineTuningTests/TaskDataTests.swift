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
        XCTAssertEqual(file.badRows.map(\.line), [3, 4, 5])
        XCTAssertEqual(file.badRows[0].description, "\(path):3: empty text pair")
        XCTAssertTrue(file.badRows[1].problem.contains("unknown label \"2\""), file.badRows[1].problem)
        XCTAssertTrue(file.badRows[2].problem.contains("no column \"#2 String\""), file.badRows[2].problem)
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

    func testWholeFileErrorsNameTheFileAndWhatToDo() throws {
        let wrong = try write("text\tlabel\nhello\t1\n", "train.tsv")
        XCTAssertThrowsError(try readTaskFile(wrong, spec: TaskSpec.glue("rte")!)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix(wrong) && message.contains("sentence1") && message.contains("HINT"), message)
        }
        let allBad = try write("sentence\tlabel\nhello\t7\nworld\t9\n", "train.tsv")
        XCTAssertThrowsError(try readTaskFile(allBad, spec: TaskSpec.glue("sst-2")!)) { error in
            XCTAssertTrue("\(error)".contains("none of its 2 rows is usable"), "\(error)")
        }
        XCTAssertThrowsError(try readTaskFile("/nonexistent/train.tsv", spec: TaskSpec.glue("sst-2")!))
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
