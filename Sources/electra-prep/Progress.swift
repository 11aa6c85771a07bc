// Progress on standard error for a person watching a terminal; silent when stderr is not a TTY.
import Foundation

/// A progress line on standard error, redrawn at most 10 times a second, only on a terminal.
final class ProgressLine {
    private let tty = isatty(2) != 0
    private var last = Date.distantPast
    private var shown = false

    /// True when a redraw would show (a terminal, and 0.1 s since the last): build the line only then.
    var due: Bool { tty && Date().timeIntervalSince(last) > 0.1 }

    /// Redraws the progress line.
    func progress(_ line: String) {
        guard tty, Date().timeIntervalSince(last) > 0.1 else { return }
        last = Date()
        FileHandle.standardError.write(("\r\u{1B}[K" + line).data(using: .utf8)!)
        shown = true
    }

    /// Prints a message on its own line (clearing the progress line first).
    func message(_ line: String) {
        finish()
        FileHandle.standardError.write((line + "\n").data(using: .utf8)!)
    }

    /// Clears the progress line.
    func finish() {
        if shown { FileHandle.standardError.write("\r\u{1B}[K".data(using: .utf8)!); shown = false }
    }
}

/// "label: 12 MB, 40.1 MB/s, 35%, ETA 4 s" for `bytes` of `total` read since `start`.
func rateLine(bytes: Int, total: Int?, start: Date, label: String) -> String {
    let elapsed = max(Date().timeIntervalSince(start), 1e-9)
    var text = "\(label): \(bytes / 1_000_000) MB, \(String(format: "%.1f", Double(bytes) / elapsed / 1e6)) MB/s"
    if let total, total > 0 {
        let eta = Double(max(total - bytes, 0)) / max(Double(bytes) / elapsed, 1)
        text += String(format: ", %.0f%%, ETA %.0f s", 100 * Double(bytes) / Double(total), eta)
    }
    return text
}
