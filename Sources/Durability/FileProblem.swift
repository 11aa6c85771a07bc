// File-system failures in words. Foundation reports them as CocoaError or NSError values whose
// text on Linux is "The operation could not be completed. (NSCocoaErrorDomain error 512.)";
// this is the one place that turns them (and POSIX errno values) into "PATH: is a directory;
// pass a file". Library modules wrap the reason in their own errors; the executables print a
// FileProblem for any such error that reaches them unwrapped.
import Foundation

/// What went wrong with a file or directory, in words: the path, the reason, what to do.
///
///     FileProblem(error, path: "runs/x", writing: true)?.description
///     // "runs/x: exists and is a file, not a directory; choose another path, or remove that file"
public struct FileProblem: Error, CustomStringConvertible, Equatable {
    /// The file or directory (the error's own path when it names one, else the one given).
    public var path: String
    /// "is a directory", "no space left on device", ...
    public var reason: String
    /// What to do about it: "free some space and run again", ...
    public var remedy: String
    /// The errno behind the failure, when known.
    public var code: Int32?

    public var description: String { "\(path): \(reason); \(remedy)" }

    /// The remedy for a path given by `option` ("--out"): "choose another --out, or ...".
    public func remedy(for option: String) -> String {
        remedy.contains("another path") ? remedy.replacingOccurrences(of: "another path", with: "another \(option)")
            : "choose another \(option), or \(remedy)"
    }

    public init(path: String, reason: String, remedy: String, code: Int32? = nil) {
        self.path = path; self.reason = reason; self.remedy = remedy; self.code = code
    }

    /// The problem a Foundation or POSIX file error describes; nil for any other error.
    /// - Parameters:
    ///   - error: a CocoaError, an NSError of the Cocoa or POSIX domain, a POSIXError, or a
    ///     `FileWriteError`.
    ///   - path: the path to name when the error does not carry one.
    ///   - writing: whether the operation wrote (nil: what the error says, else "read or write").
    public init?(_ error: Error, path: String? = nil, writing: Bool? = nil) {
        if let problem = error as? FileProblem { self = problem; return }
        if let failed = error as? FileWriteError {
            guard let problem = failed.problem else {
                self.init(path: failed.path, reason: "cannot be written: \(failed.reason)",
                          remedy: "check the directory, its permissions and free space")
                return
            }
            self = problem
            return
        }
        let ns = error as NSError
        var code: Int32?
        var cocoa: Int?
        switch ns.domain {
        case NSPOSIXErrorDomain: code = Int32(ns.code)
        case NSCocoaErrorDomain:
            cocoa = ns.code
            if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
                code = Int32(underlying.code)
            }
        default: return nil
        }
        let named = (ns.userInfo[NSFilePathErrorKey] as? String) ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path
        let target = named ?? path ?? "(unnamed file)"
        // Cocoa's file read errors are 256-511, write errors 512 and up.
        let writes = writing ?? cocoa.map { $0 >= CocoaError.fileWriteUnknown.rawValue }
        if code == nil, let cocoa {
            switch CocoaError.Code(rawValue: cocoa) {
            case .fileNoSuchFile, .fileReadNoSuchFile: code = ENOENT
            case .fileReadNoPermission, .fileWriteNoPermission, .fileLocking: code = EACCES
            case .fileWriteOutOfSpace: code = ENOSPC
            case .fileWriteVolumeReadOnly: code = EROFS
            case .fileWriteFileExists: code = EEXIST
            case .fileReadInvalidFileName, .fileWriteInvalidFileName: code = ENAMETOOLONG
            default: break
            }
        }
        if code == nil, let looked = named ?? path { code = diagnose(looked, writing: writes) }
        guard let code else {
            let what = writes == true ? "cannot be written" : writes == false ? "cannot be read" : "cannot be used"
            self.init(path: target, reason: what, remedy: "check the path, its permissions and free space")
            return
        }
        self = FileProblem(path: target, errno: code, writing: writes)
    }

    /// The problem `errno` value `code` means for `path`.
    /// - Parameter writing: whether the operation wrote (nil: unknown).
    public init(path: String, errno code: Int32, writing: Bool? = nil) {
        let reason: String, remedy: String
        switch code {
        case EISDIR:
            reason = "is a directory"
            remedy = writing == true ? "choose a file name, not a directory" : "pass a file, not a directory"
        case ENOTDIR:
            reason = "a part of the path is a file, not a directory"
            remedy = "choose another path, or remove that file"
        case EEXIST:
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
                reason = "exists and is a file, not a directory"
                remedy = "choose another path, or remove that file"
            } else {
                reason = "already exists"
                remedy = "choose another path, or remove it"
            }
        case ENOENT:
            reason = "no such file or directory"
            remedy = "check the path"
        case EACCES, EPERM:
            reason = writing == true ? "no permission to write" : writing == false ? "no permission to read" : "permission denied"
            remedy = writing == true ? "choose a directory you can write to, or change its permissions"
                : "check its permissions (and its directories')"
        case EROFS:
            reason = "on a read-only file system"
            remedy = "choose a directory on a writable file system"
        case ENOSPC:
            reason = "no space left on device"
            remedy = "free some space (df -h shows each file system's)"
        case EDQUOT:
            reason = "disk quota exceeded"
            remedy = "free some space within your quota"
        case ENAMETOOLONG:
            reason = "the name is too long"
            remedy = "choose a shorter path"
        case EMFILE, ENFILE:
            reason = "too many open files"
            remedy = "raise the limit (ulimit -n)"
        case EIO:
            reason = "input/output error (the disk or file system failed)"
            remedy = "check the disk (dmesg)"
        default:
            reason = String(cString: strerror(code))
            remedy = "check the path, its permissions and free space"
        }
        self.init(path: path, reason: reason, remedy: remedy, code: code)
    }
}

/// The reason of a file error in words ("is a directory"), for a message that names the path
/// itself; any other error as its description.
public func fileErrorReason(_ error: Error, writing: Bool? = nil) -> String {
    FileProblem(error, writing: writing)?.reason ?? "\(error)"
}

/// The errno a failed read or write of `path` most likely met, found by looking at the path
/// (Foundation on Linux often reports only "unknown read/write error"); nil when nothing is wrong
/// with it that can be seen.
private func diagnose(_ path: String, writing: Bool?) -> Int32? {
    let fm = FileManager.default
    var isDirectory: ObjCBool = false
    if fm.fileExists(atPath: path, isDirectory: &isDirectory) {
        if isDirectory.boolValue && writing != true { return EISDIR }
        if access(path, writing == true ? W_OK : R_OK) != 0 { return errno }
        return nil
    }
    // Walk up to the nearest existing ancestor: a file there, or one that cannot be written.
    var parent = (path as NSString).deletingLastPathComponent
    if parent.isEmpty { parent = "." }
    while !fm.fileExists(atPath: parent, isDirectory: &isDirectory) {
        let up = (parent as NSString).deletingLastPathComponent
        if up.isEmpty || up == parent { return ENOENT }
        parent = up
    }
    if !isDirectory.boolValue { return ENOTDIR }
    if writing == true { return access(parent, W_OK | X_OK) != 0 ? errno : nil }
    return ENOENT
}
