// swift-tools-version:6.0
//
// electra-swift: from a raw text corpus to a pre-trained ELECTRA encoder on the CPU.
// One library module per concern; the two executables are thin CLIs over them.
import PackageDescription

/// Settings shared by every Swift target. Release builds get whole-module optimisation from
/// SwiftPM; bounds checks stay on except where a kernel opts out with unsafe buffers.
let fast: [SwiftSetting] = [.swiftLanguageMode(.v5)]

let package = Package(
    name: "electra-swift",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "electra-prep", targets: ["electra-prep"]),
        .executable(name: "electra-train", targets: ["electra-train"]),
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

        // Data half.
        .target(name: "Tokenization", dependencies: [.product(name: "Crypto", package: "swift-crypto")],
                swiftSettings: fast),
        .target(name: "Corpus", dependencies: ["CZstd", "CZlib", .product(name: "Crypto", package: "swift-crypto")],
                swiftSettings: fast),
        .target(name: "VocabularyLearning", dependencies: ["Tokenization", "Corpus", "Durability"], swiftSettings: fast),
        .target(name: "Sharding", dependencies: ["Tokenization", "Corpus", "Randomness", "CZstd", "CSQLite", "CZlib",
                                         .product(name: "Crypto", package: "swift-crypto")],
                swiftSettings: fast),
        .target(name: "Randomness", swiftSettings: fast),
        .target(name: "Durability", swiftSettings: fast),
        .target(name: "Masking", dependencies: ["Randomness"], swiftSettings: fast),
        .target(name: "Batching", dependencies: ["Sharding", "Masking"], swiftSettings: fast),

        // Training half.
        .target(name: "Kernels", dependencies: ["CBLAS"], swiftSettings: fast),
        .target(name: "Model", dependencies: ["Kernels", "Randomness", "Durability", "CZlib"], swiftSettings: fast),
        .target(name: "Training", dependencies: ["Model", "Batching", "Masking", "Durability"], swiftSettings: fast),
        .target(name: "Interop", dependencies: ["Model", "Tokenization", "Durability"], swiftSettings: fast),
        .target(name: "FineTuning", dependencies: ["Model", "Kernels", "Randomness", "Tokenization", "Durability"], swiftSettings: fast),

        // Command-line tools.
        .executableTarget(
            name: "electra-prep",
            dependencies: [
                "Tokenization", "Corpus", "VocabularyLearning", "Sharding",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: fast),
        .executableTarget(
            name: "electra-train",
            dependencies: [
                "Model", "Training", "Batching", "Interop", "Tokenization", "Durability", "FineTuning",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: fast),

        // Shared test helpers (assertClose, temporary directories, fixtures).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .target(name: "ShardTestSupport", dependencies: ["Sharding", "Corpus"], path: "Tests/ShardTestSupport"),
        .testTarget(name: "CorpusTests", dependencies: ["Corpus", "TestSupport"]),
        .testTarget(name: "MaskingTests", dependencies: ["Masking", "TestSupport"]),
        .testTarget(name: "InteropTests", dependencies: ["Interop", "Model", "Randomness", "Tokenization", "TestSupport"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Model", "Sharding", "Corpus", "ShardTestSupport", "TestSupport"]),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "Randomness"]),
        .testTarget(name: "FineTuningTests", dependencies: ["FineTuning", "Model", "Interop", "Randomness", "TestSupport"]),
        .testTarget(name: "ModelTests", dependencies: ["Model", "Kernels", "Interop", "Randomness", "TestSupport"]),
        .testTarget(name: "VocabularyLearningTests",
                    dependencies: ["VocabularyLearning", "Tokenization", "Corpus", "TestSupport"]),
        .testTarget(name: "BatchingTests", dependencies: ["Batching", "Masking", "Sharding", "Corpus", "ShardTestSupport", "TestSupport"]),
        .testTarget(name: "ShardingTests", dependencies: ["Sharding", "Corpus", "CSQLite", "TestSupport"]),
        .testTarget(name: "TokenizationTests", dependencies: ["Tokenization", "TestSupport"], swiftSettings: fast),
    ]
)
