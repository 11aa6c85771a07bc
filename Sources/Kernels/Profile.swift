// Optional per-kernel timing for the benchmark's breakdown (off unless a tool turns it on).
import Foundation

/// Seconds spent per kernel name while `enabled` (wall clock, summed over calls).
public enum KernelProfile {
    nonisolated(unsafe) public static var enabled = false
    nonisolated(unsafe) public static var seconds: [String: Double] = [:]
}

/// Runs `body`, adding its wall time to `KernelProfile.seconds[name]` when profiling is on.
@inline(__always)
public func timed<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
    if !KernelProfile.enabled { return try body() }
    let start = DispatchTime.now().uptimeNanoseconds
    defer { KernelProfile.seconds[name, default: 0] += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
    return try body()
}
