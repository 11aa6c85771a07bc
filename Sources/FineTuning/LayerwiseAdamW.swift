// The fine-tuning optimizer of google-research/electra (model/optimization.py create_optimizer
// with layerwise_lr_decay_power): AdamWeightDecayOptimizer (no bias correction, decoupled weight
// decay skipped for LayerNorm and biases), gradients clipped to a global norm of 1.0, the learning
// rate lr * (1 - step/T) * min(1, step/W) with W = warm-up proportion x T, and each tensor's rate
// scaled by decay^(layers + 2 - depth): the head (depth layers + 2) gets lr, encoder layer l
// (depth l + 1) lr * decay^(layers + 1 - l), the embeddings (depth 0) lr * decay^(layers + 2).
import Foundation
import Kernels
import Model

/// Fine-tuning hyperparameters (configure_finetuning.py's defaults).
public struct FineTuningOptions: Codable, Equatable, Sendable {
    public var learningRate: Float = 1e-4
    public var layerwiseDecay: Float = 0.8
    public var weightDecay: Float = 0.01
    public var warmupProportion: Float = 0.1
    public var batchSize = 32
    public var epochs = 3
    public var maxLength = 128
    public var dropout: Float = 0.1
    public var seed: UInt64 = 0
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-6
    public var clipNorm: Float = 1.0
    /// configure_finetuning.py's double_unordered: the training pairs of a task whose pair order
    /// carries no meaning (MRPC, STS-B) are trained in both orders. nil when off (a run recorded
    /// before the option existed reads as off).
    public var doubleUnordered: Bool?
    public init() {}
}

/// Adam moments for every parameter of a classifier, and the layer-wise update.
public final class LayerwiseAdamW: AdamMoments {
    public let options: FineTuningOptions
    public let totalSteps: Int, warmupSteps: Int
    public var step = 0
    /// Per tensor of the model's table: learning-rate factor and whether it decays.
    public let factors: [Float]
    /// The base rate's schedule: pre-training's (warm-up times linear decay), at this run's peak and lengths.
    private let schedule: AdamWOptions

    public init(model: any EncoderTaskModel, options: FineTuningOptions, totalSteps: Int) {
        self.options = options
        self.totalSteps = totalSteps
        warmupSteps = Int(Float(totalSteps) * options.warmupProportion)
        let top = model.config.numLayers + 2
        factors = model.parameterTable.map { p in
            options.layerwiseDecay > 0 ? Float(pow(Double(options.layerwiseDecay), Double(top - model.depth(of: p)))) : 1
        }
        var schedule = AdamWOptions()
        schedule.learningRate = options.learningRate
        schedule.warmupSteps = warmupSteps
        schedule.totalSteps = totalSteps
        self.schedule = schedule
        super.init(count: model.parameterCount)
    }

    /// The base learning rate of update `step` (before the layer factors).
    public func learningRate(at step: Int) -> Float { schedule.learningRate(at: step) }

    /// Clips, updates every parameter and advances `step`; returns the norm before clipping and the base rate.
    @discardableResult
    public func update(_ model: any EncoderTaskModel) -> (gradientNorm: Float, learningRate: Float) {
        let g = model.gradients, p = model.parameters, m = self.m, v = self.v
        let norm = AdamW.globalNorm(g, count)
        let clip = options.clipNorm / max(norm, options.clipNorm)
        let base = learningRate(at: step)
        let (b1, b2, eps) = (options.beta1, options.beta2, options.epsilon)
        for (t, info) in model.parameterTable.enumerated() {
            AdamW.updateRange(p, g, m, v, info.offset, info.offset + info.count, clip: clip, learningRate: base * factors[t],
                              decay: info.decays ? options.weightDecay : 0, beta1: b1, beta2: b2, epsilon: eps)
        }
        step += 1
        return (norm, base)
    }
}
