// Weighted mixing of several shard directories by sample proportion, with Megatron-LM's blend
// semantics (megatron/core/datasets/helpers.cpp, build_blending_indices): sequence i of the
// mixed stream comes from the source whose share is most behind, argmax_k(w_k * max(i, 1) -
// n_k) (the first on ties), n_k its sequences so far; the weights are normalised to sum 1.
// Each source is its own BatchProducer stream (its held-out frames, epochs and windows), seeded
// with derivedKey(seed, "corpus", k); the masks stay keyed by (seed, index in the mixed stream),
// so a mixed batch splits over ranks like any other. The position is the mixed count and each
// source's StreamPosition (whose sequencesConsumed is n_k): resuming gives the same batches.
// tools/electra-shards (electra_shards.mixing) ports this; both are checked against each other.
import Masking
import Randomness
import Sharding

/// One source of a mixture: a shard directory (or test frames) and its weight.
public struct MixtureSource {
    public var name: String
    public var frames: SequenceFrames
    public var weight: Double
    public init(name: String, frames: SequenceFrames, weight: Double) {
        self.name = name; self.frames = frames; self.weight = weight
    }
}

/// `--shards web=0.7,books=0.3`: paths with weights (a plain path is a single source).
public struct MixtureSpec: Equatable, Sendable {
    public var sources: [(path: String, weight: Double)]
    public static func == (a: MixtureSpec, b: MixtureSpec) -> Bool {
        a.sources.map(\.path) == b.sources.map(\.path) && a.sources.map(\.weight) == b.sources.map(\.weight)
    }

    /// Parses `PATH=WEIGHT[,PATH=WEIGHT...]`; nil for a plain path (no `=`).
    /// - Throws: `BatchStreamError.mismatch` naming the bad part.
    public static func parse(_ text: String) throws -> MixtureSpec? {
        guard text.contains("=") else { return nil }
        var sources: [(String, Double)] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let eq = part.lastIndex(of: "="), let weight = Double(part[part.index(after: eq)...]),
                  weight.isFinite, weight > 0, eq != part.startIndex else {
                throw BatchStreamError.mismatch("--shards \(text): '\(part)' is not PATH=WEIGHT with a positive weight (e.g. web=0.7,books=0.3)")
            }
            sources.append((String(part[..<eq]), weight))
        }
        let paths = sources.map(\.0)
        if Set(paths).count != paths.count {
            throw BatchStreamError.mismatch("--shards \(text): a directory is named twice")
        }
        return MixtureSpec(sources: sources)
    }
}

/// Megatron's blend: the source of the next sequence, given the mixed index and the counts so far.
@inlinable
public func blendChoice(weights: [Double], index: Int, counts: [Int]) -> Int {
    let x = Double(max(index, 1))
    var best = 0
    var bestError = weights[0] * x - Double(counts[0])
    for k in 1..<weights.count {
        let error = weights[k] * x - Double(counts[k])
        if error > bestError { best = k; bestError = error }
    }
    return best
}

/// Weights divided by their sum (summed in order, as the Python port does).
public func normalizedWeights(_ weights: [Double]) -> [Double] {
    let total = weights.reduce(0, +)
    return weights.map { $0 / total }
}

/// The stream seed of source `k` of a mixture.
public func mixtureSourceSeed(_ seed: UInt64, source k: Int) -> UInt64 {
    derivedKey(seed, 0x636F_7270_7573, UInt64(k))   // "corpus"
}

/// The batch stream of several sources mixed by weight (see the file comment).
public struct MixedBatchProducer: BatchProducing {
    public let options: BatchStreamOptions
    public let names: [String]
    public let weights: [Double]
    var sources: [BatchProducer]
    var consumed: Int
    var masker: Masker

    public init(sources mixture: [MixtureSource], options: BatchStreamOptions, position: StreamPosition? = nil) throws {
        guard mixture.count >= 1 else { throw BatchStreamError.noTrainingData("a mixture needs at least one source") }
        if let position {
            if let seed = position.seed, seed != options.seed {
                throw BatchStreamError.mismatch(
                    "the saved stream position belongs to seed \(seed), the stream was opened with seed \(options.seed); resume with the same --seed")
            }
            guard let saved = position.sources, saved.count == mixture.count else {
                throw BatchStreamError.mismatch(
                    "the saved stream position is of \(position.sources?.count ?? 1) shard director\(position.sources?.count ?? 1 == 1 ? "y" : "ies"), this run mixes \(mixture.count); resume with the run's --shards")
            }
        }
        self.options = options
        names = mixture.map(\.name)
        weights = normalizedWeights(mixture.map(\.weight))
        sources = try mixture.enumerated().map { k, source in
            var sub = options
            sub.seed = mixtureSourceSeed(options.seed, source: k)
            do {
                return try BatchProducer(frames: source.frames, options: sub, position: position?.sources?[k])
            } catch let error as BatchStreamError {
                throw BatchStreamError.mismatch("\(source.name): \(error)")
            }
        }
        consumed = position?.sequencesConsumed ?? 0
        masker = Masker(options: options.masking, specials: options.specials)
    }

    /// Sequences taken from each source so far.
    public var counts: [Int] { sources.map(\.position.sequencesConsumed) }

    public var position: StreamPosition {
        var p = StreamPosition(seed: options.seed)
        p.sequencesConsumed = consumed
        p.sources = sources.map(\.position)
        return p
    }

    public var skippedFrames: [String] { sources.flatMap(\.skippedFrames) }
    public var trainSequenceCount: Int { sources.reduce(0) { $0 + $1.trainSequenceCount } }
    public var trainFrameCount: Int { sources.reduce(0) { $0 + $1.trainFrameCount } }

    public mutating func nextBatch() throws -> MaskedBatch {
        var batch = MaskedBatch(batchSize: options.batchSize, seqLength: options.masking.maxSeqLength,
                                maxPredictions: options.masking.maxPredictions)
        for row in 0..<options.batchSize {
            let k = blendChoice(weights: weights, index: consumed, counts: counts)
            let sequence = try sources[k].nextCountedSequence()
            var rng = maskGenerator(seed: options.seed, index: consumed)
            consumed += 1
            masker.fill(&batch, row: row, tokens: sequence.tokens, segmentBStart: sequence.segmentBStart, rng: &rng)
        }
        return batch
    }

    /// The held-out sequences of the sources, interleaved by the same blend (a source whose
    /// held-out sequences run out drops out), as fixed batches (see `BatchProducer.heldOutBatches`).
    public func heldOutBatches(limit: Int) throws -> [(batch: MaskedBatch, realRows: Int)] {
        let wanted = limit * options.batchSize
        let lists = try sources.map { try $0.heldOutSequences(limit: wanted) }
        var counts = [Int](repeating: 0, count: lists.count)
        var sequences: [PackedSequence] = []
        while sequences.count < wanted {
            let x = Double(max(sequences.count, 1))
            var best = -1, bestError = -Double.infinity
            for k in lists.indices where counts[k] < lists[k].count {
                let error = weights[k] * x - Double(counts[k])
                if best < 0 || error > bestError { best = k; bestError = error }
            }
            guard best >= 0 else { break }
            sequences.append(lists[best][counts[best]])
            counts[best] += 1
        }
        return heldOutBatchesOf(sequences, options: options)
    }
}
