// The optimizer of ELECTRA pre-training, as google-research/electra model/optimization.py:
// Adam with decoupled weight decay (AdamWeightDecayOptimizer), NO bias correction, weight decay
// skipped for LayerNorm weights and all biases, gradients clipped to a global norm of 1.0
// (tf.clip_by_global_norm), and the learning rate lr * (1 - step/T) * min(1, step/W).

import Kernels

/// AdamW settings (ELECTRA-Small defaults).
public struct AdamWOptions: Codable, Equatable, Sendable {
    public var learningRate: Float = 5e-4
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-6
    public var weightDecay: Float = 0.01
    public var clipNorm: Float = 1.0
    public var warmupSteps = 10_000
    public var totalSteps = 1_000_000
    public init() {}

    /// The learning rate of update number `step` (0-based): linear decay to 0 at `totalSteps`,
    /// times the linear warm-up factor (the product, as the original).
    public func learningRate(at step: Int) -> Float {
        let decay = 1 - Float(min(step, totalSteps)) / Float(max(totalSteps, 1))
        let warmup = warmupSteps > 0 ? min(1, Float(step) / Float(warmupSteps)) : 1
        return learningRate * decay * warmup
    }
}

/// Adam's first and second moments for `count` parameters, zeroed, one allocation each: what
/// the pre-training and the fine-tuning optimizers keep (and checkpoint) alike.
open class AdamMoments {
    public let count: Int
    public let m: UnsafeMutablePointer<Float>
    public let v: UnsafeMutablePointer<Float>

    public init(count: Int) {
        self.count = count
        m = .allocate(capacity: count)
        v = .allocate(capacity: count)
        m.initialize(repeating: 0, count: count)
        v.initialize(repeating: 0, count: count)
    }

    deinit {
        m.deallocate()
        v.deallocate()
    }
}

/// Adam moments for every parameter of a model, and the update.
public final class AdamW: AdamMoments {
    public let options: AdamWOptions
    /// Updates done so far (the global step).
    public var step = 0
    /// The tensors' [offset, end) in the arena, by offset, and whether they decay.
    private let segments: [(offset: Int, end: Int, decays: Bool)]

    public init(model: ElectraModel, options: AdamWOptions) {
        self.options = options
        segments = model.parameterTable.map { (offset: $0.offset, end: $0.offset + $0.count, decays: $0.decays) }
            .sorted { $0.offset < $1.offset }
        super.init(count: model.parameterCount)
    }

    /// The global L2 norm of the gradients: squares summed eight lanes at a time in blocks of
    /// 65,536, each block's sum added in Double in block order (so the blocks can be summed on
    /// several threads and the result is the same for any thread count), then the tail.
    public static func globalNorm(_ g: UnsafeMutablePointer<Float>, _ count: Int) -> Float {
        let block = 65_536, vectorEnd = count / 8 * 8
        var partial = [Double](repeating: 0, count: (vectorEnd + block - 1) / block)
        partial.withUnsafeMutableBufferPointer { out in
            parallelChunks(out.count, minimumPerThread: 8) { blocks in
                for b in blocks {
                    var acc = SIMD8<Float>()
                    var i = b * block
                    let end = min(vectorEnd, i + block)
                    while i < end {
                        let x = load8(g + i)
                        acc += x * x
                        i += 8
                    }
                    out[b] = Double(acc.sum())
                }
            }
        }
        var sum = 0.0
        for s in partial { sum += s }
        for i in vectorEnd..<count { sum += Double(g[i] * g[i]) }
        return Float(sum.squareRoot())
    }

    /// One AdamW update (ELECTRA's: no bias correction) of [lo, hi) of one tensor, in place:
    /// parameters `p`, gradients `g` (scaled by `clip`), moments `m` and `v`. Eight lanes at a
    /// time, the same operations in the same order as one lane does, so the result does not
    /// depend on where a chunk starts. Shared by pre-training and fine-tuning (layer-wise rates).
    public static func updateRange(_ p: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>,
                                   _ m: UnsafeMutablePointer<Float>, _ v: UnsafeMutablePointer<Float>,
                                   _ lo: Int, _ hi: Int, clip: Float, learningRate lr: Float, decay: Float,
                                   beta1 b1: Float, beta2 b2: Float, epsilon eps: Float) {
        @inline(__always) func update8(_ i: Int) {
            let grad = load8(g + i) * clip
            let mi = b1 * load8(m + i) + (1 - b1) * grad
            let vi = b2 * load8(v + i) + (1 - b2) * grad * grad
            store8(mi, m + i)
            store8(vi, v + i)
            let pi = load8(p + i)
            store8(pi - lr * (mi / (vi.squareRoot() + eps) + decay * pi), p + i)
        }
        var i = lo
        while i + 8 <= hi { update8(i); i += 8 }
        while i < hi {
            let grad = g[i] * clip
            let mi = b1 * m[i] + (1 - b1) * grad
            let vi = b2 * v[i] + (1 - b2) * grad * grad
            m[i] = mi
            v[i] = vi
            p[i] -= lr * (mi / (vi.squareRoot() + eps) + decay * p[i])
            i += 1
        }
    }

    /// Clips the gradients to the global norm, applies one AdamW update and advances `step`.
    /// - Returns: the gradient norm before clipping and the learning rate used.
    @discardableResult
    public func update(_ model: ElectraModel) -> (gradientNorm: Float, learningRate: Float) {
        let g = model.gradients, p = model.parameters
        let norm = AdamW.globalNorm(g, count)
        let clip = options.clipNorm / max(norm, options.clipNorm)
        let lr = options.learningRate(at: step)
        let (b1, b2, eps, wd) = (options.beta1, options.beta2, options.epsilon, options.weightDecay)
        let m = self.m, v = self.v, segments = self.segments
        // All tensors in one pass split over the threads (per tensor, most layer weights were too
        // small to use more than a few threads, and each tensor was a separate hand-off).
        parallelChunks(count, minimumPerThread: 65_536) { range in
            var lo = 0, hi = segments.count   // the first segment ending after range.lowerBound
            while lo < hi { let mid = (lo + hi) / 2; if segments[mid].end <= range.lowerBound { lo = mid + 1 } else { hi = mid } }
            var s = lo
            while s < segments.count && segments[s].offset < range.upperBound {
                let a = max(range.lowerBound, segments[s].offset), b = min(range.upperBound, segments[s].end)
                if a < b {
                    AdamW.updateRange(p, g, m, v, a, b, clip: clip, learningRate: lr, decay: segments[s].decays ? wd : 0,
                                      beta1: b1, beta2: b2, epsilon: eps)
                }
                s += 1
            }
        }
        step += 1
        return (norm, lr)
    }
}
