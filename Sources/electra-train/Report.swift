// electra-train report: plot a run's curves (SVG, and a PNG when rsvg-convert is installed) and print a summary table.
import ArgumentParser
import Durability
import Foundation
import Model
import Training

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write RUN/report.svg (training and held-out curves; a PNG beside it when rsvg-convert is installed) and print a summary table.",
        discussion: """
            Works for pre-training runs (electra-train) and fine-tuning runs (electra-train finetune). When the run \
            directory cannot be written and no --out is given, the plot goes to NAME-report.svg in the current \
            directory (or the temporary directory); the path written is printed.
            """)

    @Argument(help: ArgumentHelp("The run directory (electra-train --out).", valueName: "run"))
    var runDirectory: String

    @Option(help: ArgumentHelp("Where to write the SVG (default: RUN/report.svg); a directory gets report.svg.", valueName: "file"))
    var out: String?

    @Flag(name: .customLong("no-png"), help: "Write no PNG, only the SVG.")
    var noPNG = false

    func run() throws {
        let url = URL(fileURLWithPath: runDirectory)
        let lines = try readMetrics(url)
        let svg = reportSVG(lines, title: "electra-train run \(url.standardizedFileURL.lastPathComponent)")
        let fallbacks = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath), FileManager.default.temporaryDirectory]
        let written = try writeReport(svg, run: url, out: out.map { URL(fileURLWithPath: $0) }, fallbackDirectories: fallbacks)
        print(reportSummary(lines))
        if let reason = written.fallbackReason {
            print("note: \(reason); wrote the plot to \(written.svg.path) instead (--out FILE chooses where)")
        }
        print("plot: \(written.svg.path)")
        if !noPNG { convertToPNG(written.svg) }
    }

    /// RUN/report.png beside the SVG, by rsvg-convert (Debian: librsvg2-bin) when it is on PATH.
    private func convertToPNG(_ svg: URL) {
        let png = svg.deletingPathExtension().appendingPathExtension("png")
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        guard let tool = path.split(separator: ":").map({ URL(fileURLWithPath: String($0)).appendingPathComponent("rsvg-convert") })
            .first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            print("png: not written (no rsvg-convert on PATH; install it with: apt-get install librsvg2-bin)")
            return
        }
        let process = Process()
        process.executableURL = tool
        process.arguments = ["--background-color", "white", "-o", png.path, svg.path]
        let errors = Pipe()
        process.standardError = errors
        do {
            try process.run()
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            if process.terminationStatus == 0 {
                print("png: \(png.path)")
            } else {
                print("png: not written (\(tool.path) failed: \(message.trimmingCharacters(in: .whitespacesAndNewlines)))")
            }
        } catch {
            print("png: not written (\(tool.path) could not be run: \(error))")
        }
    }
}
