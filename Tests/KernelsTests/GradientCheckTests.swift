// Finite-difference checks of every kernel's backward pass on random inputs: the scalar
// loss Σ out·R (R fixed random) is differentiated numerically (central differences, in the
// kernels' float32) and compared with what the backward kernel accumulates.
import Kernels
import Randomness
import XCTest

final class GradientCheckTests: XCTestCase {
    var rng = Xoshiro256(seed: 42)

    func random(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in (rng.nextFloat() * 2 - 1) * scale } }

    /// Compares `analytic` with central differences of `loss` with respect to `x`.
    func check(_ name: String, _ x: inout [Float], analytic: [Float], eps: Float = 1e-2, tolerance: Float = 2e-2,
               _ loss: ([Float]) -> Float, file: StaticString = #filePath, line: UInt = #line) {
        var worst: Float = 0
        for i in 0..<x.count {
            let saved = x[i]
            x[i] = saved + eps; let up = loss(x)
            x[i] = saved - eps; let down = loss(x)
            x[i] = saved
            let numeric = (up - down) / (2 * eps)
            let err = abs(numeric - analytic[i]) / max(1, abs(numeric))
            worst = max(worst, err)
        }
        XCTAssertLessThan(worst, tolerance, "\(name): worst relative error \(worst)", file: file, line: line)
    }

    func dot(_ a: UnsafeMutablePointer<Float>, _ r: [Float]) -> Float {
        var s: Float = 0
        for i in 0..<r.count { s += a[i] * r[i] }
        return s
    }

    func testLinear() {
        let (M, C, N) = (3, 5, 4)
        var inp = random(M * C), w = random(N * C), b = random(N)
        let r = random(M * N)
        func loss(_ i: [Float], _ w: [Float], _ b: [Float]) -> Float {
            var out = [Float](repeating: 0, count: M * N), i = i, w = w, b = b
            linearForward(&out, &i, &w, &b, M, C, N)
            return zip(out, r).map(*).reduce(0, +)
        }
        var di = [Float](repeating: 0, count: M * C), dw = [Float](repeating: 0, count: N * C), db = [Float](repeating: 0, count: N)
        var dout = r
        linearBackward(&di, &dw, &db, &dout, &inp, &w, M, C, N)
        check("linear dinp", &inp, analytic: di) { loss($0, w, b) }
        check("linear dweight", &w, analytic: dw) { loss(inp, $0, b) }
        check("linear dbias", &b, analytic: db) { loss(inp, w, $0) }
    }

    func testLayerNormAndGelu() {
        let (M, C) = (3, 6)
        var x = random(M * C, scale: 2), w = random(C), b = random(C)
        let r = random(M * C)
        func ln(_ x: [Float], _ w: [Float], _ b: [Float]) -> Float {
            var out = [Float](repeating: 0, count: M * C), mean = [Float](repeating: 0, count: M), rstd = mean
            var x = x, w = w, b = b
            layerNormForward(&out, &mean, &rstd, &x, &w, &b, M, C, eps: 1e-5)
            return zip(out, r).map(*).reduce(0, +)
        }
        var out = [Float](repeating: 0, count: M * C), mean = [Float](repeating: 0, count: M), rstd = mean
        layerNormForward(&out, &mean, &rstd, &x, &w, &b, M, C, eps: 1e-5)
        var dx = [Float](repeating: 0, count: M * C), dw = [Float](repeating: 0, count: C), db = dw, dout = r
        layerNormBackward(&dx, &dw, &db, &dout, &x, &w, &mean, &rstd, M, C)
        check("layernorm dinp", &x, analytic: dx, eps: 1e-2, tolerance: 3e-2) { ln($0, w, b) }
        check("layernorm dweight", &w, analytic: dw) { ln(x, $0, b) }
        check("layernorm dbias", &b, analytic: db) { ln(x, w, $0) }

        var g = random(20, scale: 3)
        let geluDout = random(20)
        // The backward as the model runs it: gelu' saved by the forward, then dg = dout · gelu'.
        var dg = geluDout, derivative = [Float](repeating: 0, count: 20), gelu = derivative
        geluForward(&gelu, &g, 20, derivative: &derivative)
        geluBackwardSaved(&dg, geluDout, derivative, 20)
        check("gelu", &g, analytic: dg) { x in
            var o = [Float](repeating: 0, count: 20), x = x
            geluForward(&o, &x, 20)
            return zip(o, geluDout).map(*).reduce(0, +)
        }
    }

    func testAttentionWithPaddingAndDropout() {
        let (B, L, H, NH) = (2, 4, 6, 2)
        var q = random(B * L * H), k = random(B * L * H), v = random(B * L * H)
        let attention: [Int32] = [1, 1, 1, 1, 1, 1, 0, 0]
        let r = random(B * L * H)
        var scratch = [Float](repeating: 0, count: attentionScratchCount(L))
        for (p, seed) in [(Float(0), UInt64(0)), (0.3, 7)] {
            func loss(_ q: [Float], _ k: [Float], _ v: [Float]) -> Float {
                var ctx = [Float](repeating: 0, count: B * L * H), probs = [Float](repeating: 0, count: B * NH * L * L)
                attentionForward(&ctx, &probs, q, k, v, ld: H, attention, B, L, H, NH, dropout: p, seed: seed, scratch: &scratch)
                return zip(ctx, r).map(*).reduce(0, +)
            }
            var ctx = [Float](repeating: 0, count: B * L * H), probs = [Float](repeating: 0, count: B * NH * L * L)
            attentionForward(&ctx, &probs, q, k, v, ld: H, attention, B, L, H, NH, dropout: p, seed: seed, scratch: &scratch)
            var dq = [Float](repeating: 0, count: B * L * H), dk = dq, dv = dq
            attentionBackward(&dq, &dk, &dv, r, probs, q, k, v, ld: H, B, L, H, NH, dropout: p, seed: seed, scratch: &scratch)
            check("attention dq p=\(p)", &q, analytic: dq) { loss($0, k, v) }
            check("attention dk p=\(p)", &k, analytic: dk) { loss(q, $0, v) }
            check("attention dv p=\(p)", &v, analytic: dv) { loss(q, k, $0) }
            // Padded keys get no attention; rows sum to one.
            for h in 0..<NH {
                for i in 0..<L {
                    XCTAssertEqual(probs[((1 * NH + h) * L + i) * L + 3], 0)
                    XCTAssertEqual(probs[((1 * NH + h) * L + i) * L ..< ((1 * NH + h) * L + i + 1) * L].reduce(0, +), 1, accuracy: 1e-6)
                }
            }
        }
    }

    func testAttentionDropoutUsesTheMaskOfDropoutScales() {
        // ctx = (P · mask) v and dv = (P · mask)ᵀ dctx, with P the saved probabilities and the mask
        // dropoutScales gives over the [B, NH, L, L] tensor: with L 8 every row starts on a multiple
        // of 4 elements, with L 6 every other row does not, with L 5 neither rows nor items do.
        for L in [8, 6, 5] {
            let (B, H, NH, p, seed) = (2, 4, 2, Float(0.3), UInt64(11))
            let D = H / NH
            let q = random(B * L * H), k = random(B * L * H), v = random(B * L * H), dctx = random(B * L * H)
            let attention = [Int32](repeating: 1, count: B * L)
            var scratch = [Float](repeating: 0, count: attentionScratchCount(L))
            var ctx = [Float](repeating: 0, count: B * L * H), probs = [Float](repeating: 0, count: B * NH * L * L)
            attentionForward(&ctx, &probs, q, k, v, ld: H, attention, B, L, H, NH, dropout: p, seed: seed, scratch: &scratch)
            var dq = [Float](repeating: 0, count: B * L * H), dk = dq, dv = dq
            attentionBackward(&dq, &dk, &dv, dctx, probs, q, k, v, ld: H, B, L, H, NH, dropout: p, seed: seed, scratch: &scratch)
            var mask = [Float](repeating: 0, count: B * NH * L * L)
            dropoutScales(&mask, start: 0, count: mask.count, p: p, seed: seed)
            XCTAssertTrue(mask.contains(0), "L \(L): some element dropped")
            for b in 0..<B {
                for h in 0..<NH {
                    let item = (b * NH + h) * L * L
                    for i in 0..<L {
                        for d in 0..<D {
                            var c: Float = 0, g: Float = 0
                            for j in 0..<L {
                                c += probs[item + i * L + j] * mask[item + i * L + j] * v[(b * L + j) * H + h * D + d]
                                g += probs[item + j * L + i] * mask[item + j * L + i] * dctx[(b * L + j) * H + h * D + d]
                            }
                            XCTAssertEqual(ctx[(b * L + i) * H + h * D + d], c, accuracy: 1e-5, "L \(L) ctx")
                            XCTAssertEqual(dv[(b * L + i) * H + h * D + d], g, accuracy: 1e-5, "L \(L) dv")
                        }
                    }
                }
            }
        }
    }

    func testLossesAndEmbeddings() {
        let (P, V) = (3, 7)
        var logits = random(P * V, scale: 2)
        let targets: [Int32] = [1, 6, 0], weights: [Float] = [1, 0.5, 0]
        var dl = [Float](repeating: 0, count: P * V)
        _ = softmaxCrossEntropy(&dl, &logits, targets, weights, P, V)
        check("softmax cross-entropy", &logits, analytic: dl, eps: 1e-3) { x in
            var x = x
            return softmaxCrossEntropy(nil, &x, targets, weights, P, V)
        }
        var x = random(6, scale: 3)
        let labels: [Float] = [1, 0, 1, 0, 1, 1], mask: [Float] = [1, 1, 1, 1, 0, 1]
        var dx = [Float](repeating: 0, count: 6)
        _ = sigmoidCrossEntropy(&dx, &x, labels, mask, 6, dloss: 50)
        check("sigmoid cross-entropy", &x, analytic: dx, eps: 1e-3) { x in
            var x = x
            return 50 * sigmoidCrossEntropy(nil, &x, labels, mask, 6)
        }
        let (B, L, E) = (2, 3, 4)
        let ids: [Int32] = [0, 2, 2, 1, 0, 3], seg: [Int32] = [0, 0, 1, 0, 1, 1]
        var word = random(4 * E), pos = random(L * E), typ = random(2 * E)
        let r = random(B * L * E)
        var dword = [Float](repeating: 0, count: 4 * E), dpos = [Float](repeating: 0, count: L * E), dtyp = [Float](repeating: 0, count: 2 * E)
        var dout = r
        embeddingBackward(&dword, &dpos, &dtyp, &dout, ids, seg, B, L, E)
        check("embedding word", &word, analytic: dword) { w in
            var o = [Float](repeating: 0, count: B * L * E), w = w
            embeddingForward(&o, ids, seg, &w, &pos, &typ, B, L, E)
            return zip(o, r).map(*).reduce(0, +)
        }
    }
}
