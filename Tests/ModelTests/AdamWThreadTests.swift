// AdamW on several threads: the gradient norm and the update give the same bits for any thread
// count, and the update is the formula of optimization.py, tensor by tensor.
import Kernels
import Model
import XCTest

final class AdamWThreadTests: XCTestCase {
    override func tearDown() { setComputeThreads(1) }

    func testNormIsExactAndIndependentOfThreads() {
        // Three and a half blocks of 65,536 plus a tail that is not a multiple of eight.
        let count = 3 * 65_536 + 32_771
        let g = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { g.deallocate() }
        var reference = 0.0
        for i in 0..<count {
            g[i] = Float((i * 7919) % 2001 - 1000) * 1e-3
            reference += Double(g[i]) * Double(g[i])
        }
        var norms: [Float] = []
        for threads in [1, 2, 3, 8] {
            setComputeThreads(threads)
            norms.append(AdamW.globalNorm(g, count))
        }
        XCTAssertEqual(Double(norms[0]), reference.squareRoot(), accuracy: 1e-5 * reference.squareRoot())
        XCTAssertEqual(Set(norms.map(\.bitPattern)).count, 1, "norms differ by thread count: \(norms)")
    }

    func testUpdateIsTheFormulaAndIndependentOfThreads() throws {
        let config = ElectraConfig(vocabSize: 300, embeddingSize: 64, hiddenSize: 128, numLayers: 2, numHeads: 2)
        var options = AdamWOptions()
        options.warmupSteps = 0
        options.totalSteps = 10
        var results: [[Float]] = []
        var reference: [Float] = []
        for threads in [1, 2, 3, 8] {
            setComputeThreads(threads)
            let model = try ElectraModel(config: config, batchSize: 1, seqLength: 8, maxPredictions: 2, seed: 4)
            let n = model.parameterCount
            XCTAssertGreaterThan(n, 4 * 65_536, "too small to be split over threads")
            let initial = Array(UnsafeBufferPointer(start: model.parameters, count: n))
            for i in 0..<n { model.gradients[i] = Float((i * 7919) % 2001 - 1000) * 1e-7 }
            let optimizer = AdamW(model: model, options: options)
            let (norm, lr) = optimizer.update(model)
            results.append(Array(UnsafeBufferPointer(start: model.parameters, count: n)))
            if threads == 1 {
                // One lane at a time, from the table: m = (1-b1)g, v = (1-b2)g², no bias correction.
                let clip = options.clipNorm / max(norm, options.clipNorm)
                reference = initial
                for info in model.parameterTable {
                    let decay: Float = info.decays ? options.weightDecay : 0
                    for i in info.offset..<(info.offset + info.count) {
                        let grad = model.gradients[i] * clip
                        let m = options.beta1 * 0 + (1 - options.beta1) * grad
                        let v = options.beta2 * 0 + (1 - options.beta2) * grad * grad
                        reference[i] -= lr * (m / (v.squareRoot() + options.epsilon) + decay * initial[i])
                    }
                }
                XCTAssertEqual(results[0].map(\.bitPattern), reference.map(\.bitPattern), "update differs from the formula")
                XCTAssertTrue(model.parameterTable.contains { !$0.decays } && model.parameterTable.contains { $0.decays })
            }
        }
        for (k, r) in results.enumerated().dropFirst() {
            XCTAssertEqual(r.map(\.bitPattern), results[0].map(\.bitPattern), "run \(k) differs from one thread")
        }
    }
}
