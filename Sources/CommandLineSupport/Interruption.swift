// SIGINT and SIGTERM for the long-running subcommands (training, fine-tuning, shard, build-vocab):
// the first signal only records that a stop was asked; the library loops poll `Interruption.requested`
// at their safe points (a step boundary, a block boundary), stop there, leave everything on disk
// complete, and the executable prints one line and exits 128 + the signal (130, 143). A second
// signal ends the process at once with that code (what is on disk is what the atomic writes left:
// the last complete checkpoint, the committed shards). DispatchSource signal sources run their
// handler on a queue, not in signal context, so the handler may take a lock and write.
import Dispatch
import Foundation

/// Graceful stop on SIGINT / SIGTERM for a command.
///
///     Interruption.install(command: "electra-train")
///     trainer.stopRequested = { Interruption.requested }
///     ...
///     if Interruption.requested { Interruption.report("stopped after step 12; to continue: ...") }
public enum Interruption {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var received: Int32 = 0
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []
    nonisolated(unsafe) private static var secondMessage = ""

    /// Catches SIGINT and SIGTERM from now on (once per process; later calls do nothing).
    /// - Parameter command: the name the second signal's line starts with ("electra-train").
    /// - Parameter atOnce: what the second signal's line says stays on disk.
    public static func install(command: String, atOnce: String = "what was completely written stays") {
        lock.lock()
        defer { lock.unlock() }
        guard sources.isEmpty else { return }
        secondMessage = "\(command): second signal: stopped at once; \(atOnce)\n"
        let queue = DispatchQueue(label: "electra.interruption")
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)   // the source sees it; the default action (death) no longer applies
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            // `data`: the signals merged since the handler last ran (two quick ones are two).
            source.setEventHandler {   // the sources live as long as the process
                for _ in 0..<max(1, Int(source.data)) { arrived(number) }
            }
            source.resume()
            sources.append(source)
        }
    }

    /// A signal arrived (on the interruption queue).
    private static func arrived(_ number: Int32) {
        lock.lock()
        let first = received == 0
        if first { received = number }
        let message = secondMessage
        lock.unlock()
        if !first {
            FileHandle.standardError.write(Data(message.utf8))
            _exit(128 + number)
        }
    }

    /// True once SIGINT or SIGTERM arrived.
    public static var requested: Bool { caught != nil }

    /// The signal that asked to stop (SIGINT or SIGTERM), nil when none arrived.
    public static var caught: Int32? {
        lock.lock()
        defer { lock.unlock() }
        return received == 0 ? nil : received
    }

    /// 130 after SIGINT, 143 after SIGTERM (the shell's 128 + signal), 1 when none arrived.
    public static var exitCode: Int32 { caught.map { 128 + $0 } ?? 1 }

    /// "SIGINT" or "SIGTERM" (or the number).
    public static var signalName: String {
        switch caught {
        case SIGINT: return "SIGINT"
        case SIGTERM: return "SIGTERM"
        case let other?: return "signal \(other)"
        case nil: return "no signal"
        }
    }

    /// Prints `line` on standard error, prefixed with the signal's name, and exits 130 or 143.
    public static func report(_ command: String, _ line: String) -> Never {
        FileHandle.standardError.write(Data("\(command): \(signalName): \(line)\n".utf8))
        exit(exitCode)
    }

    /// For tests: as if `number` had arrived (a second call: nothing, unlike a real second signal).
    public static func simulate(_ number: Int32) {
        lock.lock()
        if received == 0 { received = number }
        lock.unlock()
    }
}

/// The command line of this process with `flag` added when it is not there, quoted for a POSIX
/// shell where needed: what to run to continue.
///
///     resumeCommand(adding: "--resume")   // "electra-train --shards data --out 'my run' --resume"
public func resumeCommand(adding flag: String?, arguments: [String] = CommandLine.arguments) -> String {
    var words = arguments
    if let flag, !words.dropFirst().contains(flag) { words.append(flag) }
    return words.map(shellQuoted).joined(separator: " ")
}

/// `word` as a POSIX shell reads it back: as is when it holds only safe characters, else in
/// single quotes.
public func shellQuoted(_ word: String) -> String {
    let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%")
    if !word.isEmpty && word.allSatisfy({ safe.contains($0) }) { return word }
    return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
