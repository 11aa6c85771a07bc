// The CPU's features (CPUID) and the OpenBLAS kernel chosen from them. OpenBLAS's dynamic-arch
// build picks its kernel from the CPU model number, once, when the library loads; a model it does
// not know (common on cloud and virtual machines) falls back to a slow kernel (measured: its
// Cooperlake kernel at a quarter of SkylakeX's speed on an Emerald Rapids Xeon). The executables
// call `selectBLASKernelAtStart()` first: it decides from the feature flags, and when OpenBLAS
// loaded another kernel it sets OPENBLAS_CORETYPE and runs the program again (same arguments),
// which is the only moment OpenBLAS reads it. A user's own OPENBLAS_CORETYPE is kept.
import CBLAS
import CCPUFeatures
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Instruction-set features of the running CPU that the operating system enables.
public struct CPUFeatures: OptionSet, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let sse3 = CPUFeatures(rawValue: UInt32(ELECTRA_CPU_SSE3))
    public static let ssse3 = CPUFeatures(rawValue: UInt32(ELECTRA_CPU_SSSE3))
    public static let sse41 = CPUFeatures(rawValue: UInt32(ELECTRA_CPU_SSE41))
    public static let sse42 = CPUFeatures(rawValue: UInt32(ELECTRA_CPU_SSE42))
    public static let popcnt = CPUFeatures(rawValue: UInt32(ELECTRA_CPU_POPCNT))
    public static let avx = CPUFeatures(rawValue: UInt32(ELECTRA_CPU_AVX))
    public static let f16c = CPUFeatures(rawValue: UInt32(ELECTRA_CPU_F16C))
    public static let fma = CPUFeatures(rawValue: UInt32(ELECTRA_CPU_FMA))
    public static let movbe = CPUFeatures(rawValue: UInt32(ELECTRA_CPU_MOVBE))
    public static let avx2 = CPUFeatures(rawValue: UInt32(ELECTRA_CPU_AVX2))
    public static let bmi1 = CPUFeatures(rawValue: UInt32(ELECTRA_CPU_BMI1))
    public static let bmi2 = CPUFeatures(rawValue: UInt32(ELECTRA_CPU_BMI2))
    public static let lzcnt = CPUFeatures(rawValue: UInt32(ELECTRA_CPU_LZCNT))
    public static let avx512f = CPUFeatures(rawValue: UInt32(ELECTRA_CPU_AVX512F))
    public static let avx512dq = CPUFeatures(rawValue: UInt32(ELECTRA_CPU_AVX512DQ))
    public static let avx512bw = CPUFeatures(rawValue: UInt32(ELECTRA_CPU_AVX512BW))
    public static let avx512vl = CPUFeatures(rawValue: UInt32(ELECTRA_CPU_AVX512VL))
    public static let avx512bf16 = CPUFeatures(rawValue: UInt32(ELECTRA_CPU_AVX512BF16))
    public static let amxTile = CPUFeatures(rawValue: UInt32(ELECTRA_CPU_AMX_TILE))

    /// The running CPU's features.
    public static var host: CPUFeatures { CPUFeatures(rawValue: electra_cpu_features()) }

    /// What this build's Swift code was compiled to use (checked at load by CCPUFeatures).
    public static var required: CPUFeatures { CPUFeatures(rawValue: electra_cpu_required_features()) }

    static let names: [(CPUFeatures, String)] = [
        (.sse3, "SSE3"), (.ssse3, "SSSE3"), (.sse41, "SSE4.1"), (.sse42, "SSE4.2"), (.popcnt, "POPCNT"),
        (.avx, "AVX"), (.f16c, "F16C"), (.fma, "FMA"), (.movbe, "MOVBE"), (.avx2, "AVX2"), (.bmi1, "BMI1"),
        (.bmi2, "BMI2"), (.lzcnt, "LZCNT"), (.avx512f, "AVX512F"), (.avx512dq, "AVX512DQ"),
        (.avx512bw, "AVX512BW"), (.avx512vl, "AVX512VL"), (.avx512bf16, "AVX512-BF16"), (.amxTile, "AMX-TILE"),
    ]

    /// The features by name, space-separated ("SSE3 ... AVX2 ...").
    public var description: String { Self.names.filter { contains($0.0) }.map(\.1).joined(separator: " ") }

    /// The widest vector level in a few words ("AVX-512", "AVX2+FMA", "AVX", "SSE").
    public var level: String {
        if contains([.avx512f, .avx512bw, .avx512vl, .avx512dq]) { return "AVX-512" }
        if contains([.avx2, .fma]) { return "AVX2+FMA" }
        if contains(.avx) { return "AVX" }
        return "SSE"
    }
}

/// The OpenBLAS 0.3.21 core type (an OPENBLAS_CORETYPE value) for a set of features, nil where
/// OpenBLAS has no x86-64 kernel to choose (another architecture). AVX-512 F/BW/VL/DQ: SkylakeX,
/// also with BF16 (its Cooperlake kernel was four times slower on an Emerald Rapids Xeon, and no
/// faster on Zen 4); AVX2 + FMA: Haswell; AVX: Sandybridge; SSE4.2: Nehalem; else Prescott.
public func openBLASCore(for features: CPUFeatures) -> String? {
    if features.isEmpty { return nil }
    switch features.level {
    case "AVX-512": return "SkylakeX"
    case "AVX2+FMA": return "Haswell"
    case "AVX": return "Sandybridge"
    default: return features.contains([.ssse3, .sse41, .sse42]) ? "Nehalem" : "Prescott"
    }
}

/// The CPU's vendor, family/model and brand string ("GenuineIntel 6/207 INTEL(R) XEON(R) ...").
public func cpuIdentity() -> String {
    var vendor = [CChar](repeating: 0, count: 13), brand = [CChar](repeating: 0, count: 49)
    var family: UInt32 = 0, model: UInt32 = 0
    electra_cpu_identity(&vendor, &family, &model, &brand)
    let v = String(cString: vendor), b = String(cString: brand).trimmingCharacters(in: .whitespaces)
    return "\(v) family \(family) model \(model)" + (b.isEmpty ? "" : ", \(b)")
}

/// The kernel OpenBLAS runs ("Haswell", "SkylakeX", ...), as it names it.
public func openBLASCoreInUse() -> String { String(cString: openblas_get_corename()) }

/// Who chose the OpenBLAS kernel of this process.
public enum BLASKernelSource: String, Sendable {
    case user = "OPENBLAS_CORETYPE set by the user"
    case features = "chosen from the CPU features"
    case openBLAS = "OpenBLAS's own choice, which the CPU features agree with"
    case openBLASOnly = "OpenBLAS's own choice (no choice from the CPU features)"
    case reexecFailed = "OpenBLAS's own choice (restarting with the feature choice failed)"
}

/// Set by `selectBLASKernelAtStart` in the process it starts again, so it never loops.
let reexecMarker = "ELECTRA_BLAS_CORE_CHOSEN"
nonisolated(unsafe) private var kernelSource = BLASKernelSource.openBLASOnly

/// Makes OpenBLAS run the kernel the CPU features call for. Call it first thing in main, before
/// any thread starts: when OpenBLAS loaded another kernel and OPENBLAS_CORETYPE is not set, it sets
/// it and replaces the process with the same program and arguments (execv of the program's own
/// file, `restartExecutablePath()`), and returns only when no restart is needed (or the restart
/// failed).
public func selectBLASKernelAtStart() {
    if getenv(reexecMarker) != nil {
        // The restarted process: OpenBLAS has read OPENBLAS_CORETYPE; children inherit the choice.
        unsetenv(reexecMarker)
        kernelSource = .features
        return
    }
    if let user = getenv("OPENBLAS_CORETYPE"), user.pointee != 0 { kernelSource = .user; return }
    guard let wanted = openBLASCore(for: .host) else { kernelSource = .openBLASOnly; return }
    if openBLASCoreInUse().caseInsensitiveCompare(wanted) == .orderedSame { kernelSource = .openBLAS; return }
    #if os(Linux)
    setenv("OPENBLAS_CORETYPE", wanted, 1)
    setenv(reexecMarker, "1", 1)
    let program = restartExecutablePath()
    execv(program, CommandLine.unsafeArgv)
    if program != "/proc/self/exe" { execv("/proc/self/exe", CommandLine.unsafeArgv) }
    // Only reached when execv failed: carry on with the kernel loaded.
    unsetenv("OPENBLAS_CORETYPE")
    unsetenv(reexecMarker)
    #endif
    kernelSource = .reexecFailed
}

/// The file to exec to restart this program: the real path /proc/self/exe points to, so that the
/// restarted process keeps the binary's name (the kernel names a process after the file exec'd:
/// exec'ing /proc/self/exe itself made it "exe", and `pgrep electra-train` found nothing);
/// /proc/self/exe when the link cannot be read or its file is gone (rebuilt while running).
public func restartExecutablePath() -> String {
    #if os(Linux)
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard n > 0 else { return "/proc/self/exe" }
    let path = String(cString: buffer)
    guard access(path, X_OK) == 0 else { return "/proc/self/exe" }   // "... (deleted)"
    return path
    #else
    return CommandLine.arguments[0]
    #endif
}

/// The kernel in use, why, and the matrix-product rate measured with it.
public struct BLASReport: Sendable {
    public var core: String
    public var source: BLASKernelSource
    public var features: CPUFeatures
    public var threads: Int
    /// GFLOP/s of `gemm` on n x n x n at `threads` threads (best of a few).
    public var sgemmGFLOPs: Double
    public var size: Int

    /// One line: "OpenBLAS kernel SkylakeX (chosen from the CPU features: AVX-512), sgemm 996 GFLOP/s at 16 threads".
    public var summary: String {
        String(format: "OpenBLAS kernel %@ (%@; CPU: %@), sgemm %.1f GFLOP/s at %d thread%@ (%d x %d)",
               core, source.rawValue, features.level, sgemmGFLOPs, threads, threads == 1 ? "" : "s", size, size)
    }

    /// The fields metrics.jsonl's first record carries.
    public var jsonFields: [String: Any] {
        ["blas_kernel": core, "blas_kernel_source": source.rawValue, "cpu_level": features.level,
         "sgemm_gflops": (sgemmGFLOPs * 10).rounded() / 10, "sgemm_threads": threads]
    }
}

/// The kernel in use and a short sgemm probe (about 0.1 s) at the current compute threads:
/// n = 1024, or 2048 above four threads so that every thread has a share worth timing.
public func blasReport(size: Int? = nil, repeats: Int = 3) -> BLASReport {
    let n = size ?? (computeThreads > 4 ? 2048 : 1024)
    let a = FloatPointer.allocate(capacity: n * n), b = FloatPointer.allocate(capacity: n * n),
        c = FloatPointer.allocate(capacity: n * n)
    defer { a.deallocate(); b.deallocate(); c.deallocate() }
    for i in 0..<(n * n) { a[i] = Float(i % 13) * 0.01; b[i] = Float(i % 7) * 0.02 }
    var best = Double.infinity
    for _ in 0...repeats {  // the first is a warm-up
        let t0 = DispatchTime.now().uptimeNanoseconds
        gemm(transA: false, transB: false, n, n, n, a, n, b, n, beta: 0, c, n)
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
    return BLASReport(core: openBLASCoreInUse(), source: kernelSource, features: .host, threads: computeThreads,
                      sgemmGFLOPs: 2 * Double(n) * Double(n) * Double(n) / best / 1e9, size: n)
}
