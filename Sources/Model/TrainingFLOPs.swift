// Training compute as the ELECTRA paper counts it: follows google-research/electra's
// flops_computation.py (TransformerHparams, get_electra_train_flops). A matrix product is 2mnk;
// per element, dropout 4, layer norm 5, GELU 8, softmax 5; embedding lookups are dense (2 e v per
// token); the masked-LM output is counted at the fraction 0.15625 (20/128) of the positions;
// backward = forward, so training is 2 x forward. Two quirks of the script are kept because they
// are the paper's numbers: the attention-output layer norm costs 5 per position (not per unit),
// and the output fraction is the script's constant, not our N/L (19/128). Its ELECTRA function
// leaves the vocabulary at 30522; we count with the real one. tools/flops_reference.py is the
// Python transcription that pins this file (Tests/Fixtures/model/flops.json, within 0.1%).

/// What a pre-training run learns from.
public enum PretrainingObjective: String, Codable, CaseIterable, Sendable {
    /// Replaced-token detection: generator (masked LM) + discriminator over every position.
    case electra
    /// BERT: the discriminator-sized encoder as a masked LM (80% [MASK], 10% random, 10% kept).
    case mlm
    /// The paper's "ELECTRA 15%" ablation: the discriminator's loss at the masked positions only.
    case electra15 = "electra-15"
}

/// One transformer encoder's FLOPs, counted as flops_computation.TransformerHparams counts them.
public struct TransformerFLOPs: Sendable {
    /// Hidden size, layers, sequence length, vocabulary, embedding size, FFN size, heads.
    public var h: Int, l: Int, s: Int, v: Int, e: Int, i: Int, heads: Int
    /// The share of positions the masked-LM output is computed at (the script's 0.15625).
    public var outputFraction: Double

    public static let paperOutputFraction = 0.15625
    static let dropout = 4.0, layerNorm = 5.0, gelu = 8.0, softmax = 5.0

    public init(h: Int, l: Int, s: Int, v: Int, e: Int, i: Int, heads: Int,
                outputFraction: Double = TransformerFLOPs.paperOutputFraction) {
        self.h = h; self.l = l; self.s = s; self.v = v; self.e = e; self.i = i; self.heads = heads
        self.outputFraction = outputFraction
    }

    /// Forward FLOPs of one layer over one sequence (`get_block_flops`).
    public var layerFLOPs: Double {
        let h = Double(self.h), i = Double(self.i), s = Double(self.s), heads = Double(self.heads)
        let attention = 3 * 2 * h * h + 3 * h                            // q, k, v and their biases
            + 2 * h * s                                                  // scores
            + (Self.softmax + Self.dropout + 1) * s * heads              // softmax, dropout, scale
            + 2 * h * s                                                  // weighted values
            + 2 * h * h + h + Self.dropout * h + h + Self.layerNorm      // output, bias, dropout, residual, norm
        let feedForward = 2 * h * i + Self.gelu * i + i                  // intermediate, GELU, bias
            + 2 * h * i + h + Self.dropout * h + h + Self.layerNorm * h   // output, bias, dropout, residual, norm
        return (attention + feedForward) * s
    }

    /// Forward FLOPs of the input embeddings over one sequence (`get_embedding_flops(output=False)`).
    public var inputFLOPs: Double {
        let e = Double(self.e), h = Double(self.h), s = Double(self.s), v = Double(self.v)
        var perToken = 2 * e * v + 2 * e * (s + 2) + 2 * e + Self.layerNorm * e + Self.dropout * e
        if self.e != self.h { perToken += 2 * h * e + h }                // embeddings_project
        return perToken * s
    }

    /// Forward FLOPs of the masked-LM head (`get_embedding_flops(output=True)`).
    public var maskedLMOutputFLOPs: Double {
        let e = Double(self.e), h = Double(self.h), s = Double(self.s), v = Double(self.v)
        let perToken = 2 * e * v + 2 * h * e + e + Self.gelu * e + Self.layerNorm * e + Self.softmax * v + 2 * v
        return outputFraction * perToken * s
    }

    /// Forward FLOPs of the replaced-token head (`get_binary_classification_flops`).
    public var replacedTokenHeadFLOPs: Double {
        let h = Double(self.h)
        return (2 * h * h + h + Self.gelu * h + 2 * h) * Double(s)
    }

    /// Training FLOPs (2 x forward) of `steps` steps of `batchSize` sequences, with the
    /// replaced-token head (`discriminator`) or the masked-LM head (`get_train_flops`).
    public func trainFLOPs(batchSize: Int, steps: Double = 1, discriminator: Bool) -> Double {
        let head = discriminator ? replacedTokenHeadFLOPs : maskedLMOutputFLOPs
        return 2 * Double(batchSize) * steps * (Double(l) * layerFLOPs + inputFLOPs + head)
    }
}

extension ElectraConfig {
    /// The discriminator's (or, for `.mlm`, the encoder's) counting shape at sequence length `s`.
    public func discriminatorFLOPs(sequenceLength s: Int) -> TransformerFLOPs {
        TransformerFLOPs(h: hiddenSize, l: numLayers, s: s, v: vocabSize, e: embeddingSize, i: intermediateSize,
                         heads: numHeads)
    }

    /// The generator's counting shape (embeddings tied: the discriminator's embedding size).
    public func generatorFLOPs(sequenceLength s: Int) -> TransformerFLOPs {
        TransformerFLOPs(h: generatorHiddenSize, l: generatorLayers, s: s, v: vocabSize, e: embeddingSize,
                         i: generatorIntermediateSize, heads: generatorHeads)
    }

    /// Training FLOPs of one step of `batchSize` sequences of `sequenceLength` tokens, as the
    /// paper counts them: `get_electra_train_flops` for ELECTRA and ELECTRA 15% (the same
    /// networks; only the loss differs), `TransformerHparams.get_train_flops` with the masked-LM
    /// output for BERT's objective.
    public func trainingFLOPsPerStep(batchSize: Int, sequenceLength: Int) -> Double {
        let disc = discriminatorFLOPs(sequenceLength: sequenceLength)
        switch trainingObjective {
        case .mlm:
            return disc.trainFLOPs(batchSize: batchSize, discriminator: false)
        case .electra, .electra15:
            return disc.trainFLOPs(batchSize: batchSize, discriminator: true)
                + generatorFLOPs(sequenceLength: sequenceLength).trainFLOPs(batchSize: batchSize, discriminator: false)
        }
    }
}
