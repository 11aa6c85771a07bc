"""PyTorch side: an IterableDataset of electra-train's batches for DDP and DataLoader workers,
and a DataLoader that remembers where it is (state_dict / load_state_dict).

Each DDP rank gets its contiguous B/N rows of every global batch, as electra-train's MPI ranks
do; DataLoader worker w of W computes steps w, w + W, w + 2W, ... and the DataLoader hands them
out in order, so the sequence of global batches is the same whatever N and W.

    dataset = ElectraBatchDataset(MaskedBatches("data", batch_size=128, seed=0))  # rank, world from torch.distributed
    loader = ElectraDataLoader(dataset, num_workers=2)
    for batch in loader: ...                       # dicts of tensors, B/N rows; batch["step"]
    torch.save(loader.state_dict(), "loader.pt")   # later: loader.load_state_dict(torch.load(...))
"""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from .masking import MaskedBatch
from .split import RankBatches
from .stream import MaskedBatches


def to_tensors(batch: MaskedBatch, step: int) -> dict[str, torch.Tensor]:
    out = {name: torch.from_numpy(np.ascontiguousarray(value)) for name, value in batch.as_dict().items()}
    out["step"] = torch.tensor(step, dtype=torch.int64)
    return out


class ElectraBatchDataset(IterableDataset):  # type: ignore[type-arg]
    """This rank's rows of electra-train's global batches, one item per step.

    Items are dicts of tensors: input_ids, segment_ids, attention_mask (B/N x L, int32),
    masked_positions, masked_original_ids (int32), masked_weights (float32) (B/N x N), and
    `step` (0-based). Use it with `batch_size=None` (ElectraDataLoader does).
    """

    def __init__(self, batches: MaskedBatches, rank: int | None = None, world_size: int | None = None,
                 start_step: int = 0, stop_step: int | None = None) -> None:
        super().__init__()
        if rank is None or world_size is None:
            ddp = dist.is_available() and dist.is_initialized()
            rank = dist.get_rank() if ddp and rank is None else (rank or 0)
            world_size = dist.get_world_size() if ddp and world_size is None else (world_size or 1)
        self.batches = batches
        self.rank, self.world_size = rank, world_size
        self.split = RankBatches(batches, rank, world_size)
        self.start_step, self.stop_step = start_step, stop_step

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        for step, batch in self.split.worker_batches(self.start_step, self.stop_step, worker, workers):
            yield to_tensors(batch, step)

    def state_dict(self) -> dict[str, Any]:
        return self.batches.state_dict(self.start_step)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue at `state["step"]` (the seed and the global batch size must be the same;
        the world size may differ)."""
        self.batches.load_state_dict(state)
        self.start_step = int(state["step"])


class ElectraDataLoader(DataLoader):  # type: ignore[type-arg]
    """A DataLoader over an ElectraBatchDataset (batch_size=None) that knows the next step:
    `state_dict()` after any batch, `load_state_dict()` before iterating resumes there, with any
    number of workers."""

    def __init__(self, dataset: ElectraBatchDataset, num_workers: int = 0, **kwargs: Any) -> None:
        kwargs.setdefault("persistent_workers", False)
        if num_workers > 0:
            kwargs.setdefault("prefetch_factor", 4)
        super().__init__(dataset, batch_size=None, num_workers=num_workers, **kwargs)
        self._next_step = dataset.start_step

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:  # type: ignore[override]
        dataset: ElectraBatchDataset = self.dataset  # type: ignore[assignment]
        dataset.start_step = self._next_step
        for batch in super().__iter__():
            self._next_step = int(batch["step"]) + 1
            yield batch

    def state_dict(self) -> dict[str, Any]:
        dataset: ElectraBatchDataset = self.dataset  # type: ignore[assignment]
        return dataset.batches.state_dict(self._next_step)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        dataset: ElectraBatchDataset = self.dataset  # type: ignore[assignment]
        dataset.load_state_dict(state)
        self._next_step = dataset.start_step
