// electra-dev: the team's tools, kept out of the product CLIs: benchmarks of the model, the
// batch stream and the tokenizer, a forward step dumped for checks against transformers, and a
// training run with a fault injected (a kill, or one rank's parameters changed).
import ArgumentParser
import CommandLineSupport
import Kernels

@main
struct ElectraDev: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "electra-dev",
        abstract: "Developer tools for electra-swift: benchmarks, reference dumps, fault injection.",
        subcommands: [BenchModel.self, BenchStream.self, BenchTokenize.self, DumpStep.self, DumpBatches.self, CrashTrain.self, DivergeTrain.self])

    /// First of all, the OpenBLAS kernel for this CPU's features (may restart the process once).
    static func main() {
        selectBLASKernelAtStart()
        mainReportingSubcommandErrors()
    }
}
