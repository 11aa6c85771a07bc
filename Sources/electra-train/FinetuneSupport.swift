// What finetune, predict and export share: reading a model to fine-tune or to predict with (a
// pre-training run, an exported discriminator folder, a fine-tuning run, an exported classifier),
// and a fine-tuning run's files.
import ArgumentParser
import Durability
import FineTuning
import Foundation
import Interop
import Model
import Sharding
import Tokenization
import Training

/// An encoder (and maybe a head) to start from or to predict with.
struct EncoderSource {
    var config: ElectraConfig
    /// Tensors under HuggingFace ElectraForSequenceClassification names (`electra.*`, `classifier.*`).
    var tensors: [String: (shape: [Int], values: [Float])]
    var vocabulary: [String]
    var tokenizer: TokenizerOptions
    /// The run's setup when the source is a fine-tuning run or a classifier export.
    var setup: FineTuneSetup?
    var description: String
}

/// Reads `path`: a pre-training run directory (its newest checkpoint; the vocabulary from its
/// shards), a fine-tuning run (best.bin), or a HuggingFace folder (hf/NAME, hf/NAME/discriminator,
/// or an exported classifier).
func loadEncoderSource(_ path: String) throws -> EncoderSource {
    let url = URL(fileURLWithPath: path)
    let fm = FileManager.default
    func exists(_ p: String) -> Bool { fm.fileExists(atPath: url.appendingPathComponent(p).path) }
    if exists("finetune.json") {
        let setup = try readSetup(url)
        let best = url.appendingPathComponent("best.bin")
        guard fm.fileExists(atPath: best.path) else {
            throw ValidationError("\(path): no best.bin yet (the run has not finished an epoch)")
        }
        let read = try TensorFile.read(best)
        let vocabulary = try Vocabulary(contentsOf: url.appendingPathComponent("vocab.txt")).tokens
        return EncoderSource(config: setup.config, tensors: read.tensors, vocabulary: vocabulary,
                             tokenizer: tokenizerOptions(setup.tokenizer), setup: setup,
                             description: "\(path) (fine-tuned on \(setup.task.name), step \(read.metadata["step"] ?? "?"))")
    }
    if exists("checkpoints") {
        let checkpoint = try loadCheckpoint(run: url)
        guard let shardPath = checkpoint.shards else {
            throw ValidationError("\(path): the run does not record its shard directory (export it first: electra-train export \(path), then pass --model hf/NAME)")
        }
        let index = try ShardIndex(directory: URL(fileURLWithPath: shardPath))
        let tokenizer = (try? JSONDecoder().decode(TokenizerOptions.self, from: Data(index.meta.tokenizerOptions.utf8))) ?? TokenizerOptions()
        var config = checkpoint.config
        config.generatorHiddenSize = 1; config.generatorHeads = 1; config.generatorIntermediateSize = 1; config.generatorLayers = 1
        return EncoderSource(config: config, tensors: classifierTensors(fromPretraining: checkpoint.parameters),
                             vocabulary: try index.vocabularyTokens(), tokenizer: tokenizer, setup: nil,
                             description: "\(checkpoint.path) (pre-training step \(checkpoint.step))")
    }
    var folder = url
    if !exists("config.json"), exists("discriminator/config.json") { folder = url.appendingPathComponent("discriminator") }
    if !exists("config.json"), exists("mlm/config.json") { folder = url.appendingPathComponent("mlm") }   // --objective mlm
    let hf = try readElectraFolder(folder)
    var setup: FineTuneSetup?
    if let data = fm.contents(atPath: folder.appendingPathComponent("electra_finetune.json").path) {
        setup = try? JSONDecoder().decode(FineTuneSetup.self, from: data)
    }
    return EncoderSource(config: hf.config, tensors: hf.tensors, vocabulary: hf.vocabulary, tokenizer: hf.tokenizer,
                         setup: setup, description: folder.path)
}

func readSetup(_ run: URL) throws -> FineTuneSetup {
    let url = run.appendingPathComponent("finetune.json")
    do {
        return try JSONDecoder().decode(FineTuneSetup.self, from: Data(contentsOf: url))
    } catch {
        throw ValidationError("\(url.path): cannot be read as a fine-tuning setup (\(error))")
    }
}

func tokenizerOptions(_ r: TokenizerOptionsRecord) -> TokenizerOptions {
    var o = TokenizerOptions()
    o.lowercase = r.lowercase
    o.stripAccents = r.stripAccents
    o.handleChineseChars = r.handleChineseChars
    return o
}

func tokenizerRecord(_ o: TokenizerOptions) -> TokenizerOptionsRecord {
    TokenizerOptionsRecord(lowercase: o.lowercase, stripAccents: o.stripAccents, handleChineseChars: o.handleChineseChars)
}

/// Writes a fine-tuning run's best weights as a transformers folder (ElectraForSequenceClassification,
/// or ElectraForTokenClassification for tagging), with the run's task in electra_finetune.json (so
/// that `predict --model DIR` reads files the same way). Returns the architecture.
@discardableResult
func exportFineTuned(run: URL, to directory: URL) throws -> String {
    let source = try loadEncoderSource(run.path)
    guard var setup = source.setup else { throw ValidationError("\(run.path) is not a fine-tuning run") }
    let model: any EncoderTaskModel
    let architecture: String
    if setup.task.metric == .squad {
        model = try TokenClassifier(config: setup.config, head: .span, batchSize: 1, seqLength: setup.seqLength, seed: 0)
        architecture = "ElectraForQuestionAnswering"
        if setup.task.nullThreshold == nil { setup.task.nullThreshold = bestNullThreshold(run) }
    } else if setup.task.metric == .entityF1 {
        model = try TokenClassifier(config: setup.config, head: .tagging(labels: setup.numLabels), batchSize: 1,
                                    seqLength: setup.seqLength, seed: 0)
        architecture = "ElectraForTokenClassification"
    } else {
        model = try SequenceClassifier(config: setup.config, numLabels: setup.numLabels, batchSize: 1, seqLength: setup.seqLength, seed: 0)
        architecture = "ElectraForSequenceClassification"
    }
    let missing = try model.assign(source.tensors, source: run.path)
    guard missing.isEmpty else { throw ValidationError("\(run.path)/best.bin lacks \(missing[0])") }
    let tensors = model.parameterTensors().map { ($0.name, $0.shape, Array($0.values)) }
    if setup.task.metric == .squad {   // ElectraForQuestionAnswering's qa_outputs has num_labels (2) outputs
        try writeTaskFolder(directory, architecture: architecture, config: setup.config, labels: ["LABEL_0", "LABEL_1"], problemType: nil,
                            tensors: tensors, vocabulary: source.vocabulary, tokenizer: source.tokenizer)
    } else if setup.task.metric == .entityF1 {
        try writeTaskFolder(directory, architecture: architecture, config: setup.config, labels: setup.task.labels, problemType: nil,
                            tensors: tensors, vocabulary: source.vocabulary, tokenizer: source.tokenizer)
    } else {
        try writeSequenceClassificationFolder(directory, config: setup.config, labels: setup.task.labels, regression: setup.task.regression,
                                              tensors: tensors, vocabulary: source.vocabulary, tokenizer: source.tokenizer)
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try writeFileAtomically(try encoder.encode(setup), to: directory.appendingPathComponent("electra_finetune.json"))
    return architecture
}

/// A SQuAD v2.0 run's null threshold: best_f1_thresh of its best dev evaluation (metrics.jsonl), or nil.
func bestNullThreshold(_ run: URL) -> Double? {
    guard let text = try? String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8) else { return nil }
    var best: (main: Double, threshold: Double)?
    for line in text.split(separator: "\n") {
        guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], o["kind"] as? String == "eval",
              let main = o["main"] as? Double, let t = o["best_f1_thresh"] as? Double else { continue }
        if best == nil || main > best!.main { best = (main, t) }
    }
    return best?.threshold
}
