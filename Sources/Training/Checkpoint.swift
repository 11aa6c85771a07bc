// A checkpoint and its contract: RUN/checkpoints/step-N/ holds
//   weights.bin   a tensor file (TensorFile) of the model parameters ("param/NAME") and of the
//                 AdamW first and second moments ("adam_m/NAME", "adam_v/NAME"), NAME from the
//                 model's parameter table; metadata {"step": "N"}
//   state.json    `CheckpointState`: step, model configuration, training options, vocabulary
//                 size and hash, the model's generator state, the stream position and the metric
//                 sums of the logging window still open
// Both are written into RUN/checkpoints/.step-N.tmp-PID/, fsynced, and the directory renamed
// into place: a step-N directory with both files is complete, anything else is ignored. After a
// rename only the newest `keepCheckpoints` complete ones are kept.
import Batching
import Durability
import Foundation
import Model
import Randomness

/// The state a checkpoint stores besides the tensors (state.json).
struct CheckpointState: Codable {
    var step: Int
    var config: ElectraConfig
    var options: TrainingOptions
    var vocabSize: Int
    var vocabSHA256: String
    var stream: StreamPosition
    /// Metric sums of the logging window still open at the checkpoint (so that the next line
    /// averages the same steps as an uninterrupted run's).
    var openWindow: MetricSums?
    /// Training FLOPs up to this step, as the paper counts them (nil in checkpoints written
    /// before they were counted: then step x the run's FLOPs per step, which cannot change on
    /// resume).
    var trainFlops: Double?
}

/// Reading, writing and rotating the checkpoints of a run directory.
enum Checkpoint {
    static let weightsName = "weights.bin", stateName = "state.json"
    /// A file in a checkpoint kept at a --save-at-flops point: rotation leaves that checkpoint.
    static let keptName = "kept"
    /// Tensor-name prefixes in weights.bin.
    static let parameterPrefix = "param/", firstMomentPrefix = "adam_m/", secondMomentPrefix = "adam_v/"

    /// Complete checkpoints of a run (renamed into place, both files present), oldest first.
    static func complete(in run: URL) -> [URL] {
        let dir = run.appendingPathComponent("checkpoints")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.compactMap { name -> (Int, URL)? in
            guard name.hasPrefix("step-"), let n = Int(name.dropFirst(5)) else { return nil }
            let url = dir.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: url.appendingPathComponent(stateName).path),
                  FileManager.default.fileExists(atPath: url.appendingPathComponent(weightsName).path) else { return nil }
            return (n, url)
        }.sorted { $0.0 < $1.0 }.map(\.1)
    }

    /// Reads CHECKPOINT/state.json.
    /// - Throws: `TrainingError.badCheckpoint` naming the file when it cannot be read or decoded.
    static func readState(_ checkpoint: URL) throws -> CheckpointState {
        let url = checkpoint.appendingPathComponent(stateName)
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw TrainingError.badCheckpoint(path: url.path, problem: "cannot be read (\(fileErrorReason(error, writing: false)))")
        }
        do {
            return try JSONDecoder().decode(CheckpointState.self, from: data)
        } catch {
            throw TrainingError.badCheckpoint(path: url.path, problem: "cannot be read as a checkpoint state (\(error))")
        }
    }

    /// Reads CHECKPOINT/weights.bin.
    static func readTensors(_ checkpoint: URL) throws -> [String: (shape: [Int], values: [Float])] {
        let url = checkpoint.appendingPathComponent(weightsName)
        do {
            return try TensorFile.read(url).tensors
        } catch {
            throw TrainingError.badCheckpoint(path: url.path, problem: "cannot be read as a tensor file (\(error))")
        }
    }

    /// The tensors weights.bin stores: parameters, then both Adam moments, in table order.
    static func tensors(model: ElectraModel, optimizer: AdamW) -> [(name: String, shape: [Int], values: UnsafeBufferPointer<Float>)] {
        [(parameterPrefix, model.parameters), (firstMomentPrefix, optimizer.m), (secondMomentPrefix, optimizer.v)].flatMap { prefix, base in
            model.parameterTable.map { (prefix + $0.name, $0.shape, UnsafeBufferPointer(start: base + $0.offset, count: $0.count)) }
        }
    }

    /// Copies the parameters and both Adam moments of a checkpoint's tensors into `model` and
    /// `optimizer`; every tensor of the table must be there with its shape.
    static func restore(_ tensors: [String: (shape: [Int], values: [Float])], into model: ElectraModel, optimizer: AdamW,
                        file: URL) throws {
        for (prefix, base) in [(parameterPrefix, model.parameters), (firstMomentPrefix, optimizer.m), (secondMomentPrefix, optimizer.v)] {
            for p in model.parameterTable {
                guard let t = tensors[prefix + p.name], t.shape == p.shape else {
                    let found = tensors[prefix + p.name].map { "has shape \($0.shape), the model expects \(p.shape)" } ?? "is missing"
                    throw TrainingError.badCheckpoint(path: file.appendingPathComponent(weightsName).path,
                                                      problem: "tensor \(prefix + p.name) \(found)")
                }
                _ = UnsafeMutableBufferPointer(start: base + p.offset, count: p.count).update(from: t.values)
            }
        }
    }

    /// Writes RUN/checkpoints/step-N/ (weights.bin + state.json) into a temporary directory, fsyncs
    /// it, calls `beforeRename` (fault injection: a throw or a kill there leaves the temporary
    /// directory behind), renames it into place and fsyncs the parent. Returns the final path.
    static func write(to checkpoints: URL, state: CheckpointState, tensors: [(name: String, shape: [Int], values: UnsafeBufferPointer<Float>)],
                      kept: String? = nil, beforeRename: ((Int) throws -> Void)?) throws -> URL {
        let fm = FileManager.default
        let step = state.step
        let final = checkpoints.appendingPathComponent("step-\(step)")
        let temporary = checkpoints.appendingPathComponent(".step-\(step).tmp-\(getpid())")
        /// The failure names the checkpoint once, with the file and the reason in words; the
        /// half-written temporary directory is removed (on a full disk: its space comes back).
        func failed(_ file: String?, _ error: Error) -> TrainingError {
            try? fm.removeItem(at: temporary)
            return writeFailure(checkpoint: final, file: file, error: error)
        }
        try? fm.removeItem(at: temporary)
        do {
            try fm.createDirectory(at: temporary, withIntermediateDirectories: true)
            try TensorFile.write(tensors, metadata: ["step": "\(step)"], to: temporary.appendingPathComponent(weightsName))
        } catch {
            throw failed(weightsName, error)
        }
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try writeFileAtomically(try encoder.encode(state), to: temporary.appendingPathComponent(stateName))
            if let kept { try writeFileAtomically(Data((kept + "\n").utf8), to: temporary.appendingPathComponent(keptName)) }
            try fsyncDirectory(temporary)
        } catch {
            throw failed(stateName, error)
        }
        try beforeRename?(step)
        try? fm.removeItem(at: final)
        guard rename(temporary.path, final.path) == 0 else {
            throw failed(nil, FileProblem(path: final.path, errno: errno, writing: true))
        }
        try fsyncDirectory(checkpoints)
        return final
    }

    /// Why checkpoint `checkpoint` (RUN/checkpoints/step-N) could not be written, naming it once:
    /// the file that failed, the reason in words, and what to do, which depends on whether an
    /// earlier checkpoint of the run exists to resume from.
    static func writeFailure(checkpoint: URL, file: String?, error: Error) -> TrainingError {
        let problem = FileProblem(error, writing: true)
        let reason = (file.map { $0 + ": " } ?? "") + (problem?.reason ?? "\(error)")
        let fix = problem?.remedy ?? "check the run directory, its permissions and free space"
        return TrainingError.io(path: checkpoint.path, failure: "the checkpoint cannot be written (\(reason))",
                                remedy: fix + "; then " + afterFailure(run: checkpoint.deletingLastPathComponent().deletingLastPathComponent()))
    }

    /// What to run after a write into `run` failed: resume from its newest complete checkpoint, or,
    /// with none, the same command again.
    static func afterFailure(run: URL) -> String {
        guard let newest = complete(in: run).last else {
            return "run the same command again (the run has no checkpoint yet to resume from)"
        }
        return "add --resume to the same command to continue from \(newest.lastPathComponent) (\(newest.path))"
    }

    /// Removes all but the newest `keep` (at least 1) complete checkpoints of a run.
    static func rotate(in run: URL, keep: Int) {
        let rotating = complete(in: run).filter { !isKept($0) }
        for old in rotating.dropLast(max(1, keep)) {
            try? FileManager.default.removeItem(at: old)
        }
    }
}

extension Checkpoint {
    /// Whether `checkpoint` was kept at a --save-at-flops point (rotation leaves it).
    static func isKept(_ checkpoint: URL) -> Bool {
        FileManager.default.fileExists(atPath: checkpoint.appendingPathComponent(keptName).path)
    }
}

/// The model configuration and training options of a run's newest complete checkpoint: what a
/// resumed run starts from.
public struct ResumableRun {
    /// The checkpoint directory.
    public var checkpoint: URL
    public var step: Int
    public var config: ElectraConfig
    public var options: TrainingOptions
    public var vocabSize: Int
    public var vocabSHA256: String
}

/// The newest complete checkpoint's settings (nil when the run has none).
public func resumableRun(_ run: URL) throws -> ResumableRun? {
    guard let newest = Checkpoint.complete(in: run).last else { return nil }
    let state = try Checkpoint.readState(newest)
    return ResumableRun(checkpoint: newest, step: state.step, config: state.config, options: state.options,
                        vocabSize: state.vocabSize, vocabSHA256: state.vocabSHA256)
}

/// A checkpoint read back for export or inspection.
public struct LoadedCheckpoint {
    public var path: String
    public var step: Int
    public var config: ElectraConfig
    public var vocabSHA256: String
    /// Model parameters by table name (without the "param/" prefix).
    public var parameters: [String: (shape: [Int], values: [Float])]
    /// The shard directory the run trained on (from RUN/config.json), when recorded.
    public var shards: String?
}

/// Reads checkpoint `step` (nil: the newest complete one) of a run directory.
public func loadCheckpoint(run: URL, step: Int? = nil) throws -> LoadedCheckpoint {
    let all = Checkpoint.complete(in: run)
    let chosen: URL?
    if let step { chosen = all.first { $0.lastPathComponent == "step-\(step)" } } else { chosen = all.last }
    guard let dir = chosen else {
        throw TrainingError.noCheckpoint(run.appendingPathComponent("checkpoints").path + (step.map { " (step \($0))" } ?? ""))
    }
    let state = try Checkpoint.readState(dir)
    var parameters: [String: (shape: [Int], values: [Float])] = [:]
    for (name, t) in try Checkpoint.readTensors(dir) where name.hasPrefix(Checkpoint.parameterPrefix) {
        parameters[String(name.dropFirst(Checkpoint.parameterPrefix.count))] = t
    }
    return LoadedCheckpoint(path: dir.path, step: state.step, config: state.config, vocabSHA256: state.vocabSHA256,
                            parameters: parameters, shards: RunDirectory.recordedShards(run: run))
}
