// Errors of the sharding library; each names the file concerned and says what to do.
import Foundation

/// Why sharding, verifying or reading shards failed.
public enum ShardingError: Error, CustomStringConvertible, Equatable {
    /// A system call failed on a file.
    case io(String, String)
    /// The output directory has no index yet.
    case noIndex(String)
    /// The index exists but cannot be used (damaged, newer schema, missing tables).
    case badIndex(String, String)
    /// The vocabulary or options differ from those the index was built with.
    case optionsMismatch(index: String, differences: [String])
    /// Another process is writing the same output directory.
    case locked(String)
    /// A shard or frame failed its checks while being read.
    case corruptShard(shard: String, frame: Int?, reason: String)
    /// The vocabulary cannot be used for sharding.
    case badVocabulary(String)
    /// An input changed while it was being read.
    case sourceChanged(String)
    /// A sharding option is out of range.
    case invalidOption(String)
    /// `ShardBuilder.stopRequested` said stop inside input `at` (or, `inside` false, before it):
    /// the inputs committed before are in the index, the rest is not; running again shards it.
    case stopped(at: String, inside: Bool)

    public var description: String {
        switch self {
        case .io(let path, let reason):
            return "\(path): \(reason)"
        case .noIndex(let dir):
            return "\(dir): no index.sqlite here (run `electra-prep shard --out \(dir)` first)"
        case .badIndex(let path, let reason):
            return "\(path): \(reason) (move it away and run `electra-prep shard` again to rebuild)"
        case .optionsMismatch(let index, let differences):
            return "\(index) was built with other settings; refusing to mix them:\n  "
                + differences.joined(separator: "\n  ")
                + "\n(use the same vocabulary and options, or another --out directory)"
        case .locked(let dir):
            return "\(dir): another `electra-prep shard` is writing this directory (wait for it, or use another --out)"
        case .corruptShard(let shard, let frame, let reason):
            let at = frame.map { " frame \($0)" } ?? ""
            return "\(shard)\(at): \(reason) (run `electra-prep verify` to check every shard; re-create damaged shards by sharding again into a fresh directory)"
        case .badVocabulary(let reason):
            return reason
        case .invalidOption(let message):
            return message
        case .stopped(let at, let inside):
            return "stopped on request \(inside ? "inside" : "before") \(at); the inputs committed before stay in the index; run the same command again to shard what remains (committed inputs are skipped)"
        case .sourceChanged(let path):
            return "\(path): the file changed while it was being sharded (let it settle and run again)"
        }
    }
}
