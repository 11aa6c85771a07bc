// Matrix products: row-major cblas_sgemm, split over the compute threads.
import CBLAS
import Foundation

/// C[M,N] = alpha · op(A) · op(B) + beta · C, row-major, op(X) = Xᵀ when the flag is set
/// (A is [M,K] or, transposed, [K,M]; B is [K,N] or [N,K]). The product is split over the compute
/// threads by rows of C, or by its columns when C is wider than tall, at multiples of 16; each
/// piece is one single-threaded OpenBLAS call.
public func gemm(transA: Bool, transB: Bool, _ M: Int, _ N: Int, _ K: Int, alpha: Float = 1,
                 _ A: UnsafePointer<Float>, _ lda: Int, _ B: UnsafePointer<Float>, _ ldb: Int,
                 beta: Float, _ C: FloatPointer, _ ldc: Int) {
    _ = blasSingleThreaded
    if M == 0 || N == 0 { return }
    @inline(__always) func run(_ m0: Int, _ m1: Int, _ n0: Int, _ n1: Int) {
        if m1 <= m0 || n1 <= n0 { return }
        let a = transA ? A + m0 : A + m0 * lda
        let b = transB ? B + n0 * ldb : B + n0
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m1 - m0), Int32(n1 - n0), Int32(K), alpha, a, Int32(lda), b, Int32(ldb), beta,
                    C + m0 * ldc + n0, Int32(ldc))
    }
    // Long and thin (the weight gradients: K = B*L rows summed into a small matrix): split K,
    // each thread into its own partial result, added in thread order afterwards.
    if K >= 4 * max(M, N) && computeThreads > 1 && M * N * K >= 1 << 22 {
        let threads = min(computeThreads, K / 256)
        withSplitScratch(M * N * (threads - 1)) { partial in
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                let k0 = K * t / threads, k1 = K * (t + 1) / threads
                let a = transA ? A + k0 * lda : A + k0
                let b = transB ? B + k0 : B + k0 * ldb
                let c = t == 0 ? C : partial + (t - 1) * M * N
                cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                            Int32(M), Int32(N), Int32(k1 - k0), alpha, a, Int32(lda), b, Int32(ldb), t == 0 ? beta : 0,
                            c, Int32(t == 0 ? ldc : N))
            }
            // The partials summed row by row on all threads (at 16 threads and 256 rows, 64 rows
            // each kept it on four); every element adds them in thread order whatever the split.
            parallelChunks(M, minimumPerThread: max(1, 32_768 / ((threads - 1) * N))) { rows in
                for m in rows {
                    let row = C + m * ldc
                    for t in 1..<threads {
                        let p = partial + (t - 1) * M * N + m * N
                        var n = 0
                        while n + 8 <= N { store8(load8(row + n) + load8(p + n), row + n); n += 8 }
                        while n < N { row[n] += p[n]; n += 1 }
                    }
                }
            }
        }
        return
    }
    let byRows = M >= N
    let extent = byRows ? M : N
    // At least ~2M multiply-adds and 32 rows (or columns) per thread.
    let threads = min(computeThreads, max(1, min(M * N * K / (1 << 21), extent / 32)))
    if threads <= 1 { run(0, M, 0, N); return }
    DispatchQueue.concurrentPerform(iterations: threads) { t in
        @inline(__always) func bound(_ i: Int) -> Int { i == threads ? extent : (extent * i / threads + 8) / 16 * 16 }
        let lo = bound(t), hi = bound(t + 1)
        if byRows { run(lo, hi, 0, N) } else { run(0, M, lo, hi) }
    }
}

/// Partial results of K-split products: one buffer kept and grown as needed, held under a lock
/// for the length of a product (models used from several threads at once then take turns here).
nonisolated(unsafe) private var splitBuffer = UnsafeMutableBufferPointer<Float>(start: nil, count: 0)
private let splitLock = NSLock()

private func withSplitScratch(_ count: Int, _ body: (FloatPointer) -> Void) {
    splitLock.lock()
    defer { splitLock.unlock() }
    if splitBuffer.count < count {
        splitBuffer.deallocate()
        splitBuffer = .allocate(capacity: count)
    }
    body(splitBuffer.baseAddress!)
}

/// `gemm` on the calling thread only (inside work already spread over the threads).
@inline(__always)
public func gemmSingle(transA: Bool, transB: Bool, _ M: Int, _ N: Int, _ K: Int, alpha: Float = 1,
                       _ A: UnsafePointer<Float>, _ lda: Int, _ B: UnsafePointer<Float>, _ ldb: Int,
                       beta: Float, _ C: FloatPointer, _ ldc: Int) {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(M), Int32(N), Int32(K), alpha, A, Int32(lda), B, Int32(ldb), beta, C, Int32(ldc))
}
