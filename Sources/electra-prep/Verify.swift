// `electra-prep verify`: checks every shard of a directory against its index.
import ArgumentParser
import CommandLineSupport
import Foundation
import Sharding

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check every shard against the index (checksums, frames, counts, token ids, segments).",
        discussion: "Exits with status 1 and names each bad shard (and frame) when anything is wrong.")

    @Argument(help: "The directory `electra-prep shard` wrote (holds index.sqlite and shards/).")
    var directory = "data"

    func run() throws {
        let url = URL(fileURLWithPath: directory)
        let tty = isatty(2) != 0
        let report = try verifyShards(in: url) { done, total in
            if tty { FileHandle.standardError.write("\rverify: shard \(done)/\(total)".data(using: .utf8)!) }
        }
        if tty { FileHandle.standardError.write("\r\u{1B}[K".data(using: .utf8)!) }
        for problem in report.problems { printError("verify: \(directory)/\(problem)") }
        for file in report.unlistedFiles {
            print("note: \(directory)/\(file) is not in the index (left by an interrupted run; the next `shard` run removes it)")
        }
        if report.isValid {
            print("\(directory): OK: \(counted(report.shards, "shard")), \(counted(report.frames, "frame")), \(counted(report.sequences, "sequence")), \(counted(report.tokens, "token"))")
        } else {
            printError("\(directory): \(report.badShards.count) bad shard(s): \(report.badShards.joined(separator: ", "))")
            throw ExitCode(1)
        }
    }
}

/// Prints a line to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write((message + "\n").data(using: .utf8)!)
}
