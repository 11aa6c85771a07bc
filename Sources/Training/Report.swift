// `electra-train report`: the curves of a run as an SVG (training and held-out), and a summary.
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
                    ("learning rate", "learning_rate"), ("tokens / s", "tokens_per_second")]

/// The panels of a fine-tuning run (electra-train finetune), those of its metrics that it has.
let fineTuningPanels = [("loss", "loss"), ("dev accuracy", "accuracy"), ("dev F1", "f1"), ("dev Matthews corr.", "mcc"),
                        ("dev Pearson", "pearson"), ("dev Spearman", "spearman"), ("learning rate", "learning_rate"),
                        ("tokens / s", "tokens_per_second")]

func panels(_ lines: [MetricLine]) -> [(String, String)] {
    guard lines.contains(where: { $0.values["main"] != nil }) else { return reportPanels }
    return fineTuningPanels.filter { p in lines.contains { $0.values[p.1] != nil } }
}

/// An SVG with one small chart per metric: training (blue) and held-out (orange) curves.
public func reportSVG(_ lines: [MetricLine], title: String) -> String {
    let columns = 2, width = 420.0, height = 220.0, pad = 48.0
    let reportPanels = panels(lines)
    let rows = (reportPanels.count + columns - 1) / columns
    var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width) * columns)" height="\(Int(height) * rows + 40)" font-family="sans-serif" font-size="11">
        <rect width="100%" height="100%" fill="white"/>
        <text x="12" y="24" font-size="15">\(escape(title))</text>
        <text x="\(Int(width) * columns - 210)" y="24"><tspan fill="#1f77b4">&#9632; training</tspan>  <tspan fill="#ff7f0e">&#9632; held-out</tspan></text>

        """
    let maxStep = Double(lines.map(\.step).max() ?? 1)
    for (i, (name, key)) in reportPanels.enumerated() {
        let x0 = Double(i % columns) * width + pad, y0 = 40 + Double(i / columns) * height + 20
        let w = width - pad - 16, h = height - 60
        let series = ["train", "eval"].map { kind in lines.filter { $0.kind == kind }.compactMap { l in l.values[key].map { (Double(l.step), $0) } } }
        let all = series.flatMap { $0.map(\.1) }
        svg += "<text x=\"\(x0)\" y=\"\(y0 - 6)\" font-size=\"12\">\(name)</text>\n"
        svg += "<rect x=\"\(x0)\" y=\"\(y0)\" width=\"\(w)\" height=\"\(h)\" fill=\"none\" stroke=\"#999\"/>\n"
        guard let lo0 = all.min(), let hi0 = all.max() else { continue }
        let lo = lo0, hi = hi0 > lo0 ? hi0 : lo0 + 1
        svg += "<text x=\"\(x0 - 4)\" y=\"\(y0 + 10)\" text-anchor=\"end\">\(format(hi))</text>\n"
        svg += "<text x=\"\(x0 - 4)\" y=\"\(y0 + h)\" text-anchor=\"end\">\(format(lo))</text>\n"
        svg += "<text x=\"\(x0 + w)\" y=\"\(y0 + h + 14)\" text-anchor=\"end\">step \(Int(maxStep))</text>\n"
        for (s, color) in zip(series, ["#1f77b4", "#ff7f0e"]) where !s.isEmpty {
            let points = s.map { String(format: "%.1f,%.1f", x0 + w * $0.0 / max(maxStep, 1), y0 + h - h * ($0.1 - lo) / (hi - lo)) }
            svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\" points=\"\(points.joined(separator: " "))\"/>\n"
            if s.count == 1 { svg += "<circle cx=\"\(points[0].split(separator: ",")[0])\" cy=\"\(points[0].split(separator: ",")[1])\" r=\"3\" fill=\"\(color)\"/>\n" }
        }
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
    let keys = lines.contains(where: { $0.values["main"] != nil }) ? panels(lines).map(\.1) : ["loss", "generator_loss", "generator_accuracy", "sampled_accuracy", "discriminator_loss",
                "discriminator_accuracy", "discriminator_auc", "discriminator_precision", "discriminator_recall",
                "replaced_fraction", "learning_rate", "tokens_per_second"]
    for key in keys {
        let t = lastTrain?.values[key].map(format) ?? "-", e = lastEval?.values[key].map(format) ?? "-"
        out += row(key, t, e)
    }
    out += "steps: \(lastTrain?.step ?? 0), elapsed: \(format(lastTrain?.values["elapsed_seconds"] ?? 0)) s"
    return out
}

private func format(_ v: Double) -> String {
    abs(v) >= 1000 ? String(format: "%.0f", v) : abs(v) >= 0.01 || v == 0 ? String(format: "%.4g", v) : String(format: "%.2e", v)
}

private func escape(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
}
