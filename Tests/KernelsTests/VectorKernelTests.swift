// The vectorized pieces against plain references: exp against libm, the dropout mask's
// rate and its independence from threads, split matrix products and column sums against
// single-threaded ones, GELU and LayerNorm against scalar formulas on sizes that leave tails.
import Foundation
import Kernels
import Randomness
import XCTest

final class VectorKernelTests: XCTestCase {
    override func tearDown() { setComputeThreads(1) }

    func testExpAgainstLibm() {
        var worst: Double = 0
        var x: Float = -87
        while x < 88 {
            let e = exp8(Vector8(repeating: x))[0]
            worst = max(worst, abs(Double(e) - Foundation.exp(Double(x))) / Foundation.exp(Double(x)))
            x += 0.0137
        }
        XCTAssertLessThan(worst, 5e-7, "exp8 relative error")
        XCTAssertEqual(exp8(Vector8(repeating: -.infinity))[0], 0, accuracy: 1e-37)
        XCTAssertFalse(exp8(Vector8(repeating: 1000))[0].isInfinite)
    }

    func testDropoutMaskRateAndThreadIndependence() {
        let n = 100_003
        var a = [Float](repeating: 1, count: n), b = a
        setComputeThreads(1)
        dropoutApply(&a, n, p: 0.1, seed: 99)
        setComputeThreads(2)
        dropoutApply(&b, n, p: 0.1, seed: 99)
        XCTAssertEqual(a, b, "the mask depends on the thread count")
        let dropped = a.filter { $0 == 0 }.count
        XCTAssertEqual(Double(dropped) / Double(n), 0.1, accuracy: 4 * (0.1 * 0.9 / Double(n)).squareRoot())
        XCTAssertTrue(a.allSatisfy { $0 == 0 || abs($0 - 1 / 0.9) < 1e-6 })
        // dropoutScales over any window gives the same mask as applying it to the whole tensor.
        var scales = [Float](repeating: 0, count: 1001)
        dropoutScales(&scales, start: 5001, count: 1001, p: 0.1, seed: 99)
        XCTAssertEqual(Array(a[5001..<6002]), scales)
        var c = [Float](repeating: 1, count: n)
        dropoutApply(&c, n, p: 0.1, seed: 100)
        XCTAssertNotEqual(a, c, "another seed gives another mask")
    }

    func testDropoutMaskIsTheDocumentedRule() {
        // Element i is dropped when 16 bits of SplitMix64(seed + (i / 4)·γ) fall below round(p·65536):
        // bits 16(i % 4) and up. tools/ports.py ports this rule (the PyTorch arm of finetune-compare
        // draws the same masks), so a change here changes every dropout mask.
        for (p, seed) in [(Float(0.1), UInt64(99)), (0.5, 0xDEAD_BEEF_0123_4567), (0.013, 7)] {
            let n = 4_099
            var scales = [Float](repeating: -1, count: n)
            dropoutScales(&scales, start: 0, count: n, p: p, seed: seed)
            let threshold = UInt64((p * 65_536).rounded())
            for i in 0..<n {
                var z = seed &+ UInt64(i / 4) &* 0x9E37_79B9_7F4A_7C15 &+ 0x9E37_79B9_7F4A_7C15
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                z ^= z >> 31
                let kept = (z >> (16 * UInt64(i % 4))) & 0xFFFF >= threshold
                XCTAssertEqual(scales[i], kept ? 1 / (1 - p) : 0, "element \(i), p \(p)")
            }
        }
    }

    func testSplitProductsMatchOneThread() {
        var rng = Xoshiro256(seed: 5)
        for (M, N, K) in [(300, 70, 129), (37, 900, 64), (1000, 257, 33)] {
            let a = (0..<(M * K)).map { _ in rng.nextFloat() - 0.5 }, w = (0..<(N * K)).map { _ in rng.nextFloat() - 0.5 }
            let bias = (0..<N).map { _ in rng.nextFloat() }
            var one = [Float](repeating: 0, count: M * N), two = one
            setComputeThreads(1)
            linearForward(&one, a, w, bias, M, K, N)
            var db1 = [Float](repeating: 0, count: N), dw1 = [Float](repeating: 0, count: N * K), dx1 = a
            linearBackward(&dx1, &dw1, &db1, one, a, w, M, K, N)
            setComputeThreads(2)
            linearForward(&two, a, w, bias, M, K, N)
            var db2 = [Float](repeating: 0, count: N), dw2 = [Float](repeating: 0, count: N * K), dx2 = a
            linearBackward(&dx2, &dw2, &db2, two, a, w, M, K, N)
            // Sums in another order: float rounding only (the bias sums add M values of ~M).
            func close(_ x: [Float], _ y: [Float], _ what: String, _ tolerance: Float = 1e-5) {
                let worst = zip(x, y).map { abs($0 - $1) / max(1, abs($0)) }.max() ?? 0
                XCTAssertLessThan(worst, tolerance, "\(what) \(M)x\(N)x\(K)")
            }
            close(one, two, "forward")
            close(dx1, dx2, "dinp")
            close(dw1, dw2, "dweight")
            close(db1, db2, "dbias", 1e-4)
            // And the forward against a plain triple loop.
            var worst: Float = 0
            for m in stride(from: 0, to: M, by: 7) {
                for n in stride(from: 0, to: N, by: 5) {
                    var s = bias[n]
                    for k in 0..<K { s += a[m * K + k] * w[n * K + k] }
                    worst = max(worst, abs(s - two[m * N + n]))
                }
            }
            XCTAssertLessThan(worst, 1e-4)
        }
    }

    func testGeluAndLayerNormAgainstScalarFormulas() {
        var rng = Xoshiro256(seed: 8)
        setComputeThreads(2)
        let n = 70_001
        let x = (0..<n).map { _ in (rng.nextFloat() - 0.5) * 12 }
        var y = [Float](repeating: 0, count: n), dy = [Float](repeating: 0, count: n)
        geluForward(&y, x, n, derivative: &dy)
        for i in stride(from: 0, to: n, by: 13) + [n - 1] {
            let xd = Double(x[i]), cdf = 0.5 * (1 + Foundation.erf(xd / 2.0.squareRoot()))
            XCTAssertEqual(Double(y[i]), xd * cdf, accuracy: 2e-6 * max(1, abs(xd)))
            XCTAssertEqual(Double(dy[i]), cdf + xd * Foundation.exp(-xd * xd / 2) / (2 * Double.pi).squareRoot(), accuracy: 2e-6 * max(1, abs(xd)))
        }
        let (M, C) = (301, 37)
        let inp = (0..<(M * C)).map { _ in rng.nextFloat() * 4 }, w = (0..<C).map { _ in rng.nextFloat() }, b = (0..<C).map { _ in rng.nextFloat() }
        var out = [Float](repeating: 0, count: M * C), mean = [Float](repeating: 0, count: M), rstd = mean
        layerNormForward(&out, &mean, &rstd, inp, w, b, M, C, eps: 1e-12)
        for m in [0, 150, 300] {
            let row = inp[(m * C)..<((m + 1) * C)].map(Double.init)
            let mu = row.reduce(0, +) / Double(C)
            let sd = (row.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / Double(C) + 1e-12).squareRoot()
            for c in 0..<C {
                XCTAssertEqual(Double(out[m * C + c]), (row[c] - mu) / sd * Double(w[c]) + Double(b[c]), accuracy: 1e-5)
            }
        }
    }

    func testFusedBiasPassesEqualTheSeparateOnes() {
        var rng = Xoshiro256(seed: 9)
        setComputeThreads(2)
        for (M, N) in [(300, 64), (33, 37)] {
            let x = (0..<(M * N)).map { _ in rng.nextFloat() * 6 - 3 }, bias = (0..<N).map { _ in rng.nextFloat() - 0.5 }
            let residual = (0..<(M * N)).map { _ in rng.nextFloat() }
            let biased = (0..<(M * N)).map { x[$0] + bias[$0 % N] }
            // GELU of x + bias, with its derivative written over the input.
            var fused = [Float](repeating: 0, count: M * N), separate = fused, derivative = x
            biasGeluForward(&fused, x, bias, M, N, derivative: &derivative)
            var expectedDerivative = biased
            geluForward(&separate, biased, M * N, derivative: &expectedDerivative)
            XCTAssertEqual(fused, separate)
            XCTAssertEqual(derivative, expectedDerivative)
            // dropout(x + bias) + residual.
            for p: Float in [0, 0.1] {
                var y = x
                dropoutResidualForward(&y, residual, M * N, p: p, seed: 4, bias: bias, width: N)
                var z = biased
                dropoutApply(&z, M * N, p: p, seed: 4)
                for i in 0..<(M * N) { z[i] += residual[i] }
                XCTAssertEqual(y, z, "p = \(p), \(M) x \(N)")
            }
        }
    }
}
