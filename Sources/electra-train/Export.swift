// electra-train export: a checkpoint as two HuggingFace folders (discriminator, generator).
import ArgumentParser
import Durability
import Foundation
import Interop
import Model
import Sharding
import Tokenization
import Training

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a checkpoint as HuggingFace folders: OUT/discriminator (ElectraForPreTraining) and OUT/generator (ElectraForMaskedLM); a run of --objective mlm as OUT/mlm (ElectraForMaskedLM at the encoder's size).")

    @Argument(help: ArgumentHelp("The run directory (electra-train --out).", valueName: "run"))
    var runDirectory: String
    @Option(help: "The checkpoint step (default: the newest complete one).") var step: Int?
    @Option(help: "Output folder (default: hf/<run name>).") var out: String?
    @Option(help: "The shard directory the run trained on (default: the one recorded in the run).") var shards: String?

    func run() throws {
        let run = URL(fileURLWithPath: runDirectory)
        // A read-only or unwritable place is refused before the checkpoint is read.
        try prepareWritableDirectory(URL(fileURLWithPath: out ?? "hf/\(run.lastPathComponent)"))
        if FileManager.default.fileExists(atPath: run.appendingPathComponent("finetune.json").path) {   // a fine-tuning run
            let output = URL(fileURLWithPath: out ?? "hf/\(run.lastPathComponent)")
            let architecture = try exportFineTuned(run: run, to: output)
            return print("wrote \(output.path) (\(architecture))")
        }
        let checkpoint = try loadCheckpoint(run: run, step: step)
        guard let shardPath = shards ?? checkpoint.shards else {
            throw ValidationError("the run does not record its shard directory: pass --shards")
        }
        let index = try ShardIndex(directory: URL(fileURLWithPath: shardPath))
        guard index.meta.vocabSHA256 == checkpoint.vocabSHA256 else {
            throw ValidationError("\(shardPath) uses another vocabulary (sha256 \(index.meta.vocabSHA256.prefix(12))) than the checkpoint (\(checkpoint.vocabSHA256.prefix(12)))")
        }
        let vocabulary = try index.vocabularyTokens()
        let tokenizer = (try? JSONDecoder().decode(TokenizerOptions.self, from: Data(index.meta.tokenizerOptions.utf8))) ?? TokenizerOptions()
        let output = URL(fileURLWithPath: out ?? "hf/\(run.lastPathComponent)")
        for part in ElectraPart.exported(for: checkpoint.config.trainingObjective) {
            let dir = output.appendingPathComponent(part.rawValue)
            try writeHuggingFaceFolder(dir, part: part, config: checkpoint.config, parameters: checkpoint.parameters,
                                       vocabulary: vocabulary, tokenizer: tokenizer)
            print("wrote \(dir.path) (\(part == .discriminator ? "ElectraForPreTraining" : "ElectraForMaskedLM")\(part == .maskedLM ? ", BERT's objective: the encoder and its masked-LM head" : ""))")
        }
        print("from \(checkpoint.path) (step \(checkpoint.step))")
    }
}
