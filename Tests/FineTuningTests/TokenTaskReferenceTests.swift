// The token-task reference tests: the state tools/reference_token_tasks.py wrote with transformers'
// ElectraForTokenClassification (labels on first sub-tokens, -100 elsewhere) and
// ElectraForQuestionAnswering (an answerable window, an impossible one, padding), dropout off,
// gives our TokenClassifier the same logits, loss, gradient of EVERY parameter, and parameters
// after one layer-wise AdamW update, within 1e-4, on 1 and 2 threads.
import FineTuning
import Foundation
import Interop
import Kernels
import Model
import Randomness
import TestSupport
import XCTest

final class TokenTaskReferenceTests: XCTestCase {
    func testTokenClassification() throws { try compare("tagging", head: .tagging(labels: 5)) }
    func testQuestionAnswering() throws { try compare("qa", head: .span) }

    private func compare(_ name: String, head: TokenHead) throws {
        for threads in [1, 2] {
            setComputeThreads(threads)
            try compareOnce(name, head: head)
        }
        setComputeThreads(1)
    }

    private func compareOnce(_ name: String, head: TokenHead) throws {
        let file = try SafetensorsFile(contentsOf: fixtureURL("finetune/\(name).safetensors"))
        var config = ElectraConfig(vocabSize: 60, embeddingSize: 16, hiddenSize: 32, numLayers: 2, numHeads: 2,
                                   intermediateSize: 64, maxPositions: 16)
        config.dropout = 0
        let (B, L) = (3, 12)
        // One more row than the reference: a filler row that must change nothing.
        let model = try TokenClassifier(config: config, head: head, batchSize: B + 1, seqLength: L, seed: 0)
        let names = Set(file.tensors.keys.filter { $0.hasPrefix("param/") }.map { String($0.dropFirst(6)) })
        XCTAssertEqual(Set(model.parameterTable.map(\.name)), names, "the parameter set is transformers'")
        var tensors: [String: (shape: [Int], values: [Float])] = [:]
        for n in names { tensors[n] = (file.tensors["param/" + n]!.shape, try file.floats("param/" + n)) }
        XCTAssertEqual(try model.assign(tensors, source: name), [])

        let ints = { (n: String) in try file.floats(n).map { Int32($0) } }
        let filler: [Int32] = [2, 3] + [Int32](repeating: 0, count: L - 2)
        var targets: [Int32]
        if head == .span {
            let (start, end) = (try ints("input/start"), try ints("input/end"))
            targets = (0..<B).flatMap { [start[$0], end[$0]] } + [5, 6]   // the filler's targets must be ignored
        } else {
            targets = try ints("input/labels") + [Int32](repeating: 1, count: L)   // so must the filler's labels
        }
        let batch = TokenBatch(ids: try ints("input/ids") + filler, segments: try ints("input/segments") + [Int32](repeating: 0, count: L),
                               attention: try ints("input/attention") + [1, 1] + [Int32](repeating: 0, count: L - 2),
                               targets: targets, rows: B)
        var rng = Xoshiro256(seed: 0)
        model.zeroGradients()
        let result = model.step(batch, training: false, computeGradients: true, rng: &rng)
        assertClose(result.logits, try file.floats("out/logits"), "\(name): logits")
        assertClose([result.loss], try file.floats("out/loss"), "\(name): loss")
        for p in model.parameterTable {
            let ours = Array(model.view(model.gradients, p.name)!)
            assertClose(ours, try file.floats("grad/" + p.name), rtol: 1e-4, atol: 1e-5, "\(name): gradient of \(p.name)")
        }
        // One update: lr 1e-3, layer-wise decay 0.8, weight decay 0.01, no warm-up, 10 steps in all.
        var options = FineTuningOptions()
        options.learningRate = 1e-3
        options.layerwiseDecay = 0.8
        options.weightDecay = 0.01
        options.warmupProportion = 0
        let optimizer = LayerwiseAdamW(model: model, options: options, totalSteps: 10)
        optimizer.update(model)
        for p in model.parameterTable {
            assertClose(Array(model.view(model.parameters, p.name)!), try file.floats("updated/" + p.name),
                        rtol: 1e-4, atol: 1e-6, "\(name): \(p.name) after one update")
        }
    }
}
