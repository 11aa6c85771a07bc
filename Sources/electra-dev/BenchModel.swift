// electra-dev bench-model: times full training steps (forward, backward, AdamW) of a preset on
// random data, and cblas_sgemm on 2048 x 2048, to report tokens/s and achieved GFLOP/s.
import ArgumentParser
import Foundation
import Kernels
import Masking
import Model
import Randomness

struct BenchModel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-model",
        abstract: "Time training steps of a model preset on random data (tokens/s, GFLOP/s).")

    @Option(help: "Model size.") var preset = "small"
    @Option(help: "Sequences per batch.") var batchSize = 32
    @Option(help: "Sequence length.") var seqLength = 128
    @Option(help: "Vocabulary size.") var vocabSize = 30_522
    @Option(help: "Timed steps (after one warm-up step).") var steps = 3
    @Option(help: "Threads for matrix products.") var threads = 2
    @Flag(help: "Time the encoder's matrix products alone (forward, input gradient, weight gradient) instead.")
    var products = false
    @Flag(help: "Print the OpenBLAS kernel in use and the sgemm rate at --threads, and stop.") var blasOnly = false
    @Option(help: ArgumentHelp("With --thread-sweep: the thread counts, comma-separated.", valueName: "list"))
    var sweepThreads = "1,2,4,8,16"
    @Flag(help: "Time the step at each of --sweep-threads (tokens/s, share of sgemm) instead of at --threads.")
    var threadSweep = false

    func run() throws {
        setComputeThreads(threads)
        print(blasReport().summary)
        if blasOnly { return }
        if products { return timeProducts() }
        if threadSweep {
            let counts = sweepThreads.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !counts.isEmpty, counts.allSatisfy({ $0 >= 1 && $0 <= maxComputeThreads }) else {
                throw ValidationError("--sweep-threads: thread counts from 1 to \(maxComputeThreads), comma-separated (got \(sweepThreads))")
            }
            return try runThreadSweep(preset: preset, batchSize: batchSize, seqLength: seqLength, vocabSize: vocabSize, steps: steps, counts: counts)
        }
        let bench = try BenchStepper(preset: preset, batchSize: batchSize, seqLength: seqLength, vocabSize: vocabSize)
        let model = bench.model, M = bench.tokensPerStep
        func step() { bench.step() }
        step()
        let profile = StepProfile()
        model.profile = profile
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<steps { step() }
        model.profile = nil
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(steps)
        let tokens = Double(M)
        let flopsPerToken = model.trainingFLOPsPerToken
        // sgemm reference on 2048 x 2048.
        let n = 2048
        let a = [Float](repeating: 0.5, count: n * n), b = [Float](repeating: 0.25, count: n * n)
        var c = [Float](repeating: 0, count: n * n)
        var best = Double.infinity
        for _ in 0..<3 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                linearForward(cp.baseAddress!, UnsafeMutablePointer(mutating: ap.baseAddress!), UnsafeMutablePointer(mutating: bp.baseAddress!), nil, n, n, n)
            } } }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        let sgemm = 2 * Double(n * n * n) / best / 1e9
        let achieved = tokens * flopsPerToken / seconds / 1e9
        print(String(format: "ours: preset %@, batch %d x %d, %d threads: %.3f s/step, %.0f tokens/s, %.1f MFLOP/token, %.1f GFLOP/s (%.0f%% of sgemm %.1f GFLOP/s)",
                     preset, batchSize, seqLength, threads, seconds, tokens / seconds, flopsPerToken / 1e6, achieved,
                     100 * achieved / sgemm, sgemm))
        if let hwm = peakResidentMegabytes() { print(String(format: "peak RSS %.0f MB", hwm)) }
        let phases = profile.phases.sorted { $0.value > $1.value }, kernels = profile.kernels.sorted { $0.value > $1.value }
        let total = phases.map(\.value).reduce(0, +)
        for (title, rows) in [("phases:", phases), ("kernels inside the encoders (both models):", kernels)] {
            print(title)
            for (name, v) in rows {
                print("  " + name.padding(toLength: 32, withPad: " ", startingAt: 0)
                      + String(format: "%6.1f%%  %.3f s/step", 100 * v / max(total, 1e-9), v / Double(steps)))
            }
        }
    }

    /// GFLOP/s of the discriminator layer's products at this batch (ELECTRA-Small shapes by default).
    func timeProducts() {
        guard let config = ElectraConfig.preset(preset, vocabSize: vocabSize) else { return }
        let M = batchSize * seqLength, H = config.hiddenSize, F = config.intermediateSize
        let buffer = { (n: Int) -> UnsafeMutablePointer<Float> in
            let p = UnsafeMutablePointer<Float>.allocate(capacity: n)
            for i in 0..<n { p[i] = Float(i % 7) * 0.01 }
            return p
        }
        for (name, C, N) in [("q|k|v", H, 3 * H), ("attention output", H, H), ("intermediate", H, F), ("output", F, H)] {
            let x = buffer(M * C), w = buffer(N * C), y = buffer(M * N), dw = buffer(N * C), dx = buffer(M * C), b = buffer(N)
            func time(_ flops: Double, _ body: () -> Void) -> Double {
                body()
                var best = Double.infinity
                for _ in 0..<5 {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    body()
                    best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
                }
                return flops / best / 1e9
            }
            let flops = 2 * Double(M * N * C)
            let forward = time(flops) { linearForward(y, x, w, b, M, C, N) }
            let both = time(2 * flops) { linearBackward(dx, dw, nil, y, x, w, M, C, N, overwrite: true) }
            let weight = time(flops) { linearBackward(nil, dw, nil, y, x, w, M, C, N) }
            print(String(format: "%-18@ [%d x %d] x [%d x %d]: forward %.1f GFLOP/s, weight gradient %.1f GFLOP/s, input + weight gradients %.1f GFLOP/s",
                         name, M, C, C, N, forward, weight, both))
        }
    }
}

/// This process's peak resident set (VmHWM of /proc/self/status, in MB); unlike getrusage's
/// ru_maxrss it does not include what a parent held before exec.
func peakResidentMegabytes() -> Double? {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
    return kb / 1024
}
