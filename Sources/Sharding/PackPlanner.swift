// The packing split in two, so that only the cheap half is serial. The packing thread runs
// PackPlanner: ExampleBuilder's rules and random draws on the sentences' lengths alone, writing
// for each example which ids it takes (block, offset, count) into a FramePlan. A pool worker
// then copies the ids (FramePlan.assemble) while it encodes and compresses the frame. The
// examples are exactly ExampleBuilder's (same draws in the same order; PackPlannerTests and the
// round-trip tests check it against ExampleBuilder).

/// Ids of one sentence (or the part of it an example keeps) inside a tokenized block.
struct SentenceRef {
    /// The block: its serial number on the packing thread, or its index in `FramePlan.blocks`.
    var block: Int
    var start: Int
    var count: Int
}

/// The examples of one frame, as references to the ids of tokenized blocks.
struct FramePlan {
    /// The ids of the blocks the pieces point into (index = `SentenceRef.block` once sent).
    var blocks: [[UInt32]] = []
    /// Per example, segment A's pieces then segment B's.
    var pieces: [SentenceRef] = []
    /// Per example: the end of its A pieces and of its B pieces in `pieces`, and its draws.
    var examples: [(aEnd: Int, bEnd: Int, draws: PackedSequence.Draws)] = []
    var clsID: UInt32 = 0
    var sepID: UInt32 = 0
    /// The oldest block the pieces point into (Int.max when there are none).
    var oldestBlock = Int.max

    var isEmpty: Bool { examples.isEmpty }

    /// The packed examples (what ExampleBuilder would have returned).
    func assemble() -> [PackedSequence] {
        var out: [PackedSequence] = []
        out.reserveCapacity(examples.count)
        var p = 0
        for example in examples {
            var tokens: [UInt32] = []
            var length = 3
            for i in p..<example.bEnd { length += pieces[i].count }
            tokens.reserveCapacity(length)
            tokens.append(clsID)
            for i in p..<example.aEnd { append(pieces[i], to: &tokens) }
            tokens.append(sepID)
            let bStart = tokens.count   // no B: the example's length
            if example.bEnd > example.aEnd {
                for i in example.aEnd..<example.bEnd { append(pieces[i], to: &tokens) }
                tokens.append(sepID)
            }
            out.append(PackedSequence(tokens: tokens, segmentBStart: bStart, draws: example.draws))
            p = example.bEnd
        }
        return out
    }

    private func append(_ piece: SentenceRef, to tokens: inout [UInt32]) {
        blocks[piece.block].withUnsafeBufferPointer { ids in
            tokens.append(contentsOf: UnsafeBufferPointer(rebasing: ids[piece.start..<piece.start + piece.count]))
        }
    }
}

/// ExampleBuilder on lengths: the same rules, the same random draws in the same order; each
/// example goes to a FramePlan as pieces of sentences instead of tokens.
struct PackPlanner {
    let maxSeqLength: Int
    var random: SeededRandom {
        get { rules.random }
        set { rules.random = newValue }
    }
    private var rules: PackingDraws
    /// The current sentences: where their kept ids are (count <= maxSeqLength), true lengths.
    private var sentences: [SentenceRef] = []
    private var lengths: [Int] = []
    private var inFirst: [Bool] = []
    private var currentLength = 0

    init(maxSeqLength: Int, random: SeededRandom) {
        self.maxSeqLength = maxSeqLength
        rules = PackingDraws(maxSeqLength: maxSeqLength, random: random)
    }

    /// The block serial of the oldest sentence still waiting (nil when none waits).
    var oldestBlock: Int? { sentences.first?.block }

    /// Adds one non-blank line (`ref.count` = its kept ids, at most maxSeqLength; `length` its
    /// true token count); when the target is reached, plans an example into `plan` and returns
    /// its token count.
    mutating func addSentence(_ ref: SentenceRef, length: Int, into plan: inout FramePlan) -> Int? {
        if length == 0 { return nil }
        sentences.append(ref)
        lengths.append(length)
        currentLength += length
        if currentLength >= rules.targetLength { return createExample(into: &plan) }
        return nil
    }

    /// Ends the current document: plans the example of the sentences gathered, if any.
    mutating func endDocument(into plan: inout FramePlan) -> Int? {
        currentLength != 0 ? createExample(into: &plan) : nil
    }

    private mutating func createExample(into plan: inout FramePlan) -> Int {
        let (firstTarget, draws) = rules.startExample()
        var firstKept = 0, secondKept = 0   // ExampleBuilder's first.count / second.count
        var firstLength = 0, secondLength = 0
        inFirst.removeAll(keepingCapacity: true)
        for i in sentences.indices {
            let length = lengths[i]
            if rules.goesToFirst(length, firstLength: firstLength, secondLength: secondLength, firstTarget: firstTarget) {
                if firstKept < maxSeqLength { firstKept += sentences[i].count }
                firstLength += length
                inFirst.append(true)
            } else {
                if secondKept < maxSeqLength { secondKept += sentences[i].count }
                secondLength += length
                inFirst.append(false)
            }
        }
        let (aCount, bCount) = rules.keptCounts(first: firstKept, second: secondKept)
        take(aCount, segmentA: true, into: &plan)
        let aEnd = plan.pieces.count
        take(bCount, segmentA: false, into: &plan)
        plan.examples.append((aEnd, plan.pieces.count, draws))

        sentences.removeAll(keepingCapacity: true)
        lengths.removeAll(keepingCapacity: true)
        currentLength = 0
        rules.drawNextTarget()
        return aCount + 2 + (bCount > 0 ? bCount + 1 : 0)
    }

    /// The first `count` ids of one segment's sentences, in order, as pieces.
    private func take(_ count: Int, segmentA: Bool, into plan: inout FramePlan) {
        var left = count
        var i = 0
        while left > 0 && i < sentences.count {
            if inFirst[i] == segmentA && sentences[i].count > 0 {
                var piece = sentences[i]
                piece.count = min(piece.count, left)
                plan.pieces.append(piece)
                plan.oldestBlock = min(plan.oldestBlock, piece.block)
                left -= piece.count
            }
            i += 1
        }
    }
}
