// `electra-prep inspect`: totals and distributions of a shard directory, and a seeded sample of
// sequences to decode back to text.
import Foundation

/// Totals and distributions of a shard directory.
public struct ShardStatistics: Sendable {
    public var shards = 0
    public var frames = 0
    public var sequences = 0
    public var tokens = 0
    public var bytesOnDisk = 0
    public var sources = 0
    /// Sequences whose packing drew the single-segment (A only) target.
    public var singleSegmentDraws = 0
    /// Sequences with no segment B (single-segment draws, one-sentence documents, truncation).
    public var withoutSegmentB = 0
    /// Sequences whose target length came from the 5% short-target draw.
    public var shortTargetDraws = 0
    /// Sequence-length histogram: `histogram[i]` counts lengths in `(i*binWidth, (i+1)*binWidth]`.
    public var histogram: [Int] = []
    public var binWidth = 16
    public var bytesPerToken: Double { tokens > 0 ? Double(bytesOnDisk) / Double(tokens) : 0 }
    /// Sampled sequences (dataset index, sequence).
    public var samples: [(Int, PackedSequence)] = []
}

/// Reads every frame of `index` to gather statistics, and samples `sampleCount` sequences
/// uniformly with `seed`.
/// - Complexity: O(total shard bytes).
public func shardStatistics(_ index: ShardIndex, sampleCount: Int = 0, seed: UInt64 = 0,
                            binWidth: Int = 16) throws -> ShardStatistics {
    var stats = ShardStatistics()
    stats.binWidth = binWidth
    stats.shards = index.shards.count
    stats.frames = index.frames.count
    stats.bytesOnDisk = index.shards.reduce(0) { $0 + $1.bytes }
    stats.sources = index.sources.count
    stats.histogram = [Int](repeating: 0, count: (index.meta.maxSeqLength + binWidth - 1) / binWidth)
    var rng = SeededRandom(seed: seed, stream: 0xA11)
    let total = index.sequenceCount
    var pickedSet = Set<Int>()
    let k = min(sampleCount, total)
    while pickedSet.count < k { pickedSet.insert(rng.nextInt(in: 0...(total - 1))) }
    for frame in index.frames {
        let sequences = try index.readFrame(frame)
        for (j, s) in sequences.enumerated() {
            stats.sequences += 1
            stats.tokens += s.tokens.count
            if s.draws.contains(.singleSegment) { stats.singleSegmentDraws += 1 }
            if s.draws.contains(.shortTarget) { stats.shortTargetDraws += 1 }
            if !s.hasSegmentB { stats.withoutSegmentB += 1 }
            let bin = max(0, min(stats.histogram.count - 1, (s.tokens.count - 1) / binWidth))
            stats.histogram[bin] += 1
            if pickedSet.contains(frame.firstSequence + j) { stats.samples.append((frame.firstSequence + j, s)) }
        }
    }
    return stats
}

/// Tokens of the inputs' text against the tokens that reached the sequences, for the summary
/// of a sharding run and for `inspect`.
public struct TokenAccount: Sendable, Equatable {
    /// Tokens of the inputs' text (nil when an index before schema 3 did not count them).
    public var inputTokens: Int?
    public var droppedLongLineTokens = 0
    public var droppedOverflowTokens = 0

    public init(inputTokens: Int?, droppedLongLineTokens: Int = 0, droppedOverflowTokens: Int = 0) {
        self.inputTokens = inputTokens
        self.droppedLongLineTokens = droppedLongLineTokens
        self.droppedOverflowTokens = droppedOverflowTokens
    }

    /// The account of `sources` (unknown when any of them was not counted).
    public init(sources: [SourceRecord]) {
        let counted = sources.allSatisfy { $0.inputTokens != nil }
        self.init(inputTokens: counted ? sources.reduce(0) { $0 + ($1.inputTokens ?? 0) } : nil,
                  droppedLongLineTokens: sources.reduce(0) { $0 + $1.droppedLongLineTokens },
                  droppedOverflowTokens: sources.reduce(0) { $0 + $1.droppedOverflowTokens })
    }

    public var droppedTokens: Int { droppedLongLineTokens + droppedOverflowTokens }
    /// Tokens of the text that are in the sequences.
    public var keptTokens: Int? { inputTokens.map { $0 - droppedTokens } }
    /// The share of the input's tokens in the sequences (1 when there were none).
    public var keptFraction: Double? {
        guard let inputTokens, let kept = keptTokens else { return nil }
        return inputTokens == 0 ? 1 : Double(kept) / Double(inputTokens)
    }

    /// Under 90% of the input's tokens kept: worth one line of warning.
    public var isLossy: Bool { (keptFraction ?? 1) < 0.9 }

    /// "tokens: N of the input's text, K in the sequences (P%)" and, when tokens were dropped,
    /// where they went; `maxSeqLength` names the limit of `original` packing.
    public func describe(maxSeqLength: Int) -> [String] {
        guard let inputTokens, let kept = keptTokens, let fraction = keptFraction else {
            return ["tokens of the input's text: not counted (an index written before electra-prep counted them)"]
        }
        var lines = [String(format: "text tokens: %d in the input, %d in the sequences (%.1f%%)", inputTokens, kept, 100 * fraction)]
        if droppedTokens > 0 {
            lines.append("dropped \(droppedTokens) (--packing original): \(droppedLongLineTokens) past \(maxSeqLength) tokens in long lines, \(droppedOverflowTokens) in the overflow of examples")
        }
        return lines
    }
}
