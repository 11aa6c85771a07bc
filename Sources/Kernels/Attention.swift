// Multi-head self-attention with the padding mask and attention-probability dropout, one
// (sequence, head) item at a time: two single-threaded products and a vectorized softmax per
// item, items spread over the threads. q, k and v are column blocks of rows `ld` floats apart
// (the fused q|k|v projection has ld = 3H).

/// Floats of scratch the attention kernels need for sequence length L.
public func attentionScratchCount(_ L: Int) -> Int { scratchPerThread(L) * maxComputeThreads }

/// One thread's scratch: two L x L blocks (dP, dropped probabilities) and two key rows. The
/// dropout mask is never stored: its scales are computed in the passes that use them.
@inline(__always) func scratchPerThread(_ L: Int) -> Int { 2 * L * L + 2 * L }

/// ctx[B*L, H] from q, k, v with NH heads of size D = H/NH; the softmax probabilities (before
/// dropout) are saved in probs[B,NH,L,L]. Keys where `attention[b*L + j] == 0` (padding) get
/// probability 0. With p > 0 the probabilities are dropped out after the softmax as in BERT,
/// with the mask of (p, seed) over the [B,NH,L,L] tensor (its element 0 at `dropoutOffset` of
/// the whole batch's), and ctx uses the dropped ones.
public func attentionForward(_ ctx: FloatPointer, _ probs: FloatPointer,
                             _ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>, ld: Int,
                             _ attention: UnsafePointer<Int32>, _ B: Int, _ L: Int, _ H: Int, _ NH: Int,
                             dropout p: Float = 0, seed: UInt64 = 0, dropoutOffset: Int = 0, scratch: FloatPointer) {
    let D = H / NH
    let scale = 1 / Float(D).squareRoot()
    parallelItems(B * NH) { item, thread in
        let b = item / NH, h = item % NH
        let P = probs + item * L * L
        let work = scratch + thread * scratchPerThread(L)
        let keys = work + 2 * L * L, keyBias = keys + L
        for j in 0..<L {
            keys[j] = attention[b * L + j] != 0 ? 1 : 0
            keyBias[j] = attention[b * L + j] != 0 ? 0 : -.infinity
        }
        let off = b * L * ld + h * D
        gemmSingle(transA: false, transB: true, L, L, D, alpha: scale, q + off, ld, k + off, ld, beta: 0, P, L)
        var used = UnsafePointer(P)
        if p > 0 {
            let dropped = work
            let rule = DropoutMask(p: p, seed: seed), start = dropoutOffset + item * L * L
            for i in 0..<L { softmaxRow(P + i * L, keys, keyBias, L, dropout: (rule, start + i * L), dropped: dropped + i * L) }
            used = UnsafePointer(dropped)
        } else {
            for i in 0..<L { softmaxRow(P + i * L, keys, keyBias, L, dropout: nil, dropped: nil) }
        }
        gemmSingle(transA: false, transB: false, L, D, L, used, L, v + off, ld, beta: 0, ctx + b * L * H + h * D, H)
    }
}

/// Backward of `attentionForward` (same probs, p and seed); WRITES dq, dk, dv (each block once),
/// which share the layout of q, k, v (rows `ld` apart).
public func attentionBackward(_ dq: FloatPointer, _ dk: FloatPointer, _ dv: FloatPointer,
                              _ dctx: UnsafePointer<Float>, _ probs: UnsafePointer<Float>,
                              _ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>, ld: Int,
                              _ B: Int, _ L: Int, _ H: Int, _ NH: Int,
                              dropout p: Float = 0, seed: UInt64 = 0, dropoutOffset: Int = 0, scratch: FloatPointer) {
    let D = H / NH
    let scale = 1 / Float(D).squareRoot()
    parallelItems(B * NH) { item, thread in
        let b = item / NH, h = item % NH
        let P = probs + item * L * L
        let work = scratch + thread * scratchPerThread(L)
        let dP = work, dropped = work + L * L
        let off = b * L * ld + h * D, ctxOff = b * L * H + h * D
        // dP = dctx · vᵀ ; dv = P_usedᵀ · dctx
        gemmSingle(transA: false, transB: true, L, L, D, dctx + ctxOff, H, v + off, ld, beta: 0, dP, L)
        var used = P
        if p > 0 {
            // dropped = P · mask and dP = dP · mask in one pass, the mask computed in it.
            let rule = DropoutMask(p: p, seed: seed), start = dropoutOffset + item * L * L
            let head = min(rule.unalignedHead(start), L * L)
            for e in 0..<head { let s = rule.scale(start + e); dropped[e] = P[e] * s; dP[e] *= s }
            var e = head
            while e + 8 <= L * L {
                let s = rule.scales8(start + e)
                store8(load8(P + e) * s, dropped + e)
                store8(load8(dP + e) * s, dP + e)
                e += 8
            }
            while e < L * L { let s = rule.scale(start + e); dropped[e] = P[e] * s; dP[e] *= s; e += 1 }
            used = UnsafePointer(dropped)
        }
        gemmSingle(transA: true, transB: false, L, D, L, used, L, dctx + ctxOff, H, beta: 0, dv + off, ld)
        // Softmax backward per row, with the scale of the scores folded in.
        let sv = Vector8(repeating: scale)
        for i in 0..<L {
            let row = P + i * L, drow = dP + i * L
            let dot = Vector8(repeating: vectorDot(row, drow, L))
            var j = 0
            while j + 8 <= L { store8(load8(row + j) * (load8(drow + j) - dot) * sv, drow + j); j += 8 }
            while j < L { drow[j] = row[j] * (drow[j] - dot[0]) * scale; j += 1 }
        }
        // dq = dS · k ; dk = dSᵀ · q
        gemmSingle(transA: false, transB: false, L, D, L, dP, L, k + off, ld, beta: 0, dq + off, ld)
        gemmSingle(transA: true, transB: false, L, D, L, dP, L, q + off, ld, beta: 0, dk + off, ld)
    }
}

/// In place: row = softmax(row) over the keys with keys[j] == 1 (keyBias[j] 0, else -inf); the
/// others get 0. With `dropout` (the mask and the index of the row's first element in it),
/// dropped = row · mask is written in the same pass.
@inline(__always) func softmaxRow(_ row: FloatPointer, _ keys: UnsafePointer<Float>, _ keyBias: UnsafePointer<Float>,
                                  _ L: Int, dropout: (rule: DropoutMask, first: Int)?, dropped: FloatPointer?) {
    var mv = Vector8(repeating: -.infinity)
    var j = 0
    while j + 8 <= L { mv = max8(mv, load8(row + j) + load8(keyBias + j)); j += 8 }
    var m = mv.max()
    while j < L { m = max(m, row[j] + keyBias[j]); j += 1 }
    if m == -.infinity {
        row.update(repeating: 0, count: L)
        dropped?.update(repeating: 0, count: L)
        return
    }
    mv = Vector8(repeating: m)
    var acc = Vector8()
    j = 0
    while j + 8 <= L {
        let e = exp8(load8(row + j) - mv) * load8(keys + j)
        store8(e, row + j)
        acc += e
        j += 8
    }
    var sum = acc.sum()
    while j < L { let e = keys[j] != 0 ? expf1(row[j] - m) : 0; row[j] = e; sum += e; j += 1 }
    let inv = Vector8(repeating: 1 / sum)
    j = 0
    if let (rule, first) = dropout, let dropped {
        let head = min(rule.unalignedHead(first), L)
        while j < head { row[j] *= inv[0]; dropped[j] = row[j] * rule.scale(first + j); j += 1 }
        while j + 8 <= L {
            let p = load8(row + j) * inv
            store8(p, row + j)
            store8(p * rule.scales8(first + j), dropped + j)
            j += 8
        }
        while j < L { row[j] *= inv[0]; dropped[j] = row[j] * rule.scale(first + j); j += 1 }
    } else {
        while j + 8 <= L { store8(load8(row + j) * inv, row + j); j += 8 }
        while j < L { row[j] *= inv[0]; j += 1 }
    }
}

/// e^x of one float through the eight-lane routine (the same values as the vector body).
@inline(__always) func expf1(_ x: Float) -> Float { exp8(Vector8(repeating: x))[0] }
