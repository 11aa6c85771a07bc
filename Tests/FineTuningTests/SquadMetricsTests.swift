// The SQuAD evaluations against the official scripts' numbers (Tests/Fixtures/qa/squad-eval.json,
// tools/make-squad-eval-fixture.py): normalize_answer on edge cases (articles, punctuation,
// whitespace, final sigma, marks next to articles, non-ASCII), v1.1 EM/F1 with a question left
// unanswered, v2.0 raw scores, HasAns/NoAns and best thresholds, all equal to the last bit.
import FineTuning
import Foundation
import TestSupport
import XCTest

final class SquadMetricsTests: XCTestCase {
    private var fixture: [String: Any] {
        get throws {
            try JSONSerialization.jsonObject(with: Data(contentsOf: fixtureURL("qa/squad-eval.json"))) as! [String: Any]
        }
    }

    private func questions(_ data: Any) -> [SquadGold] {
        (data as! [[String: Any]]).flatMap { article in
            (article["paragraphs"] as! [[String: Any]]).flatMap { p in
                (p["qas"] as! [[String: Any]]).map { qa in
                    SquadGold(id: qa["id"] as! String, answers: (qa["answers"] as! [[String: Any]]).map { $0["text"] as! String })
                }
            }
        }
    }

    private func number(_ v: Any?) -> Double { Double(v as! String)! }

    func testNormalizationEqualsTheOfficialScripts() throws {
        let cases = try fixture["normalize"] as! [[String: String]]
        XCTAssertGreaterThan(cases.count, 40)
        for c in cases {
            XCTAssertEqual(squadNormalize(c["text"]!), c["normalized"]!, "normalize_answer(\(c["text"]!.debugDescription))")
        }
    }

    func testV1EqualsTheOfficialScript() throws {
        let v1 = try fixture["v1"] as! [String: Any]
        let result = squadV1Evaluate(questions(v1["data"]!), predictions: v1["predictions"] as! [String: String])
        XCTAssertEqual(result.exactMatch, number(v1["exact_match"]))
        XCTAssertEqual(result.f1, number(v1["f1"]))
    }

    func testV2EqualsTheOfficialScript() throws {
        let v2 = try fixture["v2"] as! [String: Any]
        let qs = questions(v2["data"]!), preds = v2["predictions"] as! [String: String]
        let raw = v2["raw"] as! [String: [String]]
        let ours = squadRawScores(qs, predictions: preds)
        XCTAssertEqual(ours.count, raw.count)
        for r in ours {
            XCTAssertEqual(r.exact, Double(raw[r.id]![0])!, "\(r.id) exact")
            XCTAssertEqual(r.f1, Double(raw[r.id]![1])!, "\(r.id) f1")
        }
        let na = (v2["na_probs"] as! [[String]]).map { ($0[0], Double($0[1])!) }
        func check(_ e: SquadV2Evaluation, _ key: String) {
            let o = v2[key] as! [String: String]
            let n = { (k: String) in Double(o[k]!)! }
            XCTAssertEqual(e.exact, n("exact"), "\(key) exact"); XCTAssertEqual(e.f1, n("f1"), "\(key) f1")
            XCTAssertEqual(Double(e.total), n("total"))
            XCTAssertEqual(e.hasAns?.exact, n("HasAns_exact"), key); XCTAssertEqual(e.hasAns?.f1, n("HasAns_f1"), key)
            XCTAssertEqual(e.noAns?.exact, n("NoAns_exact"), key); XCTAssertEqual(e.noAns?.f1, n("NoAns_f1"), key)
            if o["best_exact"] != nil {
                XCTAssertEqual(e.best?.exact, n("best_exact"), key); XCTAssertEqual(e.best?.exactThreshold, n("best_exact_thresh"), key)
                XCTAssertEqual(e.best?.f1, n("best_f1"), key); XCTAssertEqual(e.best?.f1Threshold, n("best_f1_thresh"), key)
            } else {
                XCTAssertNil(e.best)
            }
        }
        check(squadV2Evaluate(qs, predictions: preds), "plain")
        check(squadV2Evaluate(qs, predictions: preds, naProbs: na), "with_na_probs")
        check(squadV2Evaluate(qs, predictions: preds, naProbs: na, threshold: 0.35), "with_na_probs_threshold_0.35")
    }
}
