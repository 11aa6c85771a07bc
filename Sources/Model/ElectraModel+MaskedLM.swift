// BERT's pre-training step (google-research/electra's electra_objective=False: the
// discriminator-sized encoder as a masked LM, loss at the masked positions only) as the same two
// lists of calls as the ELECTRA step: the encoder on the masked input, the masked-LM head (dense
// H -> E + GELU, LayerNorm, the tied word embeddings + bias) at the B*N masked slots; backward
// the list reversed. What replaced the chosen positions (BERT's 80% [MASK] / 10% random / 10%
// kept, `MaskedBatch.replaceForMaskedLM`) is the batch's: the step reads `inputIDs` as given.
// Also the ELECTRA 15% ablation's loss weights.
import Kernels
import Masking
import Randomness

extension ElectraModel {
    /// One forward (and, when `computeGradients`, backward) of the masked LM: the loss is the
    /// cross-entropy at the masked slots, normalised by `keys.maskedTokens`. Dropout as in
    /// `step` (the encoder's sites keyed like the discriminator's).
    func maskedLMStep(_ batch: MaskedBatch, training: Bool, computeGradients: Bool, keys: StepKeys,
                      gradientsReady: ((Range<Int>) -> Void)?) -> StepResult {
        let w = parameters, g = gradients, keep = computeGradients
        let dropout: Float = training ? config.dropout : 0
        let P = batchSize * maxPredictions, V = config.vocabSize
        profile?.start()

        // ---- Forward.
        let output = discriminator.forward(                             // (B*L, H)
            ids: batch.inputIDs, segments: batch.segmentIDs, attention: batch.attentionMask, shared: shared,
            config: config, w: w, dropout: dropout, keepForBackward: keep, dropoutKey: derivedKey(keys.key, 2),
            firstRow: keys.firstRow)
        profile?.lap("encoder forward")
        let loss = generatorHead.forward(                               // logits (B*N, V)
            output, batch, shared: shared, w: w, eps: config.layerNormEps, keepForBackward: keep,
            weightSum: keys.maskedTokens)
        profile?.lap("masked-LM head forward")
        var predictions = [Int32](repeating: 0, count: P)               // (B*N) argmax
        let logits = generatorHead.logits
        for slot in 0..<P {
            let row = logits + slot * V
            var best = 0
            for v in 1..<V where row[v] > row[best] { best = v }
            predictions[slot] = Int32(best)
        }

        // ---- Backward.
        if computeGradients {
            let ready: (GradientBucket) -> Void = { bucket in
                if let gradientsReady, let range = self.gradientBuckets[bucket] { gradientsReady(range) }
            }
            generatorHead.backward(discriminator.outputGradient, shared: shared, w: w, g: g)
            ready(.maskedLMHead)
            profile?.lap("masked-LM head backward")
            discriminator.backward(ids: batch.inputIDs, segments: batch.segmentIDs, attention: batch.attentionMask,
                                   shared: shared, config: config, w: w, g: g,
                                   layerDone: { ready(.discriminatorLayer($0)) })
            ready(.discriminatorProjection)
            ready(.sharedEmbeddings)
            profile?.lap("encoder backward")
        }
        var hidden: HiddenSpread?
        if !training && !computeGradients {
            hidden = HiddenSpread(units: config.hiddenSize)
            hidden!.add(output, rows: batchSize * seqLength, mask: batch.attentionMask)
        }
        // No sampling and no replaced-token head: those results are empty (the metrics leave them out).
        return StepResult(totalLoss: loss, generatorLoss: loss, discriminatorLoss: 0,
                          generatorPredictions: predictions, sampledTokens: [],
                          discriminatorLogits: [], discriminatorLabels: [], discriminatorHidden: hidden)
    }

    /// ELECTRA 15%'s discriminator loss weights (B*L): 1 at the masked positions, 0 elsewhere.
    func maskedPositionWeights(_ batch: MaskedBatch) -> [Float] {
        var weights = [Float](repeating: 0, count: batchSize * seqLength)
        for slot in 0..<(batchSize * maxPredictions) where batch.maskedWeights[slot] > 0 {
            weights[slot / maxPredictions * seqLength + Int(batch.maskedPositions[slot])] = 1
        }
        return weights
    }
}
