// `electra-train report`: ticks at 1-2-5 steps, axes within the metrics' ranges, markers on the
// sparse series, tick labels inside the picture, and where the SVG is written (--out, read-only runs).
import Durability
import Foundation
import TestSupport
@testable import Training
import XCTest

final class ReportTests: XCTestCase {
    // MARK: ticks

    func testStepsAreOneTwoOrFiveTimesAPowerOfTen() {
        for span in [0.00064, 0.003, 0.07, 0.9, 1, 3.3, 15, 152, 4021, 987_654] {
            let step = niceStep(span: span, target: 5)
            let mantissa = step / pow(10, floor(log10(step) + 1e-9))
            XCTAssertTrue([1, 2, 5].contains { abs(mantissa - $0) < 1e-9 }, "span \(span): step \(step)")
            XCTAssertTrue((2...10).contains(Int((span / step).rounded(.up))), "span \(span): step \(step)")
        }
        XCTAssertEqual(niceTicks(0, 152), [0, 50, 100, 150])
        XCTAssertEqual(niceTicks(0, 152, target: 8), [0, 20, 40, 60, 80, 100, 120, 140])
        XCTAssertEqual(stepLabels(niceTicks(0, 250_000, target: 8), step: 50_000), ["0", "50k", "100k", "150k", "200k", "250k"])
        XCTAssertEqual(stepLabels([0, 2500, 5000], step: 2500), ["0", "2500", "5000"])
        XCTAssertEqual(stepLabels([0, 5000, 10_000, 15_000], step: 5000), ["0", "5k", "10k", "15k"])
    }

    func testLearningRateAxisHasRoundTicksWithShortLabels() {
        let axis = valueAxis(min: 0.0003, max: 0.00094, range: .unbounded)
        XCTAssertEqual(axis.step, 0.0002, accuracy: 1e-15)
        for t in [0.0004, 0.0006, 0.0008] { XCTAssertTrue(axis.ticks.contains { abs($0 - t) < 1e-15 }, "\(axis.ticks)") }
        XCTAssertLessThanOrEqual(axis.lo, 0.0003); XCTAssertGreaterThanOrEqual(axis.hi, 0.00094)
        XCTAssertEqual(tickLabels(axis.ticks, step: axis.step), ["2e-4", "4e-4", "6e-4", "8e-4", "1e-3"])
        XCTAssertEqual(tickLabels([0.00012, 0.00014], step: 0.00002), ["1.2e-4", "1.4e-4"])
        XCTAssertEqual(tickLabels([0, 0.05, 0.1], step: 0.05), ["0.00", "0.05", "0.10"])
        XCTAssertEqual(tickLabels([0, 2000, 4000], step: 2000), ["0", "2000", "4000"])
        // The learning rate's warm-up starts near 0: the axis starts at 0.
        XCTAssertEqual(valueAxis(min: 8.3e-6, max: 7.3e-4, range: .nonNegative).lo, 0)
    }

    // MARK: ranges

    func testAccuracyLikeAxesStayInsideZeroOne() {
        XCTAssertEqual(metricRange("discriminator_auc"), .unit)
        XCTAssertEqual(metricRange("dev_mismatched/accuracy"), .unit)
        XCTAssertEqual(metricRange("discriminator_precision"), .unit)
        XCTAssertEqual(metricRange("f1"), .unit)
        XCTAssertEqual(metricRange("mcc"), .correlation)
        // A flat dev accuracy (the report once drew it on 0.74 to 1.74).
        let flat = valueAxis(min: 0.7433, max: 0.7433, range: .unit)
        XCTAssertLessThanOrEqual(flat.hi, 1); XCTAssertGreaterThanOrEqual(flat.lo, 0)
        XCTAssertTrue(flat.lo < 0.7433 && 0.7433 < flat.hi, "\(flat)")
        for (lo, hi) in [(0.9, 1.0), (0.97, 0.999), (1.0, 1.0), (0.0, 1.0), (0.55, 0.99)] {
            let axis = valueAxis(min: lo, max: hi, range: .unit)
            XCTAssertLessThanOrEqual(axis.hi, 1, "\(lo)...\(hi): \(axis)")
            XCTAssertLessThanOrEqual(axis.ticks.max()!, 1, "\(lo)...\(hi): \(axis)")
            XCTAssertGreaterThanOrEqual(axis.lo, 0, "\(lo)...\(hi): \(axis)")
            XCTAssertTrue(axis.lo <= lo && hi <= axis.hi, "\(lo)...\(hi): \(axis)")
        }
        let correlation = valueAxis(min: 0.95, max: 1, range: .correlation)
        XCTAssertLessThanOrEqual(correlation.hi, 1)
        XCTAssertGreaterThanOrEqual(valueAxis(min: -1, max: -0.98, range: .correlation).lo, -1)
    }

    func testLossAxesStartAtZeroOrAtAMultipleOfTheStep() {
        XCTAssertEqual(valueAxis(min: 2.1, max: 41.5, range: .nonNegative).lo, 0)
        let narrow = valueAxis(min: 0.4711, max: 0.6168, range: .nonNegative)
        XCTAssertEqual(narrow.lo, 0.45, accuracy: 1e-12)
        XCTAssertEqual(narrow.hi, 0.65, accuracy: 1e-12)
        XCTAssertEqual(narrow.ticks.count, 5)
    }

    // MARK: the SVG

    /// Each panel of the SVG: its title, its y tick labels with their x, and its markers by colour.
    private func parsePanels(_ svg: String) -> [(title: String, yTicks: [(x: Double, label: String)], markers: [String: Int])] {
        svg.components(separatedBy: "<g>").dropFirst().map { group in
            let title = group.firstMatch(of: /font-weight="bold">([^<]*)</).map { String($0.1) } ?? ""
            let ticks = group.matches(of: /<text x="([0-9.]+)" [^>]*class="ytick">([^<]*)</).map { (Double($0.1)!, String($0.2)) }
            var markers: [String: Int] = [:]
            for m in group.matches(of: /class="marker" [^>]*fill="(#[0-9a-f]+)"/) { markers[String(m.1), default: 0] += 1 }
            return (title, ticks, markers)
        }
    }

    private func preTrainingLines(trainEvery: Int = 5, evalEvery: Int = 100, steps: Int = 1000) -> [MetricLine] {
        var lines: [MetricLine] = []
        for step in stride(from: trainEvery, through: steps, by: trainEvery) {
            let s = Double(step)
            lines.append(MetricLine(step: step, kind: "train", values: [
                "loss": 40 / (1 + s / 50) + 20, "generator_loss": 7 - s / 500, "discriminator_loss": 0.4 + 0.3 / (1 + s),
                "generator_accuracy": s / Double(steps) * 0.2, "discriminator_auc": 0.5 + s / Double(steps) * 0.49,
                "learning_rate": step < 100 ? 5e-4 * s / 100 : 5e-4 * (1 - s / Double(steps + 1)), "tokens_per_second": 5000 + s]))
            if step % evalEvery == 0 {
                lines.append(MetricLine(step: step, kind: "eval", values: [
                    "loss": 40 / (1 + s / 50) + 21, "generator_loss": 7.1 - s / 500, "discriminator_loss": 0.41,
                    "generator_accuracy": s / Double(steps) * 0.19, "discriminator_auc": 0.5 + s / Double(steps) * 0.5]))
            }
        }
        return lines
    }

    func testSparseSeriesHaveMarkersAndDenseOnesDoNot() {
        let panels = parsePanels(reportSVG(preTrainingLines(), title: "t"))
        XCTAssertEqual(panels.count, reportPanels.count, "one panel per metric, the collapse signals included")
        let loss = panels.first { $0.title == "total loss" }!
        XCTAssertEqual(loss.markers["#ff7f0e"], 10, "one circle per held-out evaluation")
        XCTAssertNil(loss.markers["#1f77b4"], "200 training points: a line alone")
        XCTAssertNil(panels.first { $0.title == "learning rate" }!.markers["#ff7f0e"])
    }

    func testEveryTickLabelFitsLeftOfItsAxisInsideThePicture() {
        let svg = reportSVG(preTrainingLines(), title: "t")
        for (index, panel) in parsePanels(svg).enumerated() {
            XCTAssertGreaterThanOrEqual(panel.yTicks.count, 3, panel.title)
            let panelLeft = Double(index % 2) * 440
            for tick in panel.yTicks {
                XCTAssertGreaterThanOrEqual(tick.x - labelWidth(tick.label), panelLeft + 4, "\(panel.title): \(tick.label)")
                XCTAssertLessThanOrEqual(tick.label.count, 7, "\(panel.title): \(tick.label)")
            }
            XCTAssertEqual(Set(panel.yTicks.map(\.label)).count, panel.yTicks.count, "\(panel.title): labels repeat")
        }
        let auc = parsePanels(svg).first { $0.title == "discriminator AUC" }!
        XCTAssertLessThanOrEqual(auc.yTicks.compactMap { Double($0.label) }.max()!, 1)
        XCTAssertTrue(svg.contains("class=\"xtick\">200<") && svg.contains("class=\"xtick\">1000<"), "step ticks at round numbers")
    }

    func testFineTuningRunHasDevMarkersAndAnAccuracyAxisInsideZeroOne() {
        var lines: [MetricLine] = []
        for step in stride(from: 10, through: 152, by: 10) {
            lines.append(MetricLine(step: step, kind: "train", values: ["loss": 0.6 - Double(step) / 1000, "epoch": Double(step) / 38,
                                                                       "learning_rate": 3e-4, "tokens_per_second": 2000]))
        }
        for epoch in 1...4 {
            lines.append(MetricLine(step: 38 * epoch, kind: "eval", values: [
                "epoch": Double(epoch), "loss": 0.57, "accuracy": 0.7433, "main": 0.7433,
                "dev_mismatched/accuracy": 0.7, "dev_mismatched/loss": 0.6]))
        }
        let svg = reportSVG(lines, title: "ft")
        let panels = parsePanels(svg)
        XCTAssertEqual(panels.map(\.title), ["loss", "dev accuracy", "learning rate", "tokens / s"])
        let accuracy = panels[1]
        XCTAssertEqual(accuracy.markers["#ff7f0e"], 4, "one circle per dev epoch")
        XCTAssertEqual(accuracy.markers["#2ca02c"], 4, "the further dev set (MNLI mismatched) too")
        let values = accuracy.yTicks.compactMap { Double($0.label) }
        XCTAssertLessThanOrEqual(values.max()!, 1); XCTAssertGreaterThanOrEqual(values.min()!, 0)
        XCTAssertTrue(values.min()! <= 0.7 && values.max()! >= 0.7433, "\(values)")
        XCTAssertTrue(svg.contains(">dev<") && svg.contains(">dev_mismatched<"), "legend names the dev sets")
    }

    // MARK: where it is written

    func testOutIsHonoured() throws {
        let dir = try makeTemporaryDirectory("report-out", in: self)
        let run = dir.appendingPathComponent("run"), elsewhere = dir.appendingPathComponent("elsewhere")
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        let target = elsewhere.appendingPathComponent("plot.svg")
        let written = try writeReport("<svg/>", run: run, out: target, fallbackDirectories: [])
        XCTAssertEqual(written.svg.path, target.path)
        XCTAssertNil(written.fallbackReason)
        XCTAssertEqual(try String(contentsOf: target, encoding: .utf8), "<svg/>")
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.appendingPathComponent("report.svg").path))
        // A directory gets report.svg; a missing directory is an error naming the path.
        XCTAssertEqual(try writeReport("<svg/>", run: run, out: elsewhere, fallbackDirectories: []).svg.lastPathComponent, "report.svg")
        XCTAssertThrowsError(try writeReport("<svg/>", run: run, out: dir.appendingPathComponent("no/such/x.svg"), fallbackDirectories: [dir])) {
            XCTAssertTrue("\($0)".contains("no/such/x.svg") && "\($0)".contains("--out"), "\($0)")
        }
        XCTAssertEqual(try writeReport("<svg/>", run: run, out: nil, fallbackDirectories: []).svg.path,
                       run.appendingPathComponent("report.svg").path)
    }

    func testAnUnwritableRunDirectoryFallsBackOrSaysToPassOut() throws {
        let dir = try makeTemporaryDirectory("report-readonly", in: self)
        let run = dir.appendingPathComponent("myrun"), fallback = dir.appendingPathComponent("cwd")
        // RUN/report.svg cannot be written: it is a directory that is not empty (permissions do not stop root).
        try FileManager.default.createDirectory(at: run.appendingPathComponent("report.svg/x"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: fallback, withIntermediateDirectories: true)
        let written = try writeReport("<svg/>", run: run, out: nil, fallbackDirectories: [fallback])
        XCTAssertEqual(written.svg.path, fallback.appendingPathComponent("myrun-report.svg").path)
        XCTAssertTrue(written.fallbackReason?.contains(run.appendingPathComponent("report.svg").path) == true, "\(String(describing: written.fallbackReason))")
        XCTAssertTrue(FileManager.default.fileExists(atPath: written.svg.path))
        XCTAssertThrowsError(try writeReport("<svg/>", run: run, out: nil, fallbackDirectories: [])) { error in
            XCTAssertTrue("\(error)".contains(run.appendingPathComponent("report.svg").path) && "\(error)".contains("--out"), "\(error)")
        }
    }
}
