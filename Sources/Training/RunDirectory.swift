// The run directory (electra-train --out) and its contract:
//   RUN/.lock                 flock'ed for the life of a trainer: two processes never write one run
//   RUN/config.json           the model configuration, training options, shard directory and
//                             vocabulary hash of the run (rewritten atomically at every start)
//   RUN/metrics.jsonl         one JSON object per line: {"step", "kind": "train"|"eval", values...};
//                             on resume, lines past the checkpoint's step are dropped first (a
//                             killed run may have logged past its newest checkpoint)
//   RUN/checkpoints/step-N/   complete checkpoints (see Checkpoint.swift)
//   RUN/checkpoints/.step-N.tmp-PID/   a checkpoint being written; one left by a killed run is
//                             removed when the next run starts
import Durability
import Foundation
import Model

/// A run directory held by this process (its lock is taken on opening and kept until release).
public final class RunDirectory {
    public let url: URL
    /// RUN/.lock, held while this object lives.
    private let lock: DirectoryLock

    /// RUN/checkpoints.
    public var checkpoints: URL { url.appendingPathComponent("checkpoints") }
    /// RUN/metrics.jsonl.
    public var metricsFile: URL { url.appendingPathComponent("metrics.jsonl") }
    /// RUN/config.json.
    public var configFile: URL { url.appendingPathComponent("config.json") }

    /// Creates the directory when needed and takes its lock.
    /// - Throws: `TrainingError.busy` when another process holds it, `.io` when it cannot be created.
    public init(_ url: URL) throws {
        self.url = url
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            let problem = FileProblem(error, path: url.path, writing: true)
            throw TrainingError.io(path: url.path, failure: "cannot be the run directory: \(problem?.reason ?? "\(error)")",
                                   remedy: problem?.remedy(for: "--out") ?? "choose another --out")
        }
        do {
            lock = try DirectoryLock(url)
        } catch DirectoryLockError.busy {
            throw TrainingError.busy(url.path)
        } catch DirectoryLockError.unavailable(let path, let reason) {
            throw TrainingError.io(path: path, failure: "cannot be created (\(reason))",
                                   remedy: "check the --out directory and its permissions")
        }
    }

    /// Creates RUN/checkpoints and removes the checkpoints a killed run left half-written (never
    /// renamed into place).
    func prepareCheckpoints() throws {
        let fm = FileManager.default
        do {
            try fm.createDirectory(at: checkpoints, withIntermediateDirectories: true)
        } catch {
            let problem = FileProblem(error, path: checkpoints.path, writing: true)
            throw TrainingError.io(path: checkpoints.path, failure: "cannot be created (\(problem?.reason ?? "\(error)"))",
                                   remedy: problem?.remedy ?? "check the --out directory, its permissions and free space")
        }
        for name in (try? fm.contentsOfDirectory(atPath: checkpoints.path)) ?? [] where name.hasPrefix(".step-") {
            try? fm.removeItem(at: checkpoints.appendingPathComponent(name))
        }
    }

    /// Opens RUN/metrics.jsonl for appending after keeping only its lines up to `step` (all of a
    /// fresh run's are dropped: it starts at 0).
    func openMetrics(keepingUpTo step: Int) throws -> MetricsLog {
        let url = metricsFile
        if let text = try? String(contentsOf: url, encoding: .utf8) {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()   // the text ends in "\n"
            let kept = text.split(separator: "\n").filter { line in
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      let s = object["step"] as? Int else { return false }
                // This session writes its own "system" record at `step`.
                return s < step || (s == step && object["kind"] as? String != "system")
            }
            // Rewritten only when a line goes (a full disk then still lets a resumed run start).
            if kept.count != lines.count || !text.hasSuffix("\n") && !text.isEmpty {
                try writeFileAtomically(Data((kept.joined(separator: "\n") + (kept.isEmpty ? "" : "\n")).utf8), to: url)
            }
        } else if !FileManager.default.createFile(atPath: url.path, contents: nil) {
            let problem = FileProblem(path: url.path, errno: errno, writing: true)
            throw TrainingError.io(path: url.path, failure: "cannot be created (\(problem.reason))", remedy: problem.remedy)
        }
        return try MetricsLog(url)
    }

    /// Writes RUN/config.json (atomically).
    func writeConfig(model: ElectraConfig, training: TrainingOptions, shards: String, vocabSHA256: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(RunConfig(model: model, training: training, shards: shards, vocabSHA256: vocabSHA256))
        if (try? Data(contentsOf: configFile)) == data { return }   // a resumed run with the same settings: nothing to write
        try writeFileAtomically(data, to: configFile)
    }

    /// The shard directory recorded in RUN/config.json, when there is one.
    static func recordedShards(run: URL) -> String? {
        guard let data = try? Data(contentsOf: run.appendingPathComponent("config.json")),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return object["shards"] as? String
    }
}

/// RUN/config.json.
struct RunConfig: Codable {
    var model: ElectraConfig
    var training: TrainingOptions
    var shards: String
    var vocabSHA256: String
}

/// RUN/metrics.jsonl open for appending.
final class MetricsLog {
    let url: URL
    private let handle: FileHandle

    init(_ url: URL) throws {
        self.url = url
        do {
            handle = try FileHandle(forWritingTo: url)
            try handle.seekToEnd()
        } catch {
            let problem = FileProblem(error, path: url.path, writing: true)
            throw TrainingError.io(path: url.path, failure: "cannot be opened for writing (\(problem?.reason ?? "\(error)"))",
                                   remedy: problem?.remedy ?? "check the file's permissions")
        }
    }

    deinit { try? handle.close() }

    /// Appends {"step":S,"kind":"system",...}: the machine facts of a session (the BLAS kernel in use,
    /// the sgemm rate), before its first step.
    func writeSystem(step: Int, fields: [String: Any]) throws {
        var line = "{\"step\":\(step),\"kind\":\"system\""
        for (k, v) in fields.sorted(by: { $0.key < $1.key }) {
            let value = try JSONSerialization.data(withJSONObject: v, options: [.fragmentsAllowed])
            line += ",\"\(k)\":" + String(decoding: value, as: UTF8.self)
        }
        try append(line + "}\n")
    }

    /// Appends {"step":S,"kind":K,name:value,...}; a value that is not finite is written as null.
    func write(step: Int, kind: String, values: [(String, Double)]) throws {
        var line = "{\"step\":\(step),\"kind\":\"\(kind)\""
        for (k, v) in values { line += ",\"\(k)\":\(v.isFinite ? "\(v)" : "null")" }
        line += "}\n"
        try append(line)
    }

    private func append(_ line: String) throws {
        do {
            try handle.write(contentsOf: Data(line.utf8))
        } catch {
            let problem = FileProblem(error, writing: true)
            throw TrainingError.io(path: url.path, failure: "cannot be written (\(problem?.reason ?? "\(error)"))",
                                   remedy: (problem?.remedy ?? "check free space") + "; then "
                                       + Checkpoint.afterFailure(run: url.deletingLastPathComponent()))
        }
    }
}
