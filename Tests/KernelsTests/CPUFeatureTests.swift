// The OpenBLAS kernel chosen from CPU feature flags (a pure mapping, so every CPU class is
// checked here on any machine), and the host's flags as CPUID reports them.
import Kernels
import XCTest

final class CPUFeatureTests: XCTestCase {
    let sse: CPUFeatures = [.sse3, .ssse3, .sse41, .sse42, .popcnt]
    var avx: CPUFeatures { sse.union(.avx) }
    var avx2: CPUFeatures { avx.union([.avx2, .fma, .f16c, .bmi1, .bmi2, .lzcnt, .movbe]) }
    var avx512: CPUFeatures { avx2.union([.avx512f, .avx512dq, .avx512bw, .avx512vl]) }

    func testEachVectorLevelGetsItsKernel() {
        XCTAssertEqual(openBLASCore(for: [.sse3]), "Prescott")
        XCTAssertEqual(openBLASCore(for: sse), "Nehalem")
        XCTAssertEqual(openBLASCore(for: avx), "Sandybridge")
        XCTAssertEqual(openBLASCore(for: avx2), "Haswell")
        XCTAssertEqual(openBLASCore(for: avx512), "SkylakeX")
    }

    func testHiddenModelsWithNewerFeaturesStillGetSkylakeX() {
        // Emerald Rapids / Sapphire Rapids (BF16, AMX) and Zen 4 (BF16): OpenBLAS 0.3.21 does not
        // know these models and falls back to Cooperlake, measured 4x slower than SkylakeX.
        XCTAssertEqual(openBLASCore(for: avx512.union([.avx512bf16, .amxTile])), "SkylakeX")
        XCTAssertEqual(openBLASCore(for: avx512.union(.avx512bf16)), "SkylakeX")
    }

    func testIncompleteLevelsFallToTheLevelBelow() {
        // AVX2 without FMA (some virtual CPU models mask FMA): the Haswell kernels use FMA.
        XCTAssertEqual(openBLASCore(for: avx.union(.avx2)), "Sandybridge")
        // AVX-512 Foundation alone (Knights Landing: no BW/VL/DQ): SkylakeX's kernels need them.
        XCTAssertEqual(openBLASCore(for: avx2.union(.avx512f)), "Haswell")
        XCTAssertNil(openBLASCore(for: []))
    }

    func testLevelNames() {
        XCTAssertEqual(avx512.level, "AVX-512")
        XCTAssertEqual(avx2.level, "AVX2+FMA")
        XCTAssertEqual(CPUFeatures([.avx, .avx2]).description, "AVX AVX2")
    }

    func testHostHasWhatThisBuildWasCompiledFor() throws {
        #if arch(x86_64)
        let host = CPUFeatures.host
        XCTAssertTrue(host.contains(.sse3), "CPUID read nothing: \(host)")
        XCTAssertTrue(host.isSuperset(of: .required), "host \(host), build needs \(CPUFeatures.required)")
        // OpenBLAS names the kernel it runs, and it is one of the names OPENBLAS_CORETYPE accepts.
        let names = ["Prescott", "Nehalem", "Sandybridge", "Haswell", "Zen", "SkylakeX", "Cooperlake", "Core2",
                     "Atom", "Barcelona", "Bulldozer", "Piledriver", "Steamroller", "Excavator", "Penryn", "Dunnington"]
        XCTAssertTrue(names.contains { $0.caseInsensitiveCompare(openBLASCoreInUse()) == .orderedSame }, openBLASCoreInUse())
        #else
        throw XCTSkip("x86-64 only")
        #endif
    }
}

/// The BLAS restart execs the program's real file, so the process keeps its name (not "exe").
final class RestartExecutableTests: XCTestCase {
    func testRestartExecsTheRealFile() throws {
        #if os(Linux)
        let path = restartExecutablePath()
        XCTAssertNotEqual(path, "/proc/self/exe")
        XCTAssertNotEqual(URL(fileURLWithPath: path).lastPathComponent, "exe")
        // The same file as the running program, under the name `ps` and `pgrep` will show.
        let comm = try String(contentsOfFile: "/proc/self/comm", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(URL(fileURLWithPath: path).lastPathComponent.hasPrefix(comm), "\(path) vs comm \(comm)")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"), path)
        #endif
    }
}
