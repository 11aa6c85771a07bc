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
