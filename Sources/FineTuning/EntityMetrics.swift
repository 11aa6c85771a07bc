// Entity-level precision, recall and F1 over chunks read from BIO tags, as conlleval and seqeval
// (1.2.2, default mode: seqeval/metrics/sequence_labeling.py get_entities, end_of_chunk,
// start_of_chunk) read them: an I-X after O or after another type opens a new chunk, a chunk is
// right only with the exact span and type, sentences are joined with an O between them. Micro
// averages: precision = correct / predicted chunks, recall = correct / gold chunks (0 when the
// denominator is 0, as seqeval with zero_division 0).

/// One chunk: its type and its first and last position (inclusive) in the joined sequence.
public struct Chunk: Hashable, Sendable {
    public var type: String
    public var start: Int, end: Int

    public init(type: String, start: Int, end: Int) {
        self.type = type; self.start = start; self.end = end
    }
}

/// The chunks of tagged sentences (seqeval's get_entities over the sentences joined with "O").
public func chunks(_ sentences: [[String]]) -> [Chunk] {
    var sequence: [String] = []
    for s in sentences { sequence += s; sequence.append("O") }
    sequence.append("O")
    var out: [Chunk] = []
    var prevTag: Character = "O", prevType = "", begin = 0
    for (i, chunk) in sequence.enumerated() {
        let tag: Character = chunk.first ?? "O"
        // chunk[1:].split('-', maxsplit=1)[-1] or '_'
        let rest = chunk.dropFirst()
        var type = rest.firstIndex(of: "-").map { String(rest[rest.index(after: $0)...]) } ?? String(rest)
        if type.isEmpty { type = "_" }
        if endOfChunk(prevTag, tag, prevType, type) { out.append(Chunk(type: prevType, start: begin, end: i - 1)) }
        if startOfChunk(prevTag, tag, prevType, type) { begin = i }
        prevTag = tag
        prevType = type
    }
    return out
}

private func endOfChunk(_ prevTag: Character, _ tag: Character, _ prevType: String, _ type: String) -> Bool {
    if prevTag == "E" || prevTag == "S" { return true }
    if prevTag == "B" || prevTag == "I", tag == "B" || tag == "S" || tag == "O" { return true }
    return prevTag != "O" && prevTag != "." && prevType != type
}

private func startOfChunk(_ prevTag: Character, _ tag: Character, _ prevType: String, _ type: String) -> Bool {
    if tag == "B" || tag == "S" { return true }
    if prevTag == "E" || prevTag == "S" || prevTag == "O", tag == "E" || tag == "I" { return true }
    return tag != "O" && tag != "." && prevType != type
}

/// Entity-level scores of predicted against gold tags (same sentences, same lengths).
public struct EntityScores: Equatable, Sendable {
    public var precision: Double, recall: Double, f1: Double
    public var goldChunks: Int, predictedChunks: Int, correctChunks: Int
}

/// Micro-averaged entity precision, recall and F1 (seqeval's classification defaults).
public func entityScores(gold: [[String]], predicted: [[String]]) -> EntityScores {
    let g = Set(chunks(gold)), p = Set(chunks(predicted))
    let correct = g.intersection(p).count
    let precision = p.isEmpty ? 0 : Double(correct) / Double(p.count)
    let recall = g.isEmpty ? 0 : Double(correct) / Double(g.count)
    let f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall)
    return EntityScores(precision: precision, recall: recall, f1: f1, goldChunks: g.count, predictedChunks: p.count,
                        correctChunks: correct)
}
