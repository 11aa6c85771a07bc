// How the three executables run their subcommands. swift-argument-parser's `main()` reports an
// error thrown by a subcommand's `run()` against the root command, so a ValidationError there
// ("--task custom needs --text-column") came out followed by "Usage: electra-train <subcommand>",
// the wrong usage. Here a subcommand's own errors are reported by that subcommand: a problem
// found while running (a file, a run directory, a combination of options) prints its message and
// points at that subcommand's help, with argument-parser's exit codes (64 for a ValidationError,
// 1 for other errors). Parsing errors and --help behave exactly as before. A Foundation or POSIX
// file error that reaches here unwrapped is printed in words (Durability's FileProblem: "PATH: is
// a directory; pass a file, not a directory"), never as "NSCocoaErrorDomain error 256".
import ArgumentParser
import Durability
import Foundation

extension ParsableCommand {
    /// Parses the arguments as this root command, runs the chosen subcommand and reports its errors.
    public static func mainReportingSubcommandErrors(_ arguments: [String]? = nil) -> Never {
        var command: ParsableCommand
        do {
            command = try parseAsRoot(arguments)
        } catch {
            exit(withError: error)
        }
        do {
            try command.run()
            exit()
        } catch {
            if let problem = FileProblem(error) {
                FileHandle.standardError.write(Data("Error: \(problem)\n".utf8))
                Foundation.exit(ExitCode.failure.rawValue)
            }
            let subcommand = type(of: command)
            guard error is ValidationError, subcommand != Self.self else { exit(withError: error) }
            let name = [configuration.commandName, subcommand.configuration.commandName ?? subcommand._commandName]
                .compactMap { $0 }.joined(separator: " ")
            FileHandle.standardError.write(Data("Error: \(message(for: error))\nSee '\(name) --help' for its options.\n".utf8))
            Foundation.exit(exitCode(for: error).rawValue)
        }
    }
}

/// "1 epoch", "2 epochs", "0 bad rows": a count with its noun in the right number.
/// - Parameters:
///   - plural: the plural form when it is not `singular` + "s" ("entries").
public func counted(_ count: Int, _ singular: String, _ plural: String? = nil) -> String {
    "\(count) " + (count == 1 ? singular : plural ?? singular + "s")
}
