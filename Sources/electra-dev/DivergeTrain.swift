// electra-dev diverge-train: an electra-train run under mpirun (same flags, same numbers) in which
// one rank's parameters are changed after one step, as a faulty node's memory would: the ranks'
// parameter checksum (--checksum-every) must catch it and stop the job naming that rank
// (tools/check-mpi.sh).
import ArgumentParser
import Distributed
import Foundation
import TrainCommandLine
import Training

struct DivergeTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diverge-train",
        abstract: "An electra-train run (under mpirun) in which one rank's parameters change after one step.")

    @Option(help: "The rank whose parameters change.") var divergeRank = 1
    @Option(help: "The step after which they change.") var divergeStep: Int

    @OptionGroup var arguments: TrainArguments

    func run() throws {
        setvbuf(stdout, nil, _IOLBF, 0)
        let communicator = try jobCommunicator(stallTimeout: arguments.stallTimeout)
        try runJob(communicator) {
            let (trainer, _) = try arguments.makeTrainer(communicator: communicator)
            if communicator.rank == divergeRank {
                let target = divergeStep
                trainer.afterUpdateHook = { step, parameters in
                    if step == target { parameters[0] += 1e-3 }
                }
            }
            try trainer.run { _ in }
        }
        throw ValidationError("the run ended without the divergence being caught: run it under mpirun with --checksum-every dividing a step after --diverge-step")
    }
}
