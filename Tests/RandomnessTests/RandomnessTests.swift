import Randomness
import XCTest

/// The generator's numbers are part of every file this project writes (shard packing, masks,
/// checkpoints): these values, computed by an independent Python transcription of SplitMix64 and
/// xoshiro256** (Blackman and Vigna's reference), must never change.
final class RandomnessTests: XCTestCase {
    func testSplitMix64MatchesTheReferenceSequence() {
        XCTAssertEqual(splitMix64(0), 0xE220_A839_7B1D_CDAF)   // the first output of SplitMix64 seeded with 0
        XCTAssertEqual(splitMix64(12_345), 0x2211_8258_A9D1_11A0)
    }

    func testXoshiroSeedingAndStreamsAreUnchanged() {
        var rng = Xoshiro256(seed: 42)
        XCTAssertEqual([rng.next(), rng.next(), rng.next()], [0x1578_0B2E_0C2E_C716, 0x6104_D986_6D11_3A7E, 0xAE17_5332_39E4_99A1])
        var training = Xoshiro256(seed: 7, stream: 0x6D61_736B)
        XCTAssertEqual(training.next(), 0xE34B_B6B4_8DA2_BBD4)
        var packing = Xoshiro256(seed: 7, packingStream: 0x6D61_736B)
        XCTAssertEqual(packing.next(), 0xFD7D_2104_8804_AA0F)
    }
}
