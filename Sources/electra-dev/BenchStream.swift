// electra-dev bench-stream: how fast the data side produces masked batches (shards ->
// decompression -> shuffle -> masking), so that one can see data never limits training.
import ArgumentParser
import Batching
import Foundation
import Masking
import Randomness
import Sharding

struct BenchStream: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-stream",
        abstract: "Measure sequences per second from shards to masked batches on one core.")

    @Option(help: "The shard directory written by electra-prep shard.")
    var shards = "data"

    @Option(help: "Sequences per batch.")
    var batchSize = 128

    @Option(help: "Batches to produce (several epochs on a small corpus).")
    var batches = 2_000

    func run() throws {
        let index = try ShardIndex(directory: URL(fileURLWithPath: shards))
        var options = BatchStreamOptions()
        options.batchSize = batchSize
        options.masking = MaskingOptions(maxSeqLength: index.meta.maxSeqLength)
        options.specials = SpecialTokenIDs(pad: Int32(index.meta.padID), cls: Int32(index.meta.clsID),
                                           sep: Int32(index.meta.sepID), mask: Int32(index.meta.maskID))
        // 1. The whole producer (read + decompress + shuffle + mask) on this thread.
        var producer = try BatchProducer(frames: index, options: options)
        var start = DispatchTime.now().uptimeNanoseconds
        var checksum: Int64 = 0
        for _ in 0..<batches {
            let batch = try producer.nextBatch()
            checksum &+= Int64(batch.inputIDs[batch.inputIDs.count / 2])
        }
        let producerSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let sequences = Double(batches * batchSize)
        // 2. Masking alone, on sequences already in memory.
        let frames = try (0..<index.frames.count).flatMap { try index.read(frame: $0) }
        var masker = Masker(options: options.masking, specials: options.specials)
        var rng = Xoshiro256(seed: 1)
        var batch = MaskedBatch(batchSize: batchSize, seqLength: options.masking.maxSeqLength,
                                maxPredictions: options.masking.maxPredictions)
        start = DispatchTime.now().uptimeNanoseconds
        for b in 0..<batches {
            for row in 0..<batchSize {
                let s = frames[(b * batchSize + row) % frames.count]
                masker.fill(&batch, row: row, tokens: s.tokens, segmentBStart: s.segmentBStart, rng: &rng)
            }
            checksum &+= Int64(batch.maskedPositions[0])
        }
        let maskSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        print("""
            shards: \(shards) (\(index.sequenceCount) sequences, \(index.frames.count) frames), batch \(batchSize) x \(options.masking.maxSeqLength)
            shards -> masked batches, one thread: \(Int(sequences / producerSeconds)) sequences/s (\(batches) batches in \(String(format: "%.2f", producerSeconds)) s)
            masking only, one thread:             \(Int(sequences / maskSeconds)) sequences/s
            target >= 100000 sequences/s: \(String(format: "%.1f", sequences / producerSeconds / 100_000))x the target
            (checksum \(checksum))
            """)
    }
}
