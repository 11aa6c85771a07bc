// Threading of the kernels. OpenBLAS always runs single-threaded: its idle worker threads spin
// (sched_yield) next to ours and, on a 2-core machine, took a quarter of the CPU. Matrix products
// are split over our threads instead (`gemm`), element-wise loops by `parallelChunks`, and
// independent items (attention heads) by `parallelItems`. Splits are fixed by the sizes and the
// thread count, never by timing, so results are reproducible.
import CBLAS
import Foundation

/// The most threads the kernels use (scratch buffers are sized for it).
public let maxComputeThreads = 32

/// Threads used by the kernels.
nonisolated(unsafe) public private(set) var computeThreads = 1

/// OpenBLAS pinned to one thread, once, before the first product.
let blasSingleThreaded: Bool = {
    openblas_set_num_threads(1)
    return true
}()

/// Sets the number of threads the kernels use.
public func setComputeThreads(_ count: Int) {
    _ = blasSingleThreaded
    computeThreads = min(max(1, count), maxComputeThreads)
}

/// Runs `body` over `0..<count` split into `computeThreads` contiguous chunks in parallel.
@inline(__always)
public func parallelChunks(_ count: Int, minimumPerThread: Int = 4096, _ body: (Range<Int>) -> Void) {
    parallelChunksIndexed(count, minimumPerThread: minimumPerThread) { range, _ in body(range) }
}

/// `parallelChunks` that also passes the chunk number (0..<threads used).
@inline(__always)
public func parallelChunksIndexed(_ count: Int, minimumPerThread: Int = 4096, _ body: (Range<Int>, Int) -> Void) {
    let threads = chunkThreads(count, minimumPerThread)
    if threads <= 1 { body(0..<count, 0); return }
    DispatchQueue.concurrentPerform(iterations: threads) { t in
        body((count * t / threads)..<(count * (t + 1) / threads), t)
    }
}

/// How many chunks `parallelChunks` uses for `count` items.
@inline(__always)
public func chunkThreads(_ count: Int, _ minimumPerThread: Int) -> Int {
    min(computeThreads, max(1, count / max(1, minimumPerThread)))
}

/// Runs independent items in parallel, item i on thread i % threads; `body` gets (item, thread).
public func parallelItems(_ count: Int, _ body: (Int, Int) -> Void) {
    _ = blasSingleThreaded
    let threads = min(computeThreads, count)
    if threads <= 1 { for i in 0..<count { body(i, 0) }; return }
    DispatchQueue.concurrentPerform(iterations: threads) { t in
        for i in stride(from: t, to: count, by: threads) { body(i, t) }
    }
}
