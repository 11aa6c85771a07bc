// Reading back what `electra-train export` writes (OUT/discriminator + OUT/generator), or a
// HuggingFace discriminator folder with an optional generator/ beside it: the folders, the
// configuration and the tensors merged under our parameter names.
import Foundation
import Model

/// The folders of an exported pair.
public struct HuggingFacePair {
    /// The discriminator folder (ElectraForPreTraining).
    public var discriminator: URL
    /// The generator folder (ElectraForMaskedLM), when there is one.
    public var generator: URL?

    /// Finds the pair at `path`: an export folder holding discriminator/ (and generator/), or a
    /// discriminator folder (with generator/ beside it, if any).
    /// - Throws: `InteropError.unreadable` when the discriminator has no model.safetensors, or
    ///   when `requireGenerator` and the generator has none.
    public init(_ path: URL, requireGenerator: Bool = false) throws {
        let fm = FileManager.default
        var folder = path
        if fm.fileExists(atPath: folder.appendingPathComponent("discriminator/config.json").path) {
            folder = folder.appendingPathComponent("discriminator")
        }
        guard fm.fileExists(atPath: folder.appendingPathComponent("model.safetensors").path) else {
            throw InteropError.unreadable(path: folder.path, reason: "no model.safetensors",
                                          remedy: "pass a folder written by electra-train export or an ELECTRA discriminator")
        }
        discriminator = folder
        let generator = folder.deletingLastPathComponent().appendingPathComponent("generator")
        if fm.fileExists(atPath: generator.appendingPathComponent("model.safetensors").path) {
            self.generator = generator
        } else if requireGenerator {
            throw InteropError.unreadable(path: generator.path, reason: "no model.safetensors",
                                          remedy: "pass a folder written by electra-train export (it holds discriminator/ and generator/)")
        }
    }

    /// The configuration of both parts (config.json of each).
    public func config() throws -> ElectraConfig {
        try readElectraConfig(discriminator: discriminator, generator: generator)
    }

    /// Every tensor under our parameter names: the shared embeddings and `discriminator.*` from
    /// the discriminator, `generator.*` from the generator (its copy of the embeddings, tied to
    /// the discriminator's, is not read).
    public func tensors() throws -> [String: (shape: [Int], values: [Float])] {
        var tensors = try readHuggingFaceFolder(discriminator, part: .discriminator)
        if let generator {
            for (k, v) in try readHuggingFaceFolder(generator, part: .generator) where !k.hasPrefix("embeddings.") { tensors[k] = v }
        }
        return tensors
    }
}
