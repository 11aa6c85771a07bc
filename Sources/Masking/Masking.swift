import Randomness
// Dynamic masking for ELECTRA pre-training. Follows google-research/electra
// pretrain/pretrain_helpers.py `mask()`, with the differences the project reference names:
// positions are drawn WITHOUT replacement (the original draws with replacement and averages
// duplicate updates), and all randomness comes from a seeded `Xoshiro256`.

/// The masking settings of a training run.
public struct MaskingOptions: Codable, Equatable, Sendable {
    /// Share of tokens to predict (ELECTRA: 0.15).
    public var maskProbability: Float
    /// Share of the chosen positions that become [MASK]; the rest keep their token (ELECTRA: 0.85).
    public var maskTokenFraction: Float
    /// Sequence length of a batch row (ELECTRA: 128).
    public var maxSeqLength: Int

    public init(maskProbability: Float = 0.15, maskTokenFraction: Float = 0.85, maxSeqLength: Int = 128) {
        self.maskProbability = maskProbability
        self.maskTokenFraction = maskTokenFraction
        self.maxSeqLength = maxSeqLength
    }

    /// N, the prediction slots per sequence: int((mask_prob + 0.005) * max_seq_length), 19 for 0.15 x 128.
    public var maxPredictions: Int {
        Int((Double(maskProbability) + 0.005) * Double(maxSeqLength))
    }

    /// How many positions of a sequence with `tokenCount` real tokens ([CLS]/[SEP] included) are
    /// predicted: max(1, min(N, round(tokenCount * p))). As in the original, the product is taken
    /// in float32 and rounded half to even (`tf.round`).
    public func predictionCount(tokenCount: Int) -> Int {
        let product = Float(tokenCount) * maskProbability
        let rounded = Int(product.rounded(.toNearestOrEven))
        return max(1, min(maxPredictions, rounded))
    }
}

/// The special token ids masking must know.
public struct SpecialTokenIDs: Codable, Equatable, Sendable {
    public var pad: Int32, cls: Int32, sep: Int32, mask: Int32
    public init(pad: Int32 = 0, cls: Int32 = 2, sep: Int32 = 3, mask: Int32 = 4) {
        self.pad = pad; self.cls = cls; self.sep = sep; self.mask = mask
    }
}

/// One training batch after masking: fixed shapes B x L and B x N, row-major.
public struct MaskedBatch: Equatable, Sendable {
    /// Rows (B), sequence length (L) and prediction slots per row (N).
    public let batchSize: Int, seqLength: Int, maxPredictions: Int
    /// Input ids after masking, padded with [PAD]. [B*L]
    public var inputIDs: [Int32]
    /// Segment ids, 0 for [CLS] A [SEP] and padding, 1 for B [SEP]. [B*L]
    public var segmentIDs: [Int32]
    /// 1 for real tokens, 0 for padding. [B*L]
    public var attentionMask: [Int32]
    /// Positions chosen for prediction, ascending, padded with 0. [B*N]
    public var maskedPositions: [Int32]
    /// The original ids at those positions, padded with 0. [B*N]
    public var maskedOriginalIDs: [Int32]
    /// 1 for a real prediction, 0 for a padding slot. [B*N]
    public var maskedWeights: [Float]

    public init(batchSize: Int, seqLength: Int, maxPredictions: Int) {
        self.batchSize = batchSize
        self.seqLength = seqLength
        self.maxPredictions = maxPredictions
        inputIDs = Array(repeating: 0, count: batchSize * seqLength)
        segmentIDs = inputIDs
        attentionMask = inputIDs
        maskedPositions = Array(repeating: 0, count: batchSize * maxPredictions)
        maskedOriginalIDs = maskedPositions
        maskedWeights = Array(repeating: 0, count: batchSize * maxPredictions)
    }

    /// Rows `range` of this batch, as a batch of their own (a micro-batch, or a process's share).
    public func rows(_ range: Range<Int>) -> MaskedBatch {
        precondition(range.lowerBound >= 0 && range.upperBound <= batchSize, "rows \(range) outside a batch of \(batchSize)")
        var part = MaskedBatch(batchSize: range.count, seqLength: seqLength, maxPredictions: maxPredictions)
        let (L, N) = (seqLength, maxPredictions)
        let tokens = (range.lowerBound * L)..<(range.upperBound * L), slots = (range.lowerBound * N)..<(range.upperBound * N)
        part.inputIDs = Array(inputIDs[tokens]); part.segmentIDs = Array(segmentIDs[tokens])
        part.attentionMask = Array(attentionMask[tokens])
        part.maskedPositions = Array(maskedPositions[slots]); part.maskedOriginalIDs = Array(maskedOriginalIDs[slots])
        part.maskedWeights = Array(maskedWeights[slots])
        return part
    }

    /// The loss normalisers of this batch: Σ masked-slot weights, Σ attention mask.
    public var lossNormalizers: (maskedTokens: Float, realTokens: Float) {
        (maskedWeights.reduce(0, +), attentionMask.reduce(Float(0)) { $0 + Float($1) })
    }

    /// The original (unmasked) input ids: the masked ones with the originals put back.
    public var originalInputIDs: [Int32] {
        var ids = inputIDs
        for row in 0..<batchSize {
            for k in 0..<maxPredictions where maskedWeights[row * maxPredictions + k] > 0 {
                ids[row * seqLength + Int(maskedPositions[row * maxPredictions + k])] =
                    maskedOriginalIDs[row * maxPredictions + k]
            }
        }
        return ids
    }
}

/// Fills batch rows from unpadded sequences and masks them.
///
/// ```swift
/// var masker = Masker(options: MaskingOptions(), specials: SpecialTokenIDs())
/// var batch = MaskedBatch(batchSize: 2, seqLength: 128, maxPredictions: masker.options.maxPredictions)
/// masker.fill(&batch, row: 0, tokens: ids, segmentBStart: bStart, rng: &rng)
/// ```
public struct Masker: Sendable {
    public let options: MaskingOptions
    public let specials: SpecialTokenIDs
    private var candidates: [Int32] = []

    public init(options: MaskingOptions, specials: SpecialTokenIDs) {
        self.options = options
        self.specials = specials
        candidates.reserveCapacity(options.maxSeqLength)
    }

    /// Writes one sequence into row `row` of `batch` (padding the rest of the row), then masks it.
    /// `tokens` holds `[CLS] A [SEP] (B [SEP])` without padding; longer sequences are cut to L.
    /// - Complexity: O(L) per row.
    public mutating func fill(
        _ batch: inout MaskedBatch, row: Int, tokens: [UInt32], segmentBStart: Int, rng: inout Xoshiro256
    ) {
        let L = batch.seqLength
        let base = row * L
        let length = min(tokens.count, L)
        let pad = specials.pad
        tokens.withUnsafeBufferPointer { src in
            batch.inputIDs.withUnsafeMutableBufferPointer { ids in
                batch.segmentIDs.withUnsafeMutableBufferPointer { segments in
                    batch.attentionMask.withUnsafeMutableBufferPointer { attention in
                        for i in 0..<length {
                            ids[base + i] = Int32(bitPattern: src[i])
                            segments[base + i] = i >= segmentBStart ? 1 : 0
                            attention[base + i] = 1
                        }
                        for i in length..<L {
                            ids[base + i] = pad
                            segments[base + i] = 0
                            attention[base + i] = 0
                        }
                    }
                }
            }
        }
        mask(&batch, row: row, length: length, rng: &rng)
    }

    /// Masks row `row` of `batch` in place; its first `length` positions are real tokens.
    public mutating func mask(_ batch: inout MaskedBatch, row: Int, length: Int, rng: inout Xoshiro256) {
        let L = batch.seqLength, N = batch.maxPredictions
        let base = row * L, slots = row * N
        candidates.removeAll(keepingCapacity: true)
        let (cls, sep, maskID, pad) = (specials.cls, specials.sep, specials.mask, specials.pad)
        batch.inputIDs.withUnsafeBufferPointer { ids in
            for p in 0..<length {
                let id = ids[base + p]
                if id != cls && id != sep && id != maskID && id != pad { candidates.append(Int32(p)) }
            }
        }
        let count = min(options.predictionCount(tokenCount: length), candidates.count, N)
        // Partial Fisher-Yates: the first `count` candidates become a uniform sample without replacement.
        for k in 0..<count {
            let j = k + rng.uniform(below: candidates.count - k)
            candidates.swapAt(k, j)
        }
        candidates[0..<count].sort()
        for k in 0..<N {
            guard k < count else {
                batch.maskedPositions[slots + k] = 0
                batch.maskedOriginalIDs[slots + k] = 0
                batch.maskedWeights[slots + k] = 0
                continue
            }
            let position = Int(candidates[k])
            batch.maskedPositions[slots + k] = Int32(position)
            batch.maskedOriginalIDs[slots + k] = batch.inputIDs[base + position]
            batch.maskedWeights[slots + k] = 1
            if rng.nextFloat() < options.maskTokenFraction {
                batch.inputIDs[base + position] = specials.mask
            }
        }
    }
}
