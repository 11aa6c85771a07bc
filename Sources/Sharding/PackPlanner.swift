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
/// example goes to a FramePlan as pieces of sentences instead of tokens. With `lossless`
/// packing no token is dropped: an example takes at most what it holds of the sentences
/// gathered, the sentence crossing its end split there, and the rest starts the document's next
/// example; segment B then starts at a sentence and runs to the example's end (contiguous text).
///
/// Feed it with `addSentence` and `endDocument`, and after each take the examples that are ready:
/// ```swift
/// planner.addSentence(ref, length: n)
/// while let tokens = planner.takeReady(into: &plan) { count(tokens) }
/// ```
struct PackPlanner {
    let maxSeqLength: Int
    let packing: Packing
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
    /// The document ended: what waits is packed whatever its length.
    private var flushing = false
    /// Content tokens (no [CLS]/[SEP]) put into examples, and (`original`) the tokens dropped from
    /// lines longer than `maxSeqLength` and from the overflow of examples.
    private(set) var keptTokens = 0
    private(set) var droppedLongLineTokens = 0
    private(set) var droppedOverflowTokens = 0

    init(maxSeqLength: Int, random: SeededRandom, packing: Packing = .original) {
        self.maxSeqLength = maxSeqLength
        self.packing = packing
        rules = PackingDraws(maxSeqLength: maxSeqLength, random: random)
    }

    /// The block serial of the oldest sentence still waiting (nil when none waits).
    var oldestBlock: Int? { sentences.first?.block }

    /// Adds one non-blank line or sentence (`ref.count` = its kept ids; `length` its true token
    /// count: `original` may keep fewer ids, at most maxSeqLength; `lossless` keeps them all, at
    /// most `maxSeqLength - 3`).
    mutating func addSentence(_ ref: SentenceRef, length: Int) {
        precondition(!flushing, "addSentence before the ended document was taken")
        if length == 0 { return }
        precondition(packing == .original || (ref.count == length && length <= maxSeqLength - 3),
                     "lossless packing takes whole sentences that fit an example")
        droppedLongLineTokens += length - ref.count
        sentences.append(ref)
        lengths.append(length)
        currentLength += length
    }

    /// Ends the current document: what waits is packed by the next `takeReady` calls.
    mutating func endDocument() {
        if currentLength != 0 { flushing = true }
    }

    /// Plans the next example into `plan` when one is due (the target length reached, or the
    /// document ended with sentences waiting) and returns its token count; nil otherwise.
    mutating func takeReady(into plan: inout FramePlan) -> Int? {
        guard currentLength != 0, flushing || currentLength >= rules.targetLength else {
            flushing = false
            return nil
        }
        return packing == .original ? createExample(into: &plan) : createLosslessExample(into: &plan)
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
        keptTokens += aCount + bCount
        droppedOverflowTokens += sentences.reduce(0) { $0 + $1.count } - aCount - bCount

        sentences.removeAll(keepingCapacity: true)
        lengths.removeAll(keepingCapacity: true)
        currentLength = 0
        flushing = false
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

    /// A lossless example: the same draws as `createExample`, then the longest prefix of the
    /// waiting sentences that fits (`maxSeqLength - 2` content tokens for a single segment,
    /// `- 3` for two), the sentence crossing the end split there; A takes sentences by the
    /// original's rule until one goes to B, B the rest. What does not fit waits for the next.
    private mutating func createLosslessExample(into plan: inout FramePlan) -> Int {
        let (firstTarget, draws) = rules.startExample()
        let capacity = maxSeqLength - (draws.contains(.singleSegment) ? 2 : 3)
        // The kept prefix: `whole` sentences, then `head` ids of the next one.
        var used = 0, whole = 0, head = 0
        while whole < sentences.count {
            let count = sentences[whole].count
            if used + count > capacity { head = capacity - used; break }
            used += count
            whole += 1
        }
        var firstLength = 0, secondLength = 0
        var aEnd = plan.pieces.count
        var inSecond = false
        for i in 0..<(head > 0 ? whole + 1 : whole) {
            var piece = sentences[i]
            if i == whole { piece.count = head }
            if !inSecond && rules.goesToFirst(piece.count, firstLength: firstLength, secondLength: secondLength,
                                              firstTarget: firstTarget) {
                firstLength += piece.count
            } else {
                if !inSecond { inSecond = true; aEnd = plan.pieces.count }
                secondLength += piece.count
            }
            plan.pieces.append(piece)
            plan.oldestBlock = min(plan.oldestBlock, piece.block)
        }
        if !inSecond { aEnd = plan.pieces.count }
        plan.examples.append((aEnd, plan.pieces.count, draws))
        keptTokens += firstLength + secondLength

        sentences.removeFirst(whole)
        lengths.removeFirst(whole)
        if head > 0 {
            sentences[0].start += head
            sentences[0].count -= head
            lengths[0] -= head
        }
        currentLength -= firstLength + secondLength
        rules.drawNextTarget()
        return firstLength + 2 + (secondLength > 0 ? secondLength + 1 : 0)
    }
}
