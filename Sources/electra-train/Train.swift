// electra-train [train]: pre-train ELECTRA on the shards written by electra-prep shard.
import ArgumentParser
import CommandLineSupport
import Foundation
import Kernels
import TrainCommandLine
import Training

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pre-train a generator + discriminator on the CPU (the default subcommand).",
        discussion: """
            Streams the shards through dynamic masking, trains both models with AdamW as ELECTRA does \
            (lr x (1 - step/T) x min(1, step/W)), logs metrics to OUT/metrics.jsonl, evaluates on the \
            held-out split and writes checkpoints to OUT/checkpoints/step-N/. --resume continues from the \
            newest complete checkpoint with exactly the batches and numbers an uninterrupted run gives.
            """)

    @OptionGroup var arguments: TrainArguments

    func run() throws {
        setvbuf(stdout, nil, _IOLBF, 0)   // progress lines appear as they happen, also in logs
        let communicator = try jobCommunicator(stallTimeout: arguments.stallTimeout)
        // After MPI's start-up, so that these handlers are the ones in place.
        Interruption.install(command: "electra-train",
                             atOnce: "the newest complete checkpoint in \(arguments.runDirectory)/checkpoints stays; continue with --resume")
        var outcome = Trainer.Outcome.finished
        try runJob(communicator) {
            let (trainer, settings) = try arguments.makeTrainer(communicator: communicator)
            trainer.stopRequested = { Interruption.requested }
            let blas = blasReport()   // the kernel in use and a 0.1 s sgemm probe, for the header and metrics.jsonl
            trainer.systemRecord = blas.jsonFields
            outcome = try train(trainer, settings: settings, out: arguments.runDirectory, header: ["blas: " + blas.summary],
                                quiet: !communicator.isRoot)
        }
        if case .stopped(let step, let checkpoint) = outcome {
            guard communicator.isRoot else { Foundation.exit(Interruption.exitCode) }   // rank 0 says it for all
            let how = communicator.size > 1 ? "the same mpirun job (\(communicator.size) ranks) of " : ""
            Interruption.report("electra-train", "stopped after step \(step), checkpoint \(checkpoint) written; to continue: \(how)\(resumeCommand(adding: "--resume"))")
        }
    }
}

/// Runs `trainer`, printing its events: a progress line on a terminal, the logged and held-out
/// metrics, the checkpoints, and a summary at the end.
/// `quiet` (a rank other than 0 under mpirun): nothing is printed. A stopped run (SIGINT, SIGTERM)
/// prints no summary: the caller says how to continue.
@discardableResult
func train(_ trainer: Trainer, settings: ResolvedRun, out: String, header: [String] = [], quiet: Bool = false) throws -> Trainer.Outcome {
    let options = settings.options
    let total = options.steps
    let progress = ProgressLine(enabled: isatty(1) != 0)
    var lastEval: [(String, Double)] = []
    var warnedCollapse = false
    var secondsPerStep = 0.0
    let outcome = try trainer.run { event in
        switch event {
        case .started(let lines):
            print("electra-train: run directory \(out), preset \(settings.preset ?? "of the run")")
            (lines + header).forEach { print("  " + $0) }
        case .resumed(let step, let from):
            print("resumed at step \(step) from \(from)")
        case .progress(let step, let loss, let tokensPerSecond, let perStep):
            secondsPerStep = perStep
            progress.update(String(format: "step %d/%d  loss %.3f  %.0f tok/s", step, total, loss, tokensPerSecond)
                            + "  ETA " + formatDuration(perStep * Double(total - step)))
        case .logged(let step, let values):
            let v = Dictionary(uniqueKeysWithValues: values)
            if v["discriminator_loss"] == nil {   // --objective mlm: the masked LM alone
                progress.print(String(format: "step %d/%d  masked-LM loss %.3f (acc %.3f)  lr %.2e  %.0f tok/s",
                                      step, total, v["loss"] ?? 0, v["generator_accuracy"] ?? 0, v["learning_rate"] ?? 0,
                                      v["tokens_per_second"] ?? 0) + "  ETA " + formatDuration(secondsPerStep * Double(total - step)))
                break
            }
            progress.print(String(format: "step %d/%d  loss %.3f  gen %.3f (acc %.3f)  disc %.4f (auc %.3f)  lr %.2e  %.0f tok/s",
                                  step, total, v["loss"] ?? 0, v["generator_loss"] ?? 0, v["generator_accuracy"] ?? 0,
                                  v["discriminator_loss"] ?? 0, v["discriminator_auc"] ?? 0, v["learning_rate"] ?? 0,
                                  v["tokens_per_second"] ?? 0) + "  ETA " + formatDuration(secondsPerStep * Double(total - step)))
        case .evaluated(let step, let values):
            lastEval = values
            let v = Dictionary(uniqueKeysWithValues: values)
            if v["discriminator_loss"] == nil {   // --objective mlm
                progress.print(String(format: "eval @ %d: masked-LM loss %.3f  accuracy %.3f  spread %.4f",
                                      step, v["loss"] ?? 0, v["generator_accuracy"] ?? 0, v["discriminator_spread"] ?? 0))
            } else {
            progress.print(String(format: "eval @ %d: loss %.3f  generator accuracy %.3f  discriminator auc %.3f  accuracy %.3f  spread %.4f",
                                  step, v["loss"] ?? 0, v["generator_accuracy"] ?? 0, v["discriminator_auc"] ?? 0,
                                  v["discriminator_accuracy"] ?? 0, v["discriminator_spread"] ?? 0))
            }
            if let spread = v["discriminator_spread"], spread < Trainer.collapsedSpread, !warnedCollapse {
                warnedCollapse = true
                progress.print(String(format: "warning: the discriminator has collapsed at step %d: its last layer gives the same vector at every position (spread %.5f, under %.2f; generator's top prediction %.0f%% of its guesses); fine-tuned, it will do no better than a random initialization. Try a lower --learning-rate (half the preset's) or a longer --warmup-steps.",
                                      step, spread, Trainer.collapsedSpread, 100 * (v["generator_top_share"] ?? 0)))
            }
        case .checkpointed(_, let path):
            progress.print("checkpoint: \(path)")
        case .skippedFrames(let frames):
            progress.clear()
            frames.forEach { FileHandle.standardError.write(Data("warning: skipped \($0)\n".utf8)) }
        }
    }
    progress.clear()
    if quiet || outcome != .finished { return outcome }
    if !lastEval.isEmpty {
        print("held-out metrics:")
        for (k, v) in lastEval { print("  " + k.padding(toLength: 26, withPad: " ", startingAt: 0) + String(format: "%.4f", v)) }
    }
    print("metrics: \(out)/metrics.jsonl (plot: electra-train report \(out))")
    return outcome
}

/// A progress line redrawn in place on a terminal (at most 10 times a second); nothing otherwise.
final class ProgressLine {
    let enabled: Bool
    private var shown = false
    private var lastDraw = 0.0

    init(enabled: Bool) { self.enabled = enabled }

    func update(_ text: String) {
        guard enabled else { return }
        let now = Date().timeIntervalSinceReferenceDate
        guard now - lastDraw >= 0.1 else { return }
        lastDraw = now
        Swift.print("\r\u{1B}[K" + text, terminator: "")
        fflush(stdout)
        shown = true
    }

    /// Prints a whole line (above the progress line, which the next update redraws).
    func print(_ line: String) {
        clear()
        Swift.print(line)
    }

    func clear() {
        guard shown else { return }
        Swift.print("\r\u{1B}[K", terminator: "")
        fflush(stdout)
        shown = false
    }
}

/// "42s", "3m05s", "1h02m".
func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "?" }
    let s = Int(seconds.rounded())
    if s < 60 { return "\(s)s" }
    if s < 3600 { return String(format: "%dm%02ds", s / 60, s % 60) }
    return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60)
}
