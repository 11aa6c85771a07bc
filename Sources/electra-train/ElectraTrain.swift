// electra-train: pre-train an ELECTRA discriminator on the CPU from electra-prep shards.
import ArgumentParser
import CommandLineSupport
import Kernels

@main
struct ElectraTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "electra-train",
        abstract: "Pre-train ELECTRA (generator + discriminator) on the CPU.",
        subcommands: [Train.self, Report.self, Export.self, Score.self, Finetune.self, Predict.self],
        defaultSubcommand: Train.self)

    /// First of all, the OpenBLAS kernel for this CPU's features (may restart the process once).
    static func main() {
        selectBLASKernelAtStart()
        mainReportingSubcommandErrors()
    }
}
