// Eight-lane element-wise math over raw pointers: loads/stores, exp, reductions. Only operations
// with a direct vector instruction on every x86-64 are used (no rounding or float-to-int
// conversions, which the baseline target would call libm for, lane by lane).
public typealias FloatPointer = UnsafeMutablePointer<Float>
public typealias Vector8 = SIMD8<Float>

@inline(__always) public func load8(_ p: UnsafePointer<Float>) -> Vector8 {
    UnsafeRawPointer(p).loadUnaligned(as: Vector8.self)
}

@inline(__always) public func store8(_ v: Vector8, _ p: FloatPointer) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vector8.self)
}

/// Loads `count` (< 8) floats, the other lanes `fill`.
@inline(__always) func loadPartial(_ p: UnsafePointer<Float>, _ count: Int, fill: Float = 0) -> Vector8 {
    var v = Vector8(repeating: fill)
    for j in 0..<count { v[j] = p[j] }
    return v
}

@inline(__always) func storePartial(_ v: Vector8, _ p: FloatPointer, _ count: Int) {
    for j in 0..<count { p[j] = v[j] }
}

/// x limited to [lo, hi] lane by lane. (Written with comparisons and blends: the standard
/// library's pointwiseMin/Max and clamped are not inlined and cost several times more.)
@inline(__always) public func clamp8(_ x: Vector8, _ lo: Float, _ hi: Float) -> Vector8 {
    let a = x.replacing(with: lo, where: x .< Vector8(repeating: lo))
    return a.replacing(with: hi, where: a .> Vector8(repeating: hi))
}

/// a · b + c lane by lane: one fused multiply-add (one rounding) in builds for AVX2+FMA
/// (ELECTRA_FMA, see Package.swift), a multiply and an add otherwise.
@inline(__always) public func muladd8(_ a: Vector8, _ b: Vector8, _ c: Vector8) -> Vector8 {
    #if ELECTRA_FMA
    return c.addingProduct(a, b)
    #else
    return a * b + c
    #endif
}

/// Largest of two vectors, lane by lane.
@inline(__always) public func max8(_ a: Vector8, _ b: Vector8) -> Vector8 { a.replacing(with: b, where: b .> a) }

/// e^x on eight lanes: Cody-Waite reduction x = n·ln2 + r, a degree-6 polynomial for e^r (the
/// Cephes coefficients), 2^n built in the exponent bits. Relative error about 2 ulp; inputs are
/// clamped to [-87.3, 88.3] (so e^x of a very negative x is about 1e-38, never NaN or inf).
@inline(__always) public func exp8(_ input: Vector8) -> Vector8 {
    let x0 = clamp8(input, -87.3, 88.3)
    // n = round(x / ln2), with the integer in the low mantissa bits of t (1.5·2^23 shift).
    let t = muladd8(x0, Vector8(repeating: 1.442_695_04), Vector8(repeating: 12_582_912))
    let n = t - 12_582_912
    var x = muladd8(n, Vector8(repeating: -0.693_359_375), x0)
    x = muladd8(n, Vector8(repeating: 2.121_944_4e-4), x)
    var p = Vector8(repeating: 1.987_569_15e-4)
    p = muladd8(p, x, Vector8(repeating: 1.398_199_95e-3))
    p = muladd8(p, x, Vector8(repeating: 8.333_451_9e-3))
    p = muladd8(p, x, Vector8(repeating: 4.166_579_59e-2))
    p = muladd8(p, x, Vector8(repeating: 1.666_666_55e-1))
    p = muladd8(p, x, Vector8(repeating: 5.000_000_1e-1))
    p = muladd8(p, x * x, x) + 1
    let ni = unsafeBitCast(t, to: SIMD8<Int32>.self) &- 0x4B40_0000
    let scale = unsafeBitCast((ni &+ 127) &<< 23, to: Vector8.self)
    return p * scale
}

/// Sum of `count` floats (eight partial sums, then the tail).
@inline(__always) public func vectorSum(_ x: UnsafePointer<Float>, _ count: Int) -> Float {
    var s = Vector8()
    var i = 0
    while i + 8 <= count { s += load8(x + i); i += 8 }
    var r = s.sum()
    while i < count { r += x[i]; i += 1 }
    return r
}

/// Dot product of `count` floats.
@inline(__always) public func vectorDot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
    var s = Vector8()
    var i = 0
    while i + 8 <= count { s += load8(a + i) * load8(b + i); i += 8 }
    var r = s.sum()
    while i < count { r += a[i] * b[i]; i += 1 }
    return r
}

/// Largest of `count` floats (-infinity for none).
@inline(__always) public func vectorMax(_ x: UnsafePointer<Float>, _ count: Int) -> Float {
    var m = Vector8(repeating: -.infinity)
    var i = 0
    while i + 8 <= count { m = max8(m, load8(x + i)); i += 8 }
    var r = m.max()
    while i < count { r = max(r, x[i]); i += 1 }
    return r
}

/// out[i] = f(x[i]) eight lanes at a time (out may alias x); the tail is padded with zeros.
@inline(__always) public func map8(_ out: FloatPointer, _ x: UnsafePointer<Float>, _ count: Int,
                                   _ f: (Vector8) -> Vector8) {
    var i = 0
    while i + 8 <= count { store8(f(load8(x + i)), out + i); i += 8 }
    if i < count { storePartial(f(loadPartial(x + i, count - i)), out + i, count - i) }
}
