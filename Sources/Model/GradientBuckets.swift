// The gradient buffer cut into the pieces the backward pass finishes one after the other
// (discriminator head, its layers from the last down, its projection, the generator's head,
// layers and projection, then the shared embeddings, which both models write): a reducer can
// sum a piece over processes while the backward computes the next (`step(gradientsReady:)`).

/// A piece of the gradient buffer that the backward pass finishes at once.
enum GradientBucket: Hashable {
    case discriminatorHead, discriminatorLayer(Int), discriminatorProjection
    case generatorHead, generatorLayer(Int), generatorProjection
    /// BERT's objective: the encoder's masked-LM head.
    case maskedLMHead
    case sharedEmbeddings

    /// The prefix of the parameter names in this piece.
    var prefix: String {
        switch self {
        case .discriminatorHead: return "discriminator.discriminator_predictions."
        case .discriminatorLayer(let l): return "discriminator.electra.encoder.layer.\(l)."
        case .discriminatorProjection: return "discriminator.electra.embeddings_project."
        case .generatorHead: return "generator.generator_"
        case .maskedLMHead: return "discriminator.generator_"
        case .generatorLayer(let l): return "generator.electra.encoder.layer.\(l)."
        case .generatorProjection: return "generator.electra.embeddings_project."
        case .sharedEmbeddings: return "embeddings."
        }
    }

    /// Each piece's range in the flat buffer (pieces without parameters left out). Every
    /// parameter belongs to exactly one piece and each piece is contiguous (checked).
    static func ranges(table: [ParameterInfo], discriminatorLayers: Int, generatorLayers: Int) -> [GradientBucket: Range<Int>] {
        let all: [GradientBucket] = [.maskedLMHead, .discriminatorHead] + (0..<discriminatorLayers).map { .discriminatorLayer($0) }
            + [.discriminatorProjection, .generatorHead] + (0..<generatorLayers).map { .generatorLayer($0) }
            + [.generatorProjection, .sharedEmbeddings]
        var result: [GradientBucket: Range<Int>] = [:]
        var covered = 0
        for bucket in all {
            let members = table.filter { $0.name.hasPrefix(bucket.prefix) }
            guard let low = members.map(\.offset).min(), let high = members.map({ $0.offset + $0.count }).max() else { continue }
            let count = members.reduce(0) { $0 + $1.count }
            precondition(high - low == count, "gradient piece \(bucket.prefix) is not contiguous")
            result[bucket] = low..<high
            covered += count
        }
        precondition(covered == table.reduce(0) { $0 + $1.count }, "gradient pieces do not cover every parameter")
        return result
    }
}
