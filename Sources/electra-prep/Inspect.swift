// `electra-prep inspect`: totals, distributions and decoded samples of a shard directory.
import ArgumentParser
import CommandLineSupport
import Foundation
import Sharding

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the totals of a shard directory and decode sampled sequences back to text.")

    @Argument(help: "The directory `electra-prep shard` wrote.")
    var directory = "data"

    @Option(help: "How many sampled sequences to decode.")
    var sequences = 5

    @Option(help: "Seed of the sample.")
    var seed: UInt64 = 0

    @Flag(name: .customLong("dump-ids"), help: "Print every sequence as `B-start<TAB>ids` (one line each) instead of the report.")
    var dumpIDs = false

    func run() throws {
        let index = try ShardIndex(directory: URL(fileURLWithPath: directory))
        if dumpIDs {
            var out = ""
            for frame in index.frames {
                for s in try index.readFrame(frame) {
                    out += "\(s.segmentBStart)\t" + s.tokens.map(String.init).joined(separator: " ") + "\n"
                }
                if out.utf8.count > 1 << 20 { print(out, terminator: ""); out = "" }
            }
            print(out, terminator: "")
            return
        }
        let stats = try shardStatistics(index, sampleCount: sequences, seed: seed)
        let meta = index.meta
        func pct(_ n: Int) -> String { stats.sequences > 0 ? String(format: "%.1f%%", 100 * Double(n) / Double(stats.sequences)) : "-" }
        print("\(directory): \(counted(stats.sequences, "sequence")), \(counted(stats.tokens, "token")), \(counted(stats.shards, "shard")), \(counted(stats.frames, "frame")), \(counted(stats.sources, "source"))")
        print(String(format: "on disk: %d bytes = %.3f bytes/token (uint%d tokens, zstd)", stats.bytesOnDisk, stats.bytesPerToken, meta.tokenBytes * 8))
        print("max sequence length \(meta.maxSeqLength), seed \(meta.seed), vocabulary \(meta.vocabSize) tokens (sha256 \(meta.vocabSHA256.prefix(16))...), \(meta.toolVersion)")
        if stats.sequences > 0 {
            print(String(format: "mean length %.1f tokens", Double(stats.tokens) / Double(stats.sequences)))
        }
        let documents = index.sources.reduce(0) { $0 + $1.documents }, lines = index.sources.reduce(0) { $0 + $1.lines }
        let invalid = index.sources.reduce(0) { $0 + $1.invalidUTF8Bytes }
        let damaged = index.sources.reduce(0) { $0 + $1.damagedLines }, bad = index.sources.reduce(0) { $0 + $1.badRecords }
        let damagedLines = index.schemaVersion >= 2 ? "\(counted(damaged, "line")) with NUL or invalid UTF-8" : "lines with NUL not counted (schema 1 index)"
        print("inputs: \(index.sources.count) (\(counted(documents, "document")), \(counted(lines, "line")), \(damagedLines), \(counted(invalid, "invalid UTF-8 byte")) dropped, \(counted(bad, "bad JSONL line")) skipped)")
        for source in index.sources.prefix(10) {
            var extra = ""
            if source.damagedLines > 0 { extra += ", \(counted(source.damagedLines, "damaged line"))" }
            if source.badRecords > 0 { extra += ", \(counted(source.badRecords, "bad JSONL line"))" }
            if let input = source.inputTokens { extra += ", \(input) text tokens in" + (source.droppedTokens > 0 ? " (\(source.droppedTokens) dropped)" : "") }
            print("  \(source.path): \(counted(source.documents, "document")), \(counted(source.sequences, "sequence")) from #\(source.firstSequence)\(extra), sha256 \(source.sha256.prefix(12))...")
        }
        let damagedSources = index.sources.filter { $0.damagedLines > 0 }
        if damagedSources.count > 0 && index.sources.count > 10 {
            print("  with damaged lines: " + damagedSources.prefix(10).map { "\($0.path) (\($0.damagedLines))" }.joined(separator: ", "))
        }
        if index.sources.count > 10 { print("  ... and \(index.sources.count - 10) more") }
        print("packing: \(meta.packing.rawValue)")
        let account = TokenAccount(sources: index.sources)
        account.describe(maxSeqLength: meta.maxSeqLength).forEach { print($0) }
        if account.isLossy {
            print(String(format: "warning: only %.1f%% of the input's tokens are in the sequences; shard again without --packing original to keep them all", 100 * (account.keptFraction ?? 1)))
        }
        print("single-segment draws: \(pct(stats.singleSegmentDraws)) (expected ~10%), short-target draws: \(pct(stats.shortTargetDraws)) (expected ~5%), no segment B: \(pct(stats.withoutSegmentB))")
        print("length histogram:")
        let peak = max(1, stats.histogram.max() ?? 1)
        for (i, count) in stats.histogram.enumerated() {
            let lo = i * stats.binWidth + 1, hi = min((i + 1) * stats.binWidth, meta.maxSeqLength)
            let bar = String(repeating: "#", count: Int((40 * Double(count) / Double(peak)).rounded(.up)))
            print(String(format: "  %4d-%-4d %8d ", lo, hi, count) + bar)
        }
        if !stats.samples.isEmpty {
            let vocab = try index.vocabularyTokens()
            print("sampled sequences:")
            for (n, s) in stats.samples {
                print("#\(n) (\(s.tokens.count) tokens\(s.hasSegmentB ? ", B at \(s.segmentBStart)" : ", A only")): " + decode(s.tokens, vocab))
            }
        }
    }

    /// Joins tokens with spaces, gluing `##` continuation pieces to the previous piece.
    private func decode(_ ids: [UInt32], _ vocab: [String]) -> String {
        var text = ""
        for id in ids {
            let token = Int(id) < vocab.count ? vocab[Int(id)] : "<\(id)?>"
            if token.hasPrefix("##") { text += token.dropFirst(2) } else { text += (text.isEmpty ? "" : " ") + token }
        }
        return text
    }
}
