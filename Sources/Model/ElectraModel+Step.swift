// One training step of ELECTRA as two lists of calls: the forward top to bottom, the backward
// the same list reversed (llm.c's gpt2_forward / gpt2_backward). Each call is one forward or
// backward of a part with activations of its own: the generator encoder, the generator head
// (masked-LM at the B*N masked slots), the sampling, the discriminator encoder, the
// discriminator head. Shapes: B rows of L tokens, N masked slots per row, V vocabulary,
// Hg / H the generator's / discriminator's hidden size.
import Kernels
import Masking
import Randomness

/// What a step's randomness and loss normalisers are keyed to, so that a batch split into
/// micro-batches (or over processes) gets the dropout masks, samples and losses of the whole.
public struct StepKeys: Sendable {
    /// The key of this step: `derivedKey(seed, step)` in training, a fixed key per held-out batch.
    public var key: UInt64
    /// The row of the whole batch this batch's row 0 is.
    public var firstRow: Int
    /// Σ of the masked-slot weights and Σ of the attention mask over the WHOLE batch (the loss
    /// normalisers); nil: this batch's own.
    public var maskedTokens: Float?, realTokens: Float?

    public init(key: UInt64, firstRow: Int = 0, maskedTokens: Float? = nil, realTokens: Float? = nil) {
        self.key = key; self.firstRow = firstRow; self.maskedTokens = maskedTokens; self.realTokens = realTokens
    }

    /// The keys of training step `step` (counted from 0) of a run seeded with `seed`.
    public static func training(seed: UInt64, step: Int) -> StepKeys {
        StepKeys(key: derivedKey(seed, 0x7374_6570, UInt64(step)))   // "step"
    }
}

extension ElectraModel {
    /// `step(_:training:computeGradients:keys:gumbelNoise:)` keyed by one draw of `rng`.
    public func step(_ batch: MaskedBatch, training: Bool, computeGradients: Bool,
                     rng: inout Xoshiro256, gumbelNoise: [Float]? = nil) -> StepResult {
        step(batch, training: training, computeGradients: computeGradients, keys: StepKeys(key: rng.next()),
             gumbelNoise: gumbelNoise)
    }

    /// One forward pass of both models and, when `computeGradients`, the backward pass
    /// (gradients are ACCUMULATED; call `zeroGradients()` first).
    /// - Parameters:
    ///   - training: dropout on when true, each site's seed derived from (`keys.key`, site), its
    ///     mask indexed by the row in the whole batch.
    ///   - keys: the step's key, this batch's first row in the whole batch and the whole batch's
    ///     loss normalisers.
    ///   - gumbelNoise: (B*N*V) noise added to the generator logits before the argmax; nil draws
    ///     the sample by inverting the softmax's CDF at one uniform per slot, derived from
    ///     (`keys.key`, global row, slot).
    ///   - gradientsReady: called with each range of the gradient buffer as soon as the backward
    ///     has finished it (last layers first; the shared embeddings last).
    public func step(_ batch: MaskedBatch, training: Bool, computeGradients: Bool, keys: StepKeys,
                     gumbelNoise: [Float]? = nil, gradientsReady: ((Range<Int>) -> Void)? = nil) -> StepResult {
        precondition(batch.batchSize == batchSize && batch.seqLength == seqLength && batch.maxPredictions == maxPredictions,
                     "batch shape differs from the one the model was built for")
        guard let generator, let sampler, let discriminatorHead else {   // BERT's objective
            return maskedLMStep(batch, training: training, computeGradients: computeGradients, keys: keys,
                                gradientsReady: gradientsReady)
        }
        let w = parameters, g = gradients, keep = computeGradients
        let dropout: Float = training ? config.dropout : 0
        let P = batchSize * maxPredictions
        var predictions = [Int32](repeating: 0, count: P)   // (B*N) generator argmax
        var sampled = [Int32](repeating: 0, count: P)       // (B*N) sampled replacements
        profile?.start()

        // ---- Forward.
        let generatorOutput = generator.forward(                       // (B*L, Hg)
            ids: batch.inputIDs, segments: batch.segmentIDs, attention: batch.attentionMask, shared: shared,
            config: config, w: w, dropout: dropout, keepForBackward: keep, dropoutKey: derivedKey(keys.key, 1),
            firstRow: keys.firstRow)
        profile?.lap("generator encoder forward")
        let generatorLoss = generatorHead.forward(                     // logits (B*N, V)
            generatorOutput, batch, shared: shared, w: w, eps: config.layerNormEps, keepForBackward: keep,
            weightSum: keys.maskedTokens)
        profile?.lap("generator head forward")
        sampler.forward(&predictions, &sampled, generatorHead.logits, gumbelNoise: gumbelNoise,
                        key: derivedKey(keys.key, 3), firstRow: keys.firstRow, slotsPerRow: maxPredictions)
        profile?.lap("sampling")
        let (discriminatorIDs, labels) = replacedTokens(batch, sampled)   // (B*L), (B*L)
        let discriminatorOutput = discriminator.forward(               // (B*L, H)
            ids: discriminatorIDs, segments: batch.segmentIDs, attention: batch.attentionMask, shared: shared,
            config: config, w: w, dropout: dropout, keepForBackward: keep, dropoutKey: derivedKey(keys.key, 2),
            firstRow: keys.firstRow)
        profile?.lap("discriminator encoder forward")
        discriminatorHead.forward(discriminatorOutput, w: w, keepForBackward: keep)   // logits (B*L)
        // ELECTRA: every real position; ELECTRA 15%: the masked positions only.
        let fifteen = config.trainingObjective == .electra15
        let discriminatorLoss = discriminatorHead.loss(
            labels: labels, weights: fifteen ? maskedPositionWeights(batch) : batch.attentionMask.map { Float($0) },
            scale: config.discriminatorWeight, keepForBackward: keep, weightSum: fifteen ? keys.maskedTokens : keys.realTokens)
        let totalLoss = generatorLoss + config.discriminatorWeight * discriminatorLoss
        profile?.lap("discriminator head forward")

        // ---- Backward: the forward reversed. The sampling passes no gradient (as in ELECTRA), so
        // the generator learns from its own loss only; the shared embeddings get both models'.
        if computeGradients {
            let ready: (GradientBucket) -> Void = { bucket in
                if let gradientsReady, let range = self.gradientBuckets[bucket] { gradientsReady(range) }
            }
            discriminatorHead.backward(discriminator.outputGradient, discriminatorOutput, w: w, g: g)
            ready(.discriminatorHead)
            profile?.lap("discriminator head backward")
            discriminator.backward(ids: discriminatorIDs, segments: batch.segmentIDs, attention: batch.attentionMask,
                                   shared: shared, config: config, w: w, g: g,
                                   layerDone: { ready(.discriminatorLayer($0)) })
            ready(.discriminatorProjection)
            profile?.lap("discriminator encoder backward")
            generatorHead.backward(generator.outputGradient, shared: shared, w: w, g: g)
            ready(.generatorHead)
            profile?.lap("generator head backward")
            generator.backward(ids: batch.inputIDs, segments: batch.segmentIDs, attention: batch.attentionMask,
                               shared: shared, config: config, w: w, g: g, layerDone: { ready(.generatorLayer($0)) })
            ready(.generatorProjection)
            ready(.sharedEmbeddings)
            profile?.lap("generator encoder backward")
        }
        var hidden: HiddenSpread?
        if !training && !computeGradients {
            hidden = HiddenSpread(units: config.hiddenSize)
            hidden!.add(discriminatorOutput, rows: batchSize * seqLength, mask: batch.attentionMask)
        }
        return StepResult(totalLoss: totalLoss, generatorLoss: generatorLoss, discriminatorLoss: discriminatorLoss,
                          generatorPredictions: predictions, sampledTokens: sampled,
                          discriminatorLogits: Array(UnsafeBufferPointer(start: discriminatorHead.logits,
                                                                         count: batchSize * seqLength)),
                          discriminatorLabels: labels, discriminatorHidden: hidden)
    }

    /// The discriminator's input (B*L): the original ids with each masked slot's sample written
    /// in; and its labels (B*L): 1 where the sample differs from the original, else 0.
    func replacedTokens(_ batch: MaskedBatch, _ sampled: [Int32]) -> (ids: [Int32], labels: [Float]) {
        let L = seqLength, N = maxPredictions
        var ids = batch.originalInputIDs
        var labels = [Float](repeating: 0, count: batchSize * L)
        for slot in 0..<(batchSize * N) where batch.maskedWeights[slot] > 0 {
            let row = slot / N * L + Int(batch.maskedPositions[slot])
            ids[row] = sampled[slot]
            labels[row] = sampled[slot] != batch.maskedOriginalIDs[slot] ? 1 : 0
        }
        return (ids, labels)
    }
}
