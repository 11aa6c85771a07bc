// swift-tools-version:6.0
//
// electra-swift: from a raw text corpus to a pre-trained ELECTRA encoder on the CPU.
// One library module per concern; the two product executables are thin CLIs over them, and
// electra-dev holds the team's tools (benchmarks, reference dumps, fault injection).
import Foundation
import PackageDescription

/// On x86-64 the Swift code is compiled for the Haswell level (AVX2, FMA, BMI1/2, F16C, LZCNT,
/// MOVBE: Intel 2013+, AMD 2015+), so the eight-lane SIMD8<Float> kernels are one AVX instruction
/// each, not two SSE ones. CCPUFeatures (compiled for baseline x86-64) refuses to start on a CPU
/// without those features, with a message, before any Swift code runs. ELECTRA_PORTABLE=1 at
/// build time (after rm -rf .build) gives a baseline x86-64 build instead.
#if arch(x86_64)
let haswell = ProcessInfo.processInfo.environment["ELECTRA_PORTABLE"] == nil
#else
let haswell = false
#endif
/// ELECTRA_CPU_* bits of cpu_features.h for AVX AVX2 FMA F16C BMI1 BMI2 LZCNT MOVBE POPCNT SSE4.2.
let haswellFeatures = "0x1FF8u"

/// Settings shared by every Swift target. Release builds get whole-module optimisation from
/// SwiftPM; bounds checks stay on except where a kernel opts out with unsafe buffers.
/// ELECTRA_FMA: VectorMath's muladd8 is one fused multiply-add (on baseline x86-64 it would be a
/// libm call per lane, so there it stays a multiply and an add).
let fast: [SwiftSetting] = [.swiftLanguageMode(.v5)]
    + (haswell ? [.unsafeFlags(["-target-cpu", "haswell"]), .define("ELECTRA_FMA")] : [])

let package = Package(
    name: "electra-swift",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "electra-prep", targets: ["electra-prep"]),
        .executable(name: "electra-train", targets: ["electra-train"]),
        .executable(name: "electra-dev", targets: ["electra-dev"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // System libraries (Debian: libzstd-dev, libsqlite3-dev, zlib1g-dev, libopenblas-dev).
        .systemLibrary(name: "CZstd", path: "Sources/CZstd"),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c"),

        // Data half.
        .target(name: "Tokenization", dependencies: ["Durability", .product(name: "Crypto", package: "swift-crypto")],
                swiftSettings: fast),
        .target(name: "Corpus", dependencies: ["CZstd", "CZlib", .product(name: "Crypto", package: "swift-crypto")],
                swiftSettings: fast),
        .target(name: "VocabularyLearning", dependencies: ["Tokenization", "Corpus", "Durability"], swiftSettings: fast),
        .target(name: "Sharding", dependencies: ["Tokenization", "Corpus", "Randomness", "Durability", "CZstd", "CSQLite", "CZlib",
                                         .product(name: "Crypto", package: "swift-crypto")],
                swiftSettings: fast),
        .target(name: "Randomness", swiftSettings: fast),
        .target(name: "Durability", swiftSettings: fast),
        .target(name: "Masking", dependencies: ["Randomness"], swiftSettings: fast),
        .target(name: "Batching", dependencies: ["Sharding", "Masking", "Randomness"], swiftSettings: fast),

        // Training half.
        .target(name: "CCPUFeatures",
                cSettings: haswell ? [.define("ELECTRA_REQUIRED_FEATURES", to: haswellFeatures)] : []),
        .target(name: "Kernels", dependencies: ["CBLAS", "CCPUFeatures", "Randomness"], swiftSettings: fast),
        .target(name: "Model", dependencies: ["Kernels", "Masking", "Randomness", "Durability", "CZlib"], swiftSettings: fast),
        .target(name: "Training", dependencies: ["Model", "Batching", "Masking", "Sharding", "Randomness", "Durability", "Distributed"],
                swiftSettings: fast),
        .target(name: "Distributed", dependencies: ["CMPI"], swiftSettings: fast),
        .target(name: "Interop", dependencies: ["Model", "Tokenization", "Durability"], swiftSettings: fast),
        .target(name: "FineTuning", dependencies: ["Model", "Kernels", "Randomness", "Tokenization", "Durability"], swiftSettings: fast),

        // Command-line tools. TrainCommandLine: the flags of a training run, shared by
        // electra-train (the product) and electra-dev crash-train (the same run, a fault injected).
        .target(name: "CommandLineSupport", dependencies: ["Durability", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .target(name: "TrainCommandLine",
                dependencies: ["Training", "Batching", "Interop", "Model", "Kernels", "Sharding", "Distributed", "Durability",
                               .product(name: "ArgumentParser", package: "swift-argument-parser")],
                swiftSettings: fast),
        .executableTarget(
            name: "electra-prep",
            dependencies: [
                "CommandLineSupport", "Tokenization", "Corpus", "VocabularyLearning", "Sharding", "CCPUFeatures", "Durability",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: fast),
        .executableTarget(
            name: "electra-train",
            dependencies: [
                "CommandLineSupport", "TrainCommandLine", "Training", "Model", "Kernels", "Interop", "Sharding", "Tokenization", "Durability", "Distributed", "FineTuning",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: fast),
        .executableTarget(
            name: "electra-dev",
            dependencies: [
                "CommandLineSupport", "TrainCommandLine", "Training", "Model", "Kernels", "Interop", "Batching", "Masking", "Sharding",
                "Randomness", "Tokenization", "Corpus", "Distributed",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: fast),

        // Shared test helpers (assertClose, temporary directories, fixtures).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .target(name: "ShardTestSupport", dependencies: ["Sharding", "Corpus"], path: "Tests/ShardTestSupport"),
        .testTarget(name: "CorpusTests", dependencies: ["Corpus", "TestSupport"]),
        .testTarget(name: "MaskingTests", dependencies: ["Masking", "Randomness"]),
        .testTarget(name: "InteropTests", dependencies: ["Interop", "Model", "Masking", "Randomness", "Tokenization", "TestSupport"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Model", "Batching", "Durability", "Sharding", "Corpus", "ShardTestSupport", "TestSupport"]),
        .testTarget(name: "DistributedTests", dependencies: ["Distributed"]),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "Randomness"]),
        .testTarget(name: "FineTuningTests", dependencies: ["FineTuning", "Model", "Interop", "Randomness", "TestSupport"]),
        .testTarget(name: "RandomnessTests", dependencies: ["Randomness"]),
        .testTarget(name: "ModelTests", dependencies: ["Model", "Masking", "Kernels", "Interop", "Randomness", "TestSupport"]),
        .testTarget(name: "VocabularyLearningTests",
                    dependencies: ["VocabularyLearning", "Tokenization", "Corpus", "TestSupport"]),
        .testTarget(name: "BatchingTests", dependencies: ["Batching", "Masking", "Randomness", "Sharding", "Corpus", "ShardTestSupport", "TestSupport"]),
        .testTarget(name: "ShardingTests", dependencies: ["Sharding", "Corpus", "CSQLite", "TestSupport"]),
        .testTarget(name: "DurabilityTests", dependencies: ["Durability", "TestSupport"]),
        .testTarget(name: "CommandLineTests", dependencies: ["CommandLineSupport", "TrainCommandLine"]),
        .testTarget(name: "TokenizationTests", dependencies: ["Tokenization", "TestSupport"], swiftSettings: fast),
    ]
)
