"""How the work of a global batch is split, without torch: each of N data-parallel ranks takes a
contiguous B/N rows of every global batch (as electra-train's MPI ranks do), and loader worker
w of W takes steps w, w + W, ... (a DataLoader hands them out in that round-robin order)."""
from __future__ import annotations

import itertools
from typing import Iterator

from .masking import MaskedBatch
from .stream import MaskedBatches


def rank_rows(batch_size: int, rank: int, world_size: int) -> tuple[int, int]:
    """Rows of the global batch that rank `rank` of `world_size` computes: a contiguous B/N."""
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} of a world of {world_size}")
    if batch_size % world_size:
        raise ValueError(f"batch size {batch_size} cannot be split into {world_size} ranks of equal rows: "
                         f"choose a batch size that is a multiple of {world_size}")
    per = batch_size // world_size
    return rank * per, (rank + 1) * per


def worker_steps(start: int, stop: int | None, worker: int, workers: int) -> Iterator[int]:
    """The steps of loader worker `worker` of `workers`: start + worker, then every `workers`-th."""
    if workers < 1 or not 0 <= worker < workers:
        raise ValueError(f"worker {worker} of {workers}")
    step = start + worker
    while stop is None or step < stop:
        yield step
        step += workers


class RankBatches:
    """One rank's rows of the global batches of `batches`."""

    def __init__(self, batches: MaskedBatches, rank: int = 0, world_size: int = 1) -> None:
        self.batches = batches
        self.rank, self.world_size = rank, world_size
        self.rows = rank_rows(batches.batch_size, rank, world_size)

    def batch(self, step: int) -> MaskedBatch:
        """This rank's rows of the global batch of `step`."""
        B = self.batches.batch_size
        return self.batches.rows(step * B + self.rows[0], step * B + self.rows[1])

    def worker_batches(self, start: int, stop: int | None, worker: int = 0, workers: int = 1, block: int = 8
                       ) -> Iterator[tuple[int, MaskedBatch]]:
        """(step, batch) for the steps of one loader worker, computed `block` steps at a time."""
        steps = worker_steps(start, stop, worker, workers)
        while True:
            chunk = list(itertools.islice(steps, block))
            if not chunk:
                return
            yield from zip(chunk, self.batches.steps_rows(chunk, self.rows))
