// electra-train report: plot a run's curves (SVG) and print a summary table.
import ArgumentParser
import Durability
import Foundation
import Model
import Training

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write RUN/report.svg (training and held-out curves) and print a summary table.")

    @Argument(help: ArgumentHelp("The run directory (electra-train --out).", valueName: "run"))
    var runDirectory: String

    func run() throws {
        let url = URL(fileURLWithPath: runDirectory)
        let lines = try readMetrics(url)
        let svg = reportSVG(lines, title: "electra-train run \(url.lastPathComponent)")
        let out = url.appendingPathComponent("report.svg")
        try writeFileAtomically(Data(svg.utf8), to: out)
        print(reportSummary(lines))
        print("plot: \(out.path)")
    }
}
