// electra-dev dump-batches: the global batches electra-train trains on, steps A..<B, as a NumPy
// .npz file, so that other readers of the shards (Python's electra_shards) can be compared with
// the trainer byte for byte.
import ArgumentParser
import Batching
import Foundation
import Masking
import Sharding
import Training

struct DumpBatches: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump-batches",
        abstract: "Write the masked batches electra-train would train on, as an .npz file.",
        discussion: """
            Batch k is the one electra-train's update k + 1 uses (the run's step k + 1 in metrics.jsonl).
            Arrays: input_ids, segment_ids, attention_mask (steps x batch x length, int32),
            masked_positions, masked_original_ids (steps x batch x predictions, int32), masked_weights
            (float32), steps (int64), source_counts (steps x sources, int64: the sequences taken from
            each directory after the batch); with --held-out-batches K, held_out_* (the first K
            evaluation batches) and held_out_real_rows. --shards web=0.7,books=0.3 mixes directories
            as electra-train does.
            """)

    @Option(help: "The shard directory, or several mixed: web=0.7,books=0.3 (as electra-train's --shards).") var shards = "data"
    @Option(help: "The run's --seed.") var seed: UInt64 = TrainingOptions.defaults.seed
    @Option(help: "The run's --batch-size (the global batch).") var batchSize = TrainingOptions.defaults.batchSize
    @Option(help: "The run's --mask-prob.") var maskProb = TrainingOptions.defaults.maskProbability
    @Option(help: "The run's --mask-fraction.") var maskFraction = TrainingOptions.defaults.maskTokenFraction
    @Option(help: "Batches A..B: batch A up to, not including, batch B (0-based), e.g. 0..50.") var steps = "0..50"
    @Option(help: "Also write the first K held-out (evaluation) batches, as held_out_* arrays.") var heldOutBatches = 0
    @Option(help: "The .npz file to write.") var out: String

    func validate() throws {
        guard parseSteps() != nil else {
            throw ValidationError("--steps \(steps): expected A..B with 0 <= A < B, e.g. 0..50")
        }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
    }

    private func parseSteps() -> Range<Int>? {
        let parts = steps.components(separatedBy: "..")
        guard parts.count == 2, let a = Int(parts[0]), let b = Int(parts[1]), a >= 0, a < b else { return nil }
        return a..<b
    }

    func run() throws {
        let range = parseSteps()!
        let mixture = try MixtureSpec.parse(shards)
        let paths = mixture?.sources.map(\.path) ?? [shards]
        let indexes = try paths.map { try ShardIndex(directory: URL(fileURLWithPath: $0)) }
        var options = TrainingOptions.defaults
        options.seed = seed
        options.batchSize = batchSize
        options.maskProbability = maskProb
        options.maskTokenFraction = maskFraction
        let streamOptions = options.batchStreamOptions(meta: indexes[0].meta)
        var producer: any BatchProducing = try mixture.map { spec in
            try MixedBatchProducer(sources: zip(spec.sources, indexes).map {
                MixtureSource(name: $0.path, frames: $1, weight: $0.weight)
            }, options: streamOptions)
        } ?? BatchProducer(frames: indexes[0], options: streamOptions)
        var inputIDs: [Int32] = [], segmentIDs: [Int32] = [], attention: [Int32] = []
        var positions: [Int32] = [], originals: [Int32] = [], weights: [Float] = []
        var counts: [Int64] = []   // sequences from each source after each dumped batch (a mixture)
        var L = 0, N = 0
        for step in 0..<range.upperBound {
            let batch = try producer.nextBatch()
            guard range.contains(step) else { continue }
            (L, N) = (batch.seqLength, batch.maxPredictions)
            inputIDs += batch.inputIDs; segmentIDs += batch.segmentIDs; attention += batch.attentionMask
            positions += batch.maskedPositions; originals += batch.maskedOriginalIDs; weights += batch.maskedWeights
            counts += (producer.position.sources ?? [producer.position]).map { Int64($0.sequencesConsumed) }
        }
        let S = range.count
        var npz = NPZWriter()
        npz.add("input_ids", shape: [S, batchSize, L], values: inputIDs)
        npz.add("segment_ids", shape: [S, batchSize, L], values: segmentIDs)
        npz.add("attention_mask", shape: [S, batchSize, L], values: attention)
        npz.add("masked_positions", shape: [S, batchSize, N], values: positions)
        npz.add("masked_original_ids", shape: [S, batchSize, N], values: originals)
        npz.add("masked_weights", shape: [S, batchSize, N], values: weights)
        npz.add("steps", shape: [S], values: range.map { Int64($0) })
        npz.add("source_counts", shape: [S, paths.count], values: counts)
        if heldOutBatches > 0 {   // the trainer's evaluation batches (Trainer.evaluate: stream.heldOutBatches)
            let held = try producer.heldOutBatches(limit: heldOutBatches)
            let H = held.count
            npz.add("held_out_input_ids", shape: [H, batchSize, L], values: held.flatMap(\.batch.inputIDs))
            npz.add("held_out_segment_ids", shape: [H, batchSize, L], values: held.flatMap(\.batch.segmentIDs))
            npz.add("held_out_attention_mask", shape: [H, batchSize, L], values: held.flatMap(\.batch.attentionMask))
            npz.add("held_out_masked_positions", shape: [H, batchSize, N], values: held.flatMap(\.batch.maskedPositions))
            npz.add("held_out_masked_original_ids", shape: [H, batchSize, N], values: held.flatMap(\.batch.maskedOriginalIDs))
            npz.add("held_out_masked_weights", shape: [H, batchSize, N], values: held.flatMap(\.batch.maskedWeights))
            npz.add("held_out_real_rows", shape: [H], values: held.map { Int64($0.realRows) })
        }
        try npz.write(to: URL(fileURLWithPath: out))
        print("\(out): batches \(range.lowerBound)..<\(range.upperBound) of \(batchSize) x \(L) (seed \(seed), mask prob \(maskProb), \(N) predictions per sequence)")
    }
}
