// The random draws and length rules of build_pretraining_dataset.py's ExampleBuilder, in one
// place: ExampleBuilder (on ids) and PackPlanner (on lengths) both pack through them, so the two
// make the same draws in the same order by construction.

/// The per-example draws and the truncation rule of ELECTRA's packing.
struct PackingDraws {
    let maxSeqLength: Int
    var random: SeededRandom
    /// The current target length (`maxSeqLength` unless the 5% draw picked a shorter one).
    private(set) var targetLength: Int
    private var targetIsShort = false

    init(maxSeqLength: Int, random: SeededRandom) {
        precondition(maxSeqLength >= 5, "max sequence length must be at least 5")
        self.maxSeqLength = maxSeqLength
        self.random = random
        targetLength = maxSeqLength
    }

    /// Starts an example: the 10% draw that targets segment A only; otherwise A's target is
    /// `(target - 3) / 2` (-3 for the [CLS] and [SEP]s to come).
    mutating func startExample() -> (firstTarget: Int, draws: PackedSequence.Draws) {
        var draws: PackedSequence.Draws = targetIsShort ? [.shortTarget] : []
        if random.nextUnitDouble() < 0.1 {
            draws.insert(.singleSegment)
            return (100_000, draws)
        }
        return ((targetLength - 3) / 2, draws)
    }

    /// Whether the next sentence (true length `length`) goes to segment A: when A is empty, or it
    /// fits under A's target, or (B empty, A under target, and a coin flip).
    mutating func goesToFirst(_ length: Int, firstLength: Int, secondLength: Int, firstTarget: Int) -> Bool {
        firstLength == 0 || firstLength + length < firstTarget
            || (secondLength == 0 && firstLength < firstTarget && random.nextUnitDouble() < 0.5)
    }

    /// The ids kept of segments of `first` and `second` ids: A truncated to `max - 2`, B to
    /// `max - len(A) - 3`.
    func keptCounts(first: Int, second: Int) -> (a: Int, b: Int) {
        let a = min(first, maxSeqLength - 2)
        return (a, min(second, max(0, maxSeqLength - a - 3)))
    }

    /// Ends an example: with probability 0.05 the next target is uniform in `[5, maxSeqLength]`.
    mutating func drawNextTarget() {
        if random.nextUnitDouble() < 0.05 {
            targetLength = random.nextInt(in: 5...maxSeqLength)
            targetIsShort = true
        } else {
            targetLength = maxSeqLength
            targetIsShort = false
        }
    }
}
