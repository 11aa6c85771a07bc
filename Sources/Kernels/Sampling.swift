// The generator's sampling step (no gradient: ELECTRA stops it): for each of P rows of V
// logits, the argmax and one draw from softmax(logits). Rows are independent and spread over
// the threads; the result depends only on the inputs, not on the thread count.

/// Floats of scratch `sampleForward` needs for a vocabulary of V: one row per thread.
public func samplingScratchCount(_ V: Int) -> Int { V * maxComputeThreads }

/// predictions[p] = the first argmax of row p; sampled[p] = a draw from softmax(row p).
/// With `gumbelNoise` (P, V), the draw is argmax(logits + noise) (Gumbel-max: with
/// Gumbel(0, 1) noise it draws exactly from the softmax). Otherwise it inverts the softmax's CDF
/// at `uniforms[p]` in [0, 1) (one uniform per row instead of V Gumbel draws), from the row's
/// exponentials recomputed in `scratch` (`samplingScratchCount(V)` floats).
public func sampleForward(_ predictions: UnsafeMutablePointer<Int32>, _ sampled: UnsafeMutablePointer<Int32>,
                          _ logits: UnsafePointer<Float>, _ P: Int, _ V: Int, uniforms: UnsafePointer<Double>?,
                          gumbelNoise: UnsafePointer<Float>?, scratch: FloatPointer) {
    precondition((uniforms == nil) != (gumbelNoise == nil), "sampleForward needs uniforms or Gumbel noise")
    parallelChunksIndexed(P, minimumPerThread: 8) { range, thread in
        for p in range {
            let row = logits + p * V
            let bestValue = vectorMax(row, V)
            var best = 0
            while row[best] != bestValue { best += 1 }
            predictions[p] = Int32(best)
            if let gumbelNoise {
                var bestNoisy = 0
                var bestNoisyValue = -Float.infinity
                for v in 0..<V where row[v] + gumbelNoise[p * V + v] > bestNoisyValue {
                    bestNoisyValue = row[v] + gumbelNoise[p * V + v]
                    bestNoisy = v
                }
                sampled[p] = Int32(bestNoisy)
            } else if let uniforms {
                let e = scratch + thread * V
                let mv = SIMD8<Float>(repeating: bestValue)
                map8(e, row, V) { exp8($0 - mv) }
                var total: Double = 0
                for v in 0..<V { total += Double(e[v]) }
                var target = uniforms[p] * total
                var choice = V - 1
                for v in 0..<V {
                    target -= Double(e[v])
                    if target < 0 { choice = v; break }
                }
                sampled[p] = Int32(choice)
            }
        }
    }
}
