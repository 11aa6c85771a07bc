// electra-prep: corpus -> vocabulary -> tokenized, packed pre-training shards.
import ArgumentParser
import CommandLineSupport

@main
struct ElectraPrep: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "electra-prep",
        abstract: "Prepare ELECTRA pre-training data: vocabulary, tokenization, shards.",
        subcommands: [BuildVocab.self, Tokenize.self, Shard.self, Verify.self, Inspect.self])

    static func main() {
        _ = processStart   // shard --timings counts its start-up from here
        mainReportingSubcommandErrors()
    }
}
