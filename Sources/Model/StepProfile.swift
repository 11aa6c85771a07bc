// Optional timing of a training step for bench-model's breakdown. The caller owns the profile
// and hands it to the model (`ElectraModel.profile`); with none, nothing is timed or written.
import Foundation

/// Wall time of a step's phases and of the kernels inside the encoders, summed over steps.
public final class StepProfile {
    /// Seconds per phase of the step (generator encoder forward, sampling, ...).
    public private(set) var phases: [String: Double] = [:]
    /// Seconds per kernel inside the encoders (both models together).
    public private(set) var kernels: [String: Double] = [:]
    private var lapStart: UInt64 = 0

    public init() {}

    /// Starts the clock of the first phase.
    func start() { lapStart = DispatchTime.now().uptimeNanoseconds }

    /// Adds the time since the last lap (or `start`) to `phase`.
    func lap(_ phase: String) {
        let now = DispatchTime.now().uptimeNanoseconds
        phases[phase, default: 0] += Double(now - lapStart) / 1e9
        lapStart = now
    }

    /// Runs `body`, adding its wall time to `kernel`.
    @inline(__always) func time(_ kernel: String, _ body: () -> Void) {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        kernels[kernel, default: 0] += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
}
