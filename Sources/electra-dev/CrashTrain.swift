// electra-dev crash-train: an electra-train run (same flags, same numbers) that kills itself with
// SIGKILL, as a power cut would, while writing one checkpoint: after its files are written and
// synced, before its directory is renamed into place. tools/check-resume.sh then checks that
// `electra-train --resume` ignores the half-written checkpoint and gives the uninterrupted run's
// metrics and weights.
import ArgumentParser
import Distributed
import Foundation
import TrainCommandLine
import Training

struct CrashTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crash-train",
        abstract: "Train as electra-train does, and SIGKILL the process in the middle of writing one checkpoint.")

    @Option(help: "The step whose checkpoint write is interrupted (a step that writes a checkpoint).")
    var killDuringCheckpoint: Int

    @OptionGroup var arguments: TrainArguments

    func run() throws {
        setvbuf(stdout, nil, _IOLBF, 0)
        let communicator = try jobCommunicator(stallTimeout: arguments.stallTimeout)
        try runJob(communicator) { try crash(communicator) }
    }

    private func crash(_ communicator: Communicator) throws {
        let (trainer, _) = try arguments.makeTrainer(communicator: communicator)
        let target = killDuringCheckpoint
        trainer.checkpointWriteHook = { step in
            if step == target {
                print("crash-train: checkpoint step-\(step) written but not renamed into place: SIGKILL")
                kill(getpid(), SIGKILL)
            }
        }
        try trainer.run { event in
            if case .checkpointed(_, let path) = event { print("checkpoint: \(path)") }
        }
        throw ValidationError("the run ended without writing the checkpoint of step \(target): pass a step that writes one (a multiple of --save-every, or the last)")
    }
}
