// `electra-train report`: the curves of a run as an SVG (training and held-out), and a summary.
// Axes follow R's pretty() / matplotlib's MaxNLocator: ticks at 1, 2 or 5 times a power of ten.
import Durability
import Foundation

/// One metrics.jsonl line.
public struct MetricLine {
    public var step: Int
    public var kind: String
    public var values: [String: Double]
}

/// Reads OUT/metrics.jsonl.
public func readMetrics(_ run: URL) throws -> [MetricLine] {
    let url = run.appendingPathComponent("metrics.jsonl")
    guard let text = try? String(contentsOf: url, encoding: .utf8) else {
        throw TrainingError.io(path: url.path, failure: "no metrics to report", remedy: "pass a run directory written by electra-train (its --out)")
    }
    return text.split(separator: "\n").compactMap { line in
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let step = object["step"] as? Int, let kind = object["kind"] as? String else { return nil }
        var values: [String: Double] = [:]
        for (k, v) in object { if let d = v as? Double { values[k] = d } else if let i = v as? Int { values[k] = Double(i) } }
        return MetricLine(step: step, kind: kind, values: values)
    }
}

/// The panels of the report: (title, metric key).
let reportPanels = [("total loss", "loss"), ("generator loss", "generator_loss"), ("discriminator loss", "discriminator_loss"),
                    ("generator accuracy", "generator_accuracy"), ("discriminator AUC", "discriminator_auc"),
                    ("discriminator spread (collapse < 0.01)", "discriminator_spread"),
                    ("generator top-prediction share", "generator_top_share"),
                    ("learning rate", "learning_rate"), ("tokens / s", "tokens_per_second")]

/// The panels of a fine-tuning run (electra-train finetune), those of its metrics that it has.
let fineTuningPanels = [("loss", "loss"), ("dev accuracy", "accuracy"), ("dev F1", "f1"), ("dev Matthews corr.", "mcc"),
                        ("dev Pearson", "pearson"), ("dev Spearman", "spearman"), ("learning rate", "learning_rate"),
                        ("tokens / s", "tokens_per_second")]

/// Whether the lines are those of `electra-train finetune` (its lines carry an epoch; its dev lines the main metric).
func isFineTuning(_ lines: [MetricLine]) -> Bool {
    lines.contains { $0.values["main"] != nil || $0.values["epoch"] != nil }
}

func panels(_ lines: [MetricLine]) -> [(String, String)] {
    guard isFineTuning(lines) else {
        // A masked-LM run (--objective mlm) has no replaced-token head: no discriminator loss or AUC.
        if !lines.contains(where: { $0.values["discriminator_loss"] != nil }) && lines.contains(where: { $0.values["loss"] != nil }) {
            return reportPanels.filter { $0.1 != "discriminator_loss" && $0.1 != "discriminator_auc" }
        }
        return reportPanels
    }
    return fineTuningPanels.filter { p in lines.contains { $0.values[p.1] != nil } }
}

// MARK: - Axes

/// The range a metric can take, which bounds its axis.
enum MetricRange: Equatable {
    case unbounded
    /// Losses, rates, throughput: the axis starts at 0 unless the data sit far from it.
    case nonNegative
    /// Accuracy, AUC, precision, recall, F1, fractions: inside [0, 1].
    case unit
    /// Correlations (Matthews, Pearson, Spearman): inside [-1, 1].
    case correlation
}

/// The range of a metric key (`dev_mismatched/accuracy` as `accuracy`).
func metricRange(_ key: String) -> MetricRange {
    let name = key.split(separator: "/").last.map(String.init) ?? key
    if ["mcc", "pearson", "spearman"].contains(name) { return .correlation }
    if ["accuracy", "auc", "precision", "recall", "fraction", "share"].contains(where: { name.hasSuffix($0) }) || name == "f1" { return .unit }
    if ["loss", "spread", "learning_rate", "tokens_per_second", "examples_per_second", "gradient_norm", "seconds"].contains(where: { name.hasSuffix($0) }) {
        return .nonNegative
    }
    return .unbounded
}

/// The smallest 1-2-5 step (1, 2 or 5 times a power of ten) that cuts `span` into at most `target` intervals.
///
///     niceStep(span: 0.00064, target: 5)   // 0.0002
public func niceStep(span: Double, target: Int = 5) -> Double {
    guard span > 0, span.isFinite else { return 1 }
    let rough = span / Double(max(target, 1))
    let power = pow(10, floor(log10(rough)))
    let residual = rough / power
    let mantissa: Double = residual <= 1 + 1e-9 ? 1 : residual <= 2 + 1e-9 ? 2 : residual <= 5 + 1e-9 ? 5 : 10
    return mantissa * power
}

/// The multiples of `step` in [lo, hi], rounded to the step (no 0.30000000000000004).
func multiples(of step: Double, from lo: Double, to hi: Double) -> [Double] {
    let first = (lo / step - 1e-9).rounded(.up), last = (hi / step + 1e-9).rounded(.down)
    guard first <= last else { return [] }
    return stride(from: first, through: last, by: 1).map { times($0, step) }
}

/// n * step, rounded to the step's decimals (0.94, not 0.9400000000000001).
func times(_ n: Double, _ step: Double) -> Double {
    guard n != 0 else { return 0 }
    let scale = pow(10, Double(min(max(0, -Int(floor(log10(step))) + 1), 15)))
    return (n * step * scale).rounded() / scale
}

/// Ticks at a 1-2-5 step inside [lo, hi] (the step axis).
///
///     niceTicks(0, 152)              // [0, 50, 100, 150]
///     niceTicks(0, 152, target: 8)   // [0, 20, 40, ..., 140]
public func niceTicks(_ lo: Double, _ hi: Double, target: Int = 5) -> [Double] {
    multiples(of: niceStep(span: hi - lo, target: target), from: lo, to: hi)
}

/// A value axis: its bounds (multiples of the step, within the metric's range) and its ticks.
struct PlotAxis: Equatable {
    var lo: Double
    var hi: Double
    var step: Double
    var ticks: [Double]
}

/// The axis of values in [min, max] of a metric of the given range: bounds rounded out to the
/// 1-2-5 step, never past the range (accuracy never above 1), from 0 when the data come near it.
///
///     valueAxis(min: 0.0003, max: 0.00094, range: .unbounded)   // 0.0002 ... 0.001, step 0.0002
func valueAxis(min dataMin: Double, max dataMax: Double, range: MetricRange, target: Int = 5) -> PlotAxis {
    var lo = dataMin, hi = dataMax
    if !lo.isFinite || !hi.isFinite { lo = 0; hi = 1 }
    let floorValue: Double? = range == .unbounded ? nil : range == .correlation ? -1 : 0
    let ceilingValue: Double? = range == .unit || range == .correlation ? 1 : nil
    if let f = floorValue, f == 0, lo >= 0, lo <= 0.4 * hi { lo = 0 }   // near 0: show it
    if hi - lo <= 1e-12 * Swift.max(1, abs(hi)) {   // a flat series: a band around it
        let pad = lo == 0 ? 0.5 : abs(lo) * 0.05
        lo -= pad; hi += pad
        if let f = floorValue, dataMin >= f, lo < f { lo = f }
        if let c = ceilingValue, dataMax <= c, hi > c { hi = c }
        if lo == 0 && hi == 0 { hi = 1 }
    }
    let step = niceStep(span: hi - lo, target: target)
    var axisLo = times((lo / step - 1e-9).rounded(.down), step), axisHi = times((hi / step + 1e-9).rounded(.up), step)
    if let f = floorValue, dataMin >= f { axisLo = Swift.max(axisLo, f) }
    if let c = ceilingValue, dataMax <= c { axisHi = Swift.min(axisHi, c) }
    return PlotAxis(lo: axisLo, hi: axisHi, step: step, ticks: multiples(of: step, from: axisLo, to: axisHi))
}

/// Tick labels of one axis, in one style: fixed decimals as fine as the step (0.05, 1000), or,
/// for values under 0.01 or from a million, `5e-4` / `1.2e-4` (never `0.00012` nor `1.20e-04`).
func tickLabels(_ ticks: [Double], step: Double) -> [String] {
    let largest = ticks.map(abs).max() ?? 0
    let stepPower = Int(floor(log10(step) + 1e-9))
    if largest >= 0.01 && largest < 1e6 {
        let decimals = Swift.max(0, -stepPower)
        return ticks.map { String(format: "%.\(decimals)f", $0 == 0 ? 0 : $0) }
    }
    return ticks.map { v in
        guard v != 0 else { return "0" }
        let power = Int(floor(log10(abs(v)) + 1e-9))
        let text = String(format: "%.\(Swift.max(0, power - stepPower))e", v)   // "1.20e-04"
        guard let e = text.firstIndex(of: "e") else { return text }
        var mantissa = String(text[..<e])
        let exponent = Int(text[text.index(after: e)...]) ?? 0
        if mantissa.contains(".") {
            while mantissa.hasSuffix("0") { mantissa.removeLast() }
            if mantissa.hasSuffix(".") { mantissa.removeLast() }
        }
        return exponent == 0 ? mantissa : mantissa + "e" + String(exponent)
    }
}

/// Labels of the step axis: 0, 20, 40, ...; from 10,000 in thousands (50k, 100k, 1.25M from
/// 10 million), so the last one stays inside the picture.
func stepLabels(_ ticks: [Double], step: Double) -> [String] {
    let largest = ticks.map(abs).max() ?? 0
    guard largest >= 10_000 else { return tickLabels(ticks, step: step) }
    let (unit, suffix) = largest >= 10_000_000 ? (1e6, "M") : (1e3, "k")
    let decimals = Swift.max(0, -Int(floor(log10(step / unit) + 1e-9)))
    return ticks.map { $0 == 0 ? "0" : String(format: "%.\(decimals)f", $0 / unit) + suffix }
}

/// About the width in pixels of `text` at font size 11 (DejaVu Sans digits are 0.64 em wide).
func labelWidth(_ text: String) -> Double { Double(text.count) * 7.2 }

// MARK: - The SVG

/// The colours: training, held-out (dev), further dev sets (MNLI mismatched).
private let seriesColors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#d62728"]

/// Held-out evaluations (fine-tuning: dev epochs) are sparse: a circle on every point, up to this
/// many; training lines are dense: a line alone, unless they too have only a few points.
let sparseSeriesLimit = 60, fewPoints = 5

/// Whether a series is drawn with a circle on each point: the `index`th series (0: training).
func hasMarkers(series index: Int, count: Int) -> Bool {
    count <= fewPoints || (index > 0 && count <= sparseSeriesLimit)
}

/// The names of the further dev sets in fine-tuning lines (`dev_mismatched` of `dev_mismatched/accuracy`).
func extraDevNames(_ lines: [MetricLine]) -> [String] {
    var names: [String] = []
    for line in lines where line.kind == "eval" {
        for key in line.values.keys.sorted() where key.contains("/") {
            let name = String(key.split(separator: "/")[0])
            if !names.contains(name) { names.append(name) }
        }
    }
    return names
}

/// An SVG with one small chart per metric: training (blue line) and held-out (orange, a circle
/// on each evaluation) curves, with ticks at 1-2-5 steps and gridlines on both axes.
public func reportSVG(_ lines: [MetricLine], title: String) -> String {
    let columns = 2, width = 440.0, height = 230.0, top = 44.0
    let fineTuning = isFineTuning(lines)
    let shownPanels = panels(lines)
    let extras = fineTuning ? extraDevNames(lines) : []
    let seriesNames = ["training", fineTuning ? "dev" : "held-out"] + extras
    let rows = Swift.max(1, (shownPanels.count + columns - 1) / columns)
    let totalWidth = Int(width) * columns
    var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(totalWidth)" height="\(Int(top + height * Double(rows)) + 8)" font-family="DejaVu Sans, Verdana, sans-serif" font-size="11">
        <rect width="100%" height="100%" fill="white"/>
        <text x="12" y="24" font-size="15">\(escape(title))</text>

        """
    // Legend, right-aligned: a line for training, a line with a circle for the evaluations.
    var legendX = Double(totalWidth) - 16 - seriesNames.reduce(0) { $0 + 34 + labelWidth($1) * 0.85 }
    for (i, name) in seriesNames.enumerated() {
        let color = seriesColors[i % seriesColors.count]
        svg += "<line x1=\"\(f(legendX))\" y1=\"20\" x2=\"\(f(legendX + 22))\" y2=\"20\" stroke=\"\(color)\" stroke-width=\"2\"/>"
        if i > 0 { svg += "<circle cx=\"\(f(legendX + 11))\" cy=\"20\" r=\"3\" fill=\"\(color)\"/>" }
        svg += "<text x=\"\(f(legendX + 26))\" y=\"24\">\(escape(name))</text>\n"
        legendX += 34 + labelWidth(name) * 0.85
    }
    let maxStep = Double(Swift.max(1, lines.filter { $0.kind != "system" }.map(\.step).max() ?? 1))
    let stepTicks = niceTicks(0, maxStep, target: 8)
    let stepTickLabels = stepLabels(stepTicks, step: niceStep(span: maxStep, target: 8))
    for (i, (name, key)) in shownPanels.enumerated() {
        let panelX = Double(i % columns) * width, panelY = top + Double(i / columns) * height
        var series: [[(Double, Double)]] = ["train", "eval"].map { kind in
            lines.filter { $0.kind == kind }.compactMap { l in l.values[key].flatMap { $0.isFinite ? (Double(l.step), $0) : nil } }
        }
        for extra in extras {
            series.append(lines.filter { $0.kind == "eval" }.compactMap { l in l.values[extra + "/" + key].flatMap { $0.isFinite ? (Double(l.step), $0) : nil } })
        }
        let all = series.flatMap { $0.map(\.1) }
        // The spread's axis always reaches past the collapse line (0.01): a collapsed run's spread
        // (1e-6) then lies flat on 0 instead of filling a magnified axis.
        let top = key == "discriminator_spread" ? Swift.max(all.max() ?? 1, 0.02) : (all.max() ?? 1)
        let axis = valueAxis(min: all.min() ?? 0, max: top, range: metricRange(key))
        let labels = tickLabels(axis.ticks, step: axis.step)
        // The left margin fits the widest tick label; the right edge is the same for every panel.
        let x0 = panelX + 14 + (labels.map(labelWidth).max() ?? 0) + 6, y0 = panelY + 26
        let w = panelX + width - 18 - x0, h = height - 26 - 40
        func px(_ step: Double) -> Double { x0 + w * step / (maxStep * 1.03) }   // the last point clear of the frame
        func py(_ value: Double) -> Double { y0 + h - h * (value - axis.lo) / Swift.max(axis.hi - axis.lo, 1e-300) }
        svg += "<g>\n<text x=\"\(f(x0))\" y=\"\(f(y0 - 8))\" font-size=\"12\" font-weight=\"bold\">\(escape(name))</text>\n"
        for (t, label) in zip(axis.ticks, labels) {
            svg += "<line x1=\"\(f(x0))\" y1=\"\(f(py(t)))\" x2=\"\(f(x0 + w))\" y2=\"\(f(py(t)))\" stroke=\"#e4e4e4\"/>"
            svg += "<text x=\"\(f(x0 - 5))\" y=\"\(f(py(t) + 4))\" text-anchor=\"end\" class=\"ytick\">\(label)</text>\n"
        }
        for (t, label) in zip(stepTicks, stepTickLabels) {
            svg += "<line x1=\"\(f(px(t)))\" y1=\"\(f(y0))\" x2=\"\(f(px(t)))\" y2=\"\(f(y0 + h))\" stroke=\"#e4e4e4\"/>"
            svg += "<text x=\"\(f(px(t)))\" y=\"\(f(y0 + h + 14))\" text-anchor=\"middle\" class=\"xtick\">\(label)</text>\n"
        }
        svg += "<text x=\"\(f(x0 + w))\" y=\"\(f(y0 + h + 28))\" text-anchor=\"end\" fill=\"#555\">step</text>\n"
        svg += "<rect x=\"\(f(x0))\" y=\"\(f(y0))\" width=\"\(f(w))\" height=\"\(f(h))\" fill=\"none\" stroke=\"#888\"/>\n"
        if all.isEmpty {
            svg += "<text x=\"\(f(x0 + w / 2))\" y=\"\(f(y0 + h / 2))\" text-anchor=\"middle\" fill=\"#888\">no values</text>\n"
        }
        for (s, index) in zip(series, series.indices) where !s.isEmpty {
            let color = seriesColors[index % seriesColors.count]
            let points = s.map { (px($0.0), py($0.1)) }
            if points.count > 1 {
                svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\" stroke-linejoin=\"round\" points=\""
                    + points.map { "\(f($0.0)),\(f($0.1))" }.joined(separator: " ") + "\"/>\n"
            }
            if hasMarkers(series: index, count: points.count) {
                for p in points {
                    svg += "<circle class=\"marker\" cx=\"\(f(p.0))\" cy=\"\(f(p.1))\" r=\"2.8\" fill=\"\(color)\" stroke=\"white\" stroke-width=\"0.8\"/>"
                }
                svg += "\n"
            }
        }
        svg += "</g>\n"
    }
    return svg + "</svg>\n"
}

/// A short summary table: last training and held-out values of the main metrics.
public func reportSummary(_ lines: [MetricLine]) -> String {
    let lastTrain = lines.last { $0.kind == "train" }, lastEval = lines.last { $0.kind == "eval" }
    func row(_ a: String, _ b: String, _ c: String) -> String {
        a.padding(toLength: 26, withPad: " ", startingAt: 0) + String(repeating: " ", count: max(0, 12 - b.count)) + b
            + String(repeating: " ", count: max(0, 12 - c.count)) + c + "\n"
    }
    var out = row("metric", "training", "held-out")
    let keys = isFineTuning(lines) ? panels(lines).map(\.1) : ["loss", "generator_loss", "generator_accuracy", "sampled_accuracy", "discriminator_loss",
                "discriminator_accuracy", "discriminator_auc", "discriminator_precision", "discriminator_recall",
                "replaced_fraction", "discriminator_spread", "generator_top_share", "learning_rate", "tokens_per_second"]
    for key in keys {
        let t = lastTrain?.values[key].map(format) ?? "-", e = lastEval?.values[key].map(format) ?? "-"
        out += row(key, t, e)
    }
    out += "steps: \(lastTrain?.step ?? 0), elapsed: \(format(lastTrain?.values["elapsed_seconds"] ?? 0)) s"
    return out
}

// MARK: - Where the report goes

/// Where `report` wrote its SVG, and why not in the run directory when it could not.
public struct ReportDestination: Equatable {
    public var svg: URL
    /// Set when RUN/report.svg could not be written and a fallback directory was used: the reason.
    public var fallbackReason: String?
}

/// Writes the report's SVG: to `out` when given (a directory: `out/report.svg`), else to
/// RUN/report.svg, else (the run directory is read-only) to `NAME-report.svg` in the first of
/// `fallbackDirectories` that takes it.
/// - Throws: `TrainingError.io` naming the path that could not be written and saying to pass `--out`.
public func writeReport(_ svg: String, run: URL, out: URL?, fallbackDirectories: [URL]) throws -> ReportDestination {
    let data = Data(svg.utf8)
    if var target = out {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: target.path, isDirectory: &isDirectory), isDirectory.boolValue {
            target = target.appendingPathComponent("report.svg")
        }
        do { try writeFileAtomically(data, to: target) } catch let error as FileWriteError {
            throw TrainingError.io(path: target.path, failure: "cannot write the report (\(error.reason))",
                                   remedy: "pass --out with a file in a directory that exists and is writable")
        }
        return ReportDestination(svg: target, fallbackReason: nil)
    }
    let inRun = run.appendingPathComponent("report.svg")
    let firstFailure: FileWriteError
    do { try writeFileAtomically(data, to: inRun); return ReportDestination(svg: inRun, fallbackReason: nil) }
    catch let error as FileWriteError { firstFailure = error }
    for directory in fallbackDirectories {
        let target = directory.appendingPathComponent(run.standardizedFileURL.lastPathComponent + "-report.svg")
        if (try? writeFileAtomically(data, to: target)) != nil {
            return ReportDestination(svg: target, fallbackReason: "\(inRun.path) cannot be written (\(firstFailure.reason))")
        }
    }
    throw TrainingError.io(path: inRun.path, failure: "cannot write the report (\(firstFailure.reason))",
                           remedy: "pass --out FILE to write it elsewhere")
}

private func format(_ v: Double) -> String {
    abs(v) >= 1000 ? String(format: "%.0f", v) : abs(v) >= 0.01 || v == 0 ? String(format: "%.4g", v) : String(format: "%.2e", v)
}

/// A coordinate with one decimal.
private func f(_ v: Double) -> String { String(format: "%.1f", v) }

private func escape(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
}
