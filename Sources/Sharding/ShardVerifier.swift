// `electra-prep verify`: checks every shard of a directory against its index (file size and
// SHA-256, header, frame table, per-frame CRC-32, decoded counts, token ids and segment
// boundaries), reporting each problem with the shard and frame it is in.
import Corpus
import Foundation

/// One problem found by `verifyShards`.
public struct ShardProblem: Equatable, Sendable, CustomStringConvertible {
    /// The shard's path relative to the directory (or `index.sqlite`).
    public var shard: String
    /// The frame within the shard, when the problem is inside one.
    public var frame: Int?
    public var message: String
    public var description: String { shard + (frame.map { " frame \($0)" } ?? "") + ": " + message }
}

/// The outcome of `verifyShards`.
public struct VerificationReport: Sendable {
    public var shards = 0
    public var frames = 0
    public var sequences = 0
    public var tokens = 0
    public var problems: [ShardProblem] = []
    /// Shard files on disk that the index does not list (left by an interrupted run; harmless).
    public var unlistedFiles: [String] = []
    public var isValid: Bool { problems.isEmpty }
    /// Distinct shards with at least one problem.
    public var badShards: [String] { Array(Set(problems.map(\.shard))).sorted() }
}

/// Checks every shard of `directory` against `index.sqlite`.
///
/// ```swift
/// let report = try verifyShards(in: URL(fileURLWithPath: "data"))
/// for problem in report.problems { print(problem) }
/// ```
/// - Throws: only when the index itself cannot be opened.
/// - Complexity: O(total shard bytes): every frame is read and decoded.
public func verifyShards(in directory: URL, progress: (Int, Int) -> Void = { _, _ in }) throws -> VerificationReport {
    let index = try ShardIndex(directory: directory)
    let meta = index.meta
    var report = VerificationReport()
    func problem(_ shard: String, _ frame: Int?, _ message: String) {
        report.problems.append(ShardProblem(shard: shard, frame: frame, message: message))
    }
    let framesByShard = Dictionary(grouping: index.frames, by: \.shardID)
    var expectedFirst = 0
    for (shardNumber, shard) in index.shards.enumerated() {
        progress(shardNumber, index.shards.count)
        report.shards += 1
        if shard.firstSequence != expectedFirst {
            problem(shard.path, nil, "index says its first sequence is \(shard.firstSequence), expected \(expectedFirst)")
        }
        expectedFirst = shard.firstSequence + shard.sequences
        let url = directory.appendingPathComponent(shard.path)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            problem(shard.path, nil, "missing or unreadable file")
            continue
        }
        if data.count != shard.bytes { problem(shard.path, nil, "\(data.count) bytes on disk, the index says \(shard.bytes)") }
        let digest = data.withUnsafeBytes { sha256Hex(of: $0) }
        if digest != shard.sha256 { problem(shard.path, nil, "SHA-256 mismatch: the file changed since it was written") }
        let frames = framesByShard[shard.id] ?? []
        data.withUnsafeBytes { (file: UnsafeRawBufferPointer) in
            do {
                let header = try ShardHeader.decode(file)
                if header.tokenBytes != meta.tokenBytes || header.maxSeqLength != meta.maxSeqLength
                    || header.vocabularySize != meta.vocabSize {
                    problem(shard.path, nil, "header (\(header.tokenBytes)-byte tokens, max \(header.maxSeqLength), vocabulary \(header.vocabularySize)) disagrees with the index")
                }
            } catch {
                problem(shard.path, nil, "header: \(error)")
            }
            do {
                let (footer, _) = try ShardFooter.decode(file: file)
                if footer.frames.count != frames.count {
                    problem(shard.path, nil, "frame table lists \(footer.frames.count) frames, the index \(frames.count)")
                } else {
                    for (i, (a, b)) in zip(footer.frames, frames).enumerated()
                    where a.offset != b.offset || a.length != b.length || a.sequences != b.count || a.crc32 != b.crc32 {
                        problem(shard.path, i, "frame table entry disagrees with the index")
                    }
                }
            } catch {
                problem(shard.path, nil, "frame table: \(error)")
            }
        }
        var sequences = 0, tokens = 0
        for (i, frame) in frames.enumerated() {
            report.frames += 1
            if frame.frame != i { problem(shard.path, frame.frame, "frames are not numbered 0..<n") }
            if frame.firstSequence != shard.firstSequence + sequences {
                problem(shard.path, frame.frame, "index says its first sequence is \(frame.firstSequence), expected \(shard.firstSequence + sequences)")
            }
            guard frame.offset >= ShardFormat.headerSize, frame.offset + frame.length <= data.count else {
                problem(shard.path, frame.frame, "offset \(frame.offset) + length \(frame.length) lies outside the file (\(data.count) bytes)")
                sequences += frame.count; tokens += frame.tokens
                continue
            }
            let decoded: [PackedSequence]
            do { decoded = try index.readFrame(frame) } catch let ShardingError.corruptShard(_, _, reason) {
                problem(shard.path, frame.frame, reason)
                sequences += frame.count; tokens += frame.tokens
                continue
            } catch {
                problem(shard.path, frame.frame, "\(error)")
                continue
            }
            var frameTokens = 0
            for (j, s) in decoded.enumerated() {
                frameTokens += s.tokens.count
                if let message = checkSequence(s, meta: meta) {
                    problem(shard.path, frame.frame, "sequence \(frame.firstSequence + j): \(message)")
                    break
                }
            }
            if frameTokens != frame.tokens { problem(shard.path, frame.frame, "\(frameTokens) tokens, the index says \(frame.tokens)") }
            sequences += decoded.count
            tokens += frameTokens
        }
        if sequences != shard.sequences { problem(shard.path, nil, "\(sequences) sequences in its frames, the index says \(shard.sequences)") }
        if tokens != shard.tokens { problem(shard.path, nil, "\(tokens) tokens in its frames, the index says \(shard.tokens)") }
        report.sequences += sequences
        report.tokens += tokens
    }
    progress(index.shards.count, index.shards.count)
    let sourceSequences = index.sources.reduce(0) { $0 + $1.sequences }
    if sourceSequences != index.sequenceCount {
        problem("index.sqlite", nil, "sources account for \(sourceSequences) sequences, shards hold \(index.sequenceCount)")
    }
    let listed = Set(index.shards.map(\.path))
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("shards").path)) ?? []
    report.unlistedFiles = names.sorted().map { "shards/" + $0 }.filter { !listed.contains($0) }
    return report
}

/// Why a decoded sequence breaks the format's rules, or nil when it is fine.
func checkSequence(_ s: PackedSequence, meta: ShardMeta) -> String? {
    let n = s.tokens.count
    if n < 2 || n > meta.maxSeqLength { return "length \(n) outside 2...\(meta.maxSeqLength)" }
    if s.segmentBStart < 2 || s.segmentBStart > n { return "segment B starts at \(s.segmentBStart), outside 2...\(n)" }
    if s.tokens[0] != meta.clsID { return "does not start with [CLS]" }
    if s.tokens[s.segmentBStart - 1] != meta.sepID { return "segment A does not end with [SEP]" }
    if s.tokens[n - 1] != meta.sepID { return "does not end with [SEP]" }
    if s.segmentBStart < n && s.segmentBStart == n - 1 { return "empty segment B" }
    for t in s.tokens where Int(t) >= meta.vocabSize { return "token id \(t) is not below the vocabulary size \(meta.vocabSize)" }
    return nil
}
