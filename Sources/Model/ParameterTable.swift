// The parameter table: every tensor of the generator + discriminator pair, with its
// HuggingFace-style name, shape and offset in the one parameter allocation (and the same offset
// in the gradient and Adam moment allocations). The order below is the order of the arena and
// of the initial draws: changing it changes every initialized model.
import Foundation
import Randomness

/// One parameter tensor of the arena.
public struct ParameterInfo: Sendable, Equatable {
    /// HuggingFace-style name: `embeddings.*` (shared), `discriminator.<HF name>`, `generator.<HF name>`.
    public var name: String
    public var shape: [Int]
    public var offset: Int
    public var count: Int { shape.reduce(1, *) }
    /// False for LayerNorm weights and biases and for all biases (no weight decay).
    public var decays: Bool
}

/// Lays out the parameter table: each `add` appends a tensor at the next offset.
struct ParameterTableBuilder {
    var entries: [ParameterInfo] = []
    var total = 0
    mutating func add(_ name: String, _ shape: [Int], decays: Bool = true) -> Int {
        let offset = total
        entries.append(ParameterInfo(name: name, shape: shape, offset: offset, decays: decays))
        total += shape.reduce(1, *)
        return offset
    }
}

/// Offsets of the shared embedding tensors.
struct SharedEmbeddings {
    let word: Int, position: Int, tokenType: Int, normWeight: Int, normBias: Int
}

/// Sizes of one transformer encoder.
struct EncoderShape {
    let H: Int, NH: Int, F: Int, layers: Int, E: Int
    var projects: Bool { E != H }
}

/// Offsets of one encoder's tensors (HuggingFace ElectraModel without the embeddings).
struct EncoderOffsets {
    /// One ElectraLayer.
    struct Layer {
        /// attention.self.{query,key,value}: weights [H, H] next to each other, then biases [H].
        let query: Int, queryBias: Int, key: Int, keyBias: Int, value: Int, valueBias: Int
        /// attention.output.dense [H, H] and attention.output.LayerNorm [H].
        let attentionOutput: Int, attentionOutputBias: Int, attentionNormWeight: Int, attentionNormBias: Int
        /// intermediate.dense [F, H], output.dense [H, F] and output.LayerNorm [H].
        let intermediate: Int, intermediateBias: Int, output: Int, outputBias: Int, outputNormWeight: Int, outputNormBias: Int
    }
    /// embeddings_project [H, E] when E != H.
    let projection: Int?, projectionBias: Int?
    let layers: [Layer]

    init(prefix: String, shape s: EncoderShape, table: inout ParameterTableBuilder) {
        if s.projects {
            projection = table.add(prefix + "embeddings_project.weight", [s.H, s.E])
            projectionBias = table.add(prefix + "embeddings_project.bias", [s.H], decays: false)
        } else {
            projection = nil
            projectionBias = nil
        }
        layers = (0..<s.layers).map { l in
            let p = prefix + "encoder.layer.\(l)."
            // q, k, v weights next to each other, then their biases: one [3H, H] product.
            let query = table.add(p + "attention.self.query.weight", [s.H, s.H])
            let key = table.add(p + "attention.self.key.weight", [s.H, s.H])
            let value = table.add(p + "attention.self.value.weight", [s.H, s.H])
            let queryBias = table.add(p + "attention.self.query.bias", [s.H], decays: false)
            let keyBias = table.add(p + "attention.self.key.bias", [s.H], decays: false)
            let valueBias = table.add(p + "attention.self.value.bias", [s.H], decays: false)
            precondition(key == query + s.H * s.H && value == key + s.H * s.H
                         && keyBias == queryBias + s.H && valueBias == keyBias + s.H)
            return Layer(
                query: query, queryBias: queryBias, key: key, keyBias: keyBias, value: value, valueBias: valueBias,
                attentionOutput: table.add(p + "attention.output.dense.weight", [s.H, s.H]),
                attentionOutputBias: table.add(p + "attention.output.dense.bias", [s.H], decays: false),
                attentionNormWeight: table.add(p + "attention.output.LayerNorm.weight", [s.H], decays: false),
                attentionNormBias: table.add(p + "attention.output.LayerNorm.bias", [s.H], decays: false),
                intermediate: table.add(p + "intermediate.dense.weight", [s.F, s.H]),
                intermediateBias: table.add(p + "intermediate.dense.bias", [s.F], decays: false),
                output: table.add(p + "output.dense.weight", [s.H, s.F]),
                outputBias: table.add(p + "output.dense.bias", [s.H], decays: false),
                outputNormWeight: table.add(p + "output.LayerNorm.weight", [s.H], decays: false),
                outputNormBias: table.add(p + "output.LayerNorm.bias", [s.H], decays: false))
        }
    }
}

/// Offsets of discriminator_predictions: dense [H, H] + GELU, dense_prediction [1, H].
struct DiscriminatorHeadOffsets {
    let dense: Int, denseBias: Int, prediction: Int, predictionBias: Int
}

/// Offsets of generator_predictions (dense [E, Hg] + GELU, LayerNorm [E]) and the
/// generator_lm_head bias [V] (its weight is the shared word embeddings, tied).
struct GeneratorHeadOffsets {
    let dense: Int, denseBias: Int, normWeight: Int, normBias: Int, outputBias: Int
}

/// The whole table, in arena order: shared embeddings, discriminator encoder and head,
/// generator encoder and head. BERT's objective (`.mlm`): shared embeddings, the
/// discriminator-sized encoder and its masked-LM head (`discriminator.generator_predictions.*`,
/// `discriminator.generator_lm_head.bias`: HF ElectraForMaskedLM's names at the encoder's size).
struct ParameterLayout {
    let table: [ParameterInfo]
    let count: Int
    let shared: SharedEmbeddings
    let discriminator: EncoderOffsets, discriminatorHead: DiscriminatorHeadOffsets?
    /// nil for BERT's objective; `generatorHead` is then the encoder's masked-LM head.
    let generator: EncoderOffsets?, generatorHead: GeneratorHeadOffsets

    init(config: ElectraConfig, discriminator disc: EncoderShape, generator gen: EncoderShape) {
        var table = ParameterTableBuilder()
        let V = config.vocabSize, E = config.embeddingSize, H = disc.H, Hg = gen.H
        shared = SharedEmbeddings(
            word: table.add("embeddings.word_embeddings.weight", [V, E]),
            position: table.add("embeddings.position_embeddings.weight", [config.maxPositions, E]),
            tokenType: table.add("embeddings.token_type_embeddings.weight", [config.typeVocabSize, E]),
            normWeight: table.add("embeddings.LayerNorm.weight", [E], decays: false),
            normBias: table.add("embeddings.LayerNorm.bias", [E], decays: false))
        discriminator = EncoderOffsets(prefix: "discriminator.electra.", shape: disc, table: &table)
        if config.trainingObjective == .mlm {
            discriminatorHead = nil
            generator = nil
            generatorHead = GeneratorHeadOffsets(
                dense: table.add("discriminator.generator_predictions.dense.weight", [E, H]),
                denseBias: table.add("discriminator.generator_predictions.dense.bias", [E], decays: false),
                normWeight: table.add("discriminator.generator_predictions.LayerNorm.weight", [E], decays: false),
                normBias: table.add("discriminator.generator_predictions.LayerNorm.bias", [E], decays: false),
                outputBias: table.add("discriminator.generator_lm_head.bias", [V], decays: false))
            self.table = table.entries
            count = table.total
            return
        }
        discriminatorHead = DiscriminatorHeadOffsets(
            dense: table.add("discriminator.discriminator_predictions.dense.weight", [H, H]),
            denseBias: table.add("discriminator.discriminator_predictions.dense.bias", [H], decays: false),
            prediction: table.add("discriminator.discriminator_predictions.dense_prediction.weight", [1, H]),
            predictionBias: table.add("discriminator.discriminator_predictions.dense_prediction.bias", [1], decays: false))
        generator = EncoderOffsets(prefix: "generator.electra.", shape: gen, table: &table)
        generatorHead = GeneratorHeadOffsets(
            dense: table.add("generator.generator_predictions.dense.weight", [E, Hg]),
            denseBias: table.add("generator.generator_predictions.dense.bias", [E], decays: false),
            normWeight: table.add("generator.generator_predictions.LayerNorm.weight", [E], decays: false),
            normBias: table.add("generator.generator_predictions.LayerNorm.bias", [E], decays: false),
            outputBias: table.add("generator.generator_lm_head.bias", [V], decays: false))
        self.table = table.entries
        count = table.total
    }
}

/// A standard normal draw (Box-Muller).
func gaussian(_ rng: inout Xoshiro256) -> Float {
    let u1 = max(rng.nextDouble(), 1e-300), u2 = rng.nextDouble()
    return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
}
