// BERT's replacement of the chosen positions (google-research/bert create_pretraining_data.py,
// create_masked_lm_predictions): 80% [MASK], 10% a random token of the whole vocabulary, 10% the
// original token. ELECTRA's masking (Masking.swift: 85% [MASK], 15% kept) chooses the positions;
// the masked-LM baseline keeps those positions and redraws what goes in them, so both objectives
// predict the same positions of the same sequences. Each choice is keyed by (key, the row in the
// whole batch, the slot), never drawn from a stream: any split of a batch gets the same input.
import Randomness

extension MaskedBatch {
    /// Rewrites the input at the masked slots as BERT does: with u uniform per slot, [MASK]
    /// (`maskID`) when u < 0.8, a token uniform over 0..<`vocabularySize` when u >= 0.9, else the
    /// original token. Other positions are left as they are.
    /// - Parameters:
    ///   - key: the batch's key (a training step's, or a held-out batch's).
    ///   - firstRow: the row of the whole batch this batch's row 0 is.
    public mutating func replaceForMaskedLM(maskID: Int32, vocabularySize: Int, key: UInt64, firstRow: Int = 0) {
        let (L, N) = (seqLength, maxPredictions)
        for row in 0..<batchSize {
            for k in 0..<N where maskedWeights[row * N + k] > 0 {
                let slotKey = derivedKey(key, UInt64(firstRow + row), UInt64(k))
                let u = unitInterval(splitMix64(slotKey))
                let token: Int32
                if u < 0.8 {
                    token = maskID
                } else if u < 0.9 {
                    token = maskedOriginalIDs[row * N + k]
                } else {
                    token = Int32(truncatingIfNeeded: splitMix64(slotKey ^ 0x72_616E_646F_6D) % UInt64(vocabularySize))   // "random"
                }
                inputIDs[row * L + Int(maskedPositions[row * N + k])] = token
            }
        }
    }
}
