// electra-train score: each token of some text with the discriminator's probability that it
// was replaced; shows what a model learned, and gives the forward pass a command-line entry.
import ArgumentParser
import Foundation
import Interop
import Model
import Tokenization

struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print each token with the discriminator's probability that it was replaced.")

    @Option(help: "A discriminator folder (electra-train export OUT/discriminator).") var model: String
    @Argument(help: "Text to score; none: read lines from --file or standard input.") var text: [String] = []
    @Option(help: "Score each line of this file.") var file: String?
    @Flag(help: "Print raw logits instead of probabilities.") var logits = false

    func run() throws {
        let folder = URL(fileURLWithPath: model)
        var config = try readElectraConfig(discriminator: folder)
        // The discriminator alone: the generator, never run, is the smallest there is.
        config.generatorHiddenSize = 8; config.generatorHeads = 1; config.generatorIntermediateSize = 8; config.generatorLayers = 1
        config.dropout = 0
        // The exported tokenizer_config.json (the codec of Tokenization); BERT's defaults without one.
        let options = try TokenizerConfigFile.besideVocabulary(folder.appendingPathComponent("vocab.txt"))?.options
            ?? TokenizerOptions()
        let vocabulary = try Vocabulary(contentsOf: folder.appendingPathComponent("vocab.txt"))
        var tokenizer = BertTokenizer(vocabulary: vocabulary, options: options)
        let L = min(config.maxPositions, 512)
        let network = try ElectraModel(config: config, batchSize: 1, seqLength: L, maxPredictions: 1, seed: 0)
        let tensors = try readHuggingFaceFolder(folder, part: .discriminator)
        let expected = network.parameterTable.filter { !$0.name.hasPrefix("generator.") }.count
        guard try network.assignParameters(tensors, source: folder.path) == expected else {
            throw ValidationError("\(folder.path)/model.safetensors lacks some discriminator tensors")
        }
        var lines = text.isEmpty ? [] : [text.joined(separator: " ")]
        if text.isEmpty {
            let input = file.map { try? String(contentsOfFile: $0, encoding: .utf8) } ?? String(data: FileHandle.standardInput.readDataToEndOfFile(), encoding: .utf8)
            guard let input else { throw ValidationError("cannot read \(file ?? "standard input") as UTF-8 text") }
            lines = input.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            if lines.last == "" { lines.removeLast() }
        }
        for line in lines {
            let ids = [Int32(vocabulary.clsID)] + tokenizer.encode(line).prefix(L - 2).map { Int32($0) } + [Int32(vocabulary.sepID)]
            var padded = [Int32](repeating: Int32(vocabulary.padID), count: L)
            var attention = [Int32](repeating: 0, count: L)
            for (i, id) in ids.enumerated() { padded[i] = id; attention[i] = 1 }
            let scores = network.discriminatorLogits(ids: padded, segments: [Int32](repeating: 0, count: L), attention: attention)
            let tokens = tokenizer.tokens(ids.map { UInt32($0) })
            print(zip(tokens, scores).map { token, logit in
                logits ? "\(token)(\(String(format: "%.6f", logit)))" : "\(token)(\(String(format: "%.3f", 1 / (1 + expf(-logit)))))"
            }.joined(separator: " "))
        }
    }
}
