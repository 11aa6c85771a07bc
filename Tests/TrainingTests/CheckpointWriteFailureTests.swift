import Batching
import Durability
import Foundation
import Model
import TestSupport
@testable import Training
import XCTest

/// A checkpoint that cannot be written (a full disk): the message names the checkpoint once and
/// advises --resume only when an earlier checkpoint exists.
final class CheckpointWriteFailureTests: XCTestCase {
    private func diskFull(_ file: URL) -> Error {
        // What writeFileAtomically throws when write(2) fails with ENOSPC.
        FileWriteError(path: file.path, reason: "no space left on device",
                       problem: FileProblem(path: file.path, errno: ENOSPC, writing: true))
    }

    func testFirstCheckpointOnAFullDisk() throws {
        let run = try makeTemporaryDirectory(in: self)
        let checkpoints = run.appendingPathComponent("checkpoints")
        let step = checkpoints.appendingPathComponent("step-6")
        let weights = checkpoints.appendingPathComponent(".step-6.tmp-123/weights.bin")
        let message = "\(Checkpoint.writeFailure(checkpoint: step, file: "weights.bin", error: diskFull(weights)))"
        XCTAssertTrue(message.hasPrefix(step.path + ": "), message)
        XCTAssertEqual(message.components(separatedBy: checkpoints.path).count - 1, 1, "the checkpoint is named more than once: \(message)")
        XCTAssertTrue(message.contains("no space left on device"), message)
        XCTAssertTrue(message.contains("free some space"), message)
        XCTAssertFalse(message.contains("--resume"), "no checkpoint to resume from, yet: \(message)")
        XCTAssertTrue(message.contains("run the same command again"), message)
    }

    func testLaterCheckpointOnAFullDiskAdvisesResume() throws {
        let run = try makeTemporaryDirectory(in: self)
        let checkpoints = run.appendingPathComponent("checkpoints")
        let previous = checkpoints.appendingPathComponent("step-3")
        try FileManager.default.createDirectory(at: previous, withIntermediateDirectories: true)
        for name in [Checkpoint.weightsName, Checkpoint.stateName] {
            try Data().write(to: previous.appendingPathComponent(name))
        }
        let step = checkpoints.appendingPathComponent("step-6")
        let message = "\(Checkpoint.writeFailure(checkpoint: step, file: "weights.bin", error: diskFull(step.appendingPathComponent("weights.bin"))))"
        XCTAssertTrue(message.contains("no space left on device"), message)
        XCTAssertTrue(message.contains("--resume"), message)
        XCTAssertTrue(message.contains("step-3"), message)
    }

    /// Through Checkpoint.write itself: a checkpoints path below a file fails at the first
    /// directory, with the reason in words.
    func testWriteNamesTheCheckpointOnce() throws {
        let run = try makeTemporaryDirectory(in: self)
        let blocker = run.appendingPathComponent("checkpoints")
        try Data("not a directory".utf8).write(to: blocker)
        XCTAssertThrowsError(try Checkpoint.write(to: blocker, state: try sampleState(), tensors: [], beforeRename: nil)) { error in
            let message = "\(error)"
            XCTAssertEqual(message.components(separatedBy: "step-6").count - 1, 1, message)
            XCTAssertFalse(message.contains("Domain"), message)
            XCTAssertFalse(message.contains("--resume"), message)
        }
    }

    private func sampleState() throws -> CheckpointState {
        CheckpointState(step: 6, config: ElectraConfig.preset("tiny", vocabSize: 100)!, options: .defaults, vocabSize: 100,
                        vocabSHA256: "x", stream: StreamPosition(seed: 0), openWindow: nil)
    }
}
