// electra-train: pre-train an ELECTRA discriminator on the CPU from electra-prep shards.
import ArgumentParser

@main
struct ElectraTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "electra-train",
        abstract: "Pre-train ELECTRA (generator + discriminator) on the CPU.",
        subcommands: [Train.self, Report.self, Export.self, Score.self, BenchStream.self, BenchModel.self, DumpStep.self,
                      Finetune.self, Predict.self],
        defaultSubcommand: Train.self)
}
