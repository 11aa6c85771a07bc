// electra-dev bench-model --thread-sweep: the same training step at 1, 2, 4, ... threads, with
// the sgemm rate at each count, to show what scales and what does not.
import Foundation
import Kernels
import Masking
import Model
import Randomness

/// Times `steps` training steps of one model at each thread count in `counts`; prints tokens/s,
/// the speed-up over the first count, the step's GFLOP/s against sgemm's at the same count, and
/// (from one profiled step) the share of the step in the encoders' matrix products.
func runThreadSweep(preset: String, batchSize: Int, seqLength: Int, vocabSize: Int, steps: Int, counts: [Int]) throws {
    let bench = try BenchStepper(preset: preset, batchSize: batchSize, seqLength: seqLength, vocabSize: vocabSize)
    let model = bench.model, M = bench.tokensPerStep
    func step() { bench.step() }
    func seconds(_ body: () -> Void) -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    }
    print(String(format: "thread sweep: preset %@, batch %d x %d, %d timed steps per count, %d cores online",
                 preset, batchSize, seqLength, steps, ProcessInfo.processInfo.activeProcessorCount))
    print("threads  tokens/s  speed-up  step GFLOP/s  sgemm GFLOP/s  share of sgemm  products in step")
    var first: Double?
    for threads in counts {
        setComputeThreads(threads)
        step()  // warm-up at this count
        let perStep = seconds { for _ in 0..<steps { step() } } / Double(steps)
        let profile = StepProfile()
        model.profile = profile
        let profiled = seconds { step() }
        model.profile = nil
        let products = profile.kernels.filter { $0.key.hasPrefix("linear") }.values.reduce(0, +)
        let sgemm = blasReport(size: 2048, repeats: 2).sgemmGFLOPs
        let tokens = Double(M) / perStep
        let achieved = tokens * model.trainingFLOPsPerToken / 1e9
        first = first ?? tokens
        print(String(format: "%7d  %8.0f  %7.2fx  %12.1f  %13.1f  %13.0f%%  %15.0f%%",
                     threads, tokens, tokens / first!, achieved, sgemm, 100 * achieved / sgemm, 100 * products / profiled))
        fflush(stdout)
    }
}
