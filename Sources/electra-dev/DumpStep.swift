// electra-dev dump-step: one forward step of an exported generator + discriminator on a text,
// with fixed masked positions and no sampling noise (the sample is the generator's argmax), as
// JSON: what tools/hf_proof.py compares with HuggingFace transformers.
import ArgumentParser
import Foundation
import Interop
import Masking
import Model
import Randomness
import Tokenization

struct DumpStep: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump-step",
        abstract: "Print one forward step of an exported model on a text as JSON (for checks against transformers).")

    @Option(help: "An export folder holding discriminator/ and generator/.") var model: String
    @Option(help: "Mask every k-th token (from the first after [CLS]).") var maskEvery = 3
    @Argument(help: "The text.") var text: [String]

    func run() throws {
        let root = URL(fileURLWithPath: model)
        let pair = try HuggingFacePair(root, requireGenerator: true)
        var config = try pair.config()
        config.dropout = 0
        let vocabulary = try Vocabulary(contentsOf: pair.discriminator.appendingPathComponent("vocab.txt"))
        var tokenizer = BertTokenizer(vocabulary: vocabulary, options: TokenizerOptions())
        let body = tokenizer.encode(text.joined(separator: " ")).prefix(config.maxPositions - 2).map { Int32($0) }
        let original = [Int32(vocabulary.clsID)] + body + [Int32(vocabulary.sepID)]
        let L = original.count
        let positions = Array(stride(from: 1, to: L - 1, by: max(1, maskEvery))).map { Int32($0) }
        let N = max(1, positions.count)
        let network = try ElectraModel(config: config, batchSize: 1, seqLength: L, maxPredictions: N, seed: 0)
        try network.assignParameters(try pair.tensors(), source: root.path)
        var masked = original
        for p in positions { masked[Int(p)] = Int32(vocabulary.maskID) }
        var inputs = MaskedBatch(batchSize: 1, seqLength: L, maxPredictions: N)
        inputs.inputIDs = masked
        inputs.attentionMask = [Int32](repeating: 1, count: L)
        inputs.maskedPositions = positions.isEmpty ? [0] : positions
        inputs.maskedOriginalIDs = positions.isEmpty ? [0] : positions.map { original[Int($0)] }
        inputs.maskedWeights = [Float](repeating: positions.isEmpty ? 0 : 1, count: N)
        var rng = Xoshiro256(seed: 0)
        let result = network.step(inputs, training: false, computeGradients: false, rng: &rng,
                                  gumbelNoise: [Float](repeating: 0, count: N * config.vocabSize))
        let logits = Array(network.lastGeneratorLogits)
        let V = config.vocabSize
        let output: [String: Any] = [
            "input_ids": original.map(Int.init), "masked_positions": positions.map(Int.init),
            "generator_logits": (0..<positions.count).map { p in logits[(p * V)..<((p + 1) * V)].map(Double.init) },
            "discriminator_logits": result.discriminatorLogits.map(Double.init),
            "generator_loss": Double(result.generatorLoss), "discriminator_loss": Double(result.discriminatorLoss),
            "total_loss": Double(result.totalLoss),
        ]
        print(String(decoding: try JSONSerialization.data(withJSONObject: output), as: UTF8.self))
    }
}
