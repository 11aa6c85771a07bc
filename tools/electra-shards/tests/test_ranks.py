"""Proof 2: for world sizes 1, 2, 4 and 0 to 3 loader workers, the ranks' rows at each step put
together are the global batch of world size 1; resuming from a state_dict mid-epoch gives the
batches of the uninterrupted run."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from electra_shards import MaskedBatch, MaskedBatches
from electra_shards.split import RankBatches, rank_rows, worker_steps

STEPS = 6
B = 16


@pytest.fixture(scope="module")
def global_batches(shard_dir):
    batches = MaskedBatches(shard_dir, batch_size=B, seed=11)
    return [batches.batch(s) for s in range(STEPS)]


def concat(parts: list[MaskedBatch]) -> MaskedBatch:
    return MaskedBatch(*(np.concatenate([getattr(p, f) for p in parts]) for f in MaskedBatch.FIELDS))


def assert_equal(a: MaskedBatch, b: MaskedBatch, what: str) -> None:
    for f in MaskedBatch.FIELDS:
        assert getattr(a, f).tobytes() == getattr(b, f).tobytes(), f"{what}: {f} differs"


def test_rank_rows_are_contiguous_and_refuse_uneven_splits():
    assert [rank_rows(16, r, 4) for r in range(4)] == [(0, 4), (4, 8), (8, 12), (12, 16)]
    with pytest.raises(ValueError, match="multiple of 3"):
        rank_rows(16, 0, 3)
    assert list(worker_steps(5, 12, 1, 3)) == [6, 9]


@pytest.mark.parametrize("world", [1, 2, 4])
@pytest.mark.parametrize("workers", [0, 1, 2, 3])
def test_ranks_times_workers_without_torch(shard_dir, global_batches, world, workers):
    """The split as a DataLoader performs it: worker w's steps, handed out round-robin."""
    per_rank = []
    for rank in range(world):
        split = RankBatches(MaskedBatches(shard_dir, batch_size=B, seed=11), rank, world)
        W = max(workers, 1)
        streams = [split.worker_batches(0, STEPS, w, W) for w in range(W)]
        got = [next(streams[s % W]) for s in range(STEPS)]  # the DataLoader's in-order round robin
        assert [step for step, _ in got] == list(range(STEPS))
        per_rank.append([batch for _, batch in got])
    for step in range(STEPS):
        assert_equal(concat([per_rank[r][step] for r in range(world)]), global_batches[step],
                     f"world {world}, {workers} workers, step {step}")


needs_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None,
                                 reason="torch is not installed: the DataLoader tests need it")


def loader_batches(shard_dir, rank, world, workers, start_state=None, take=STEPS):
    from electra_shards.torch_data import ElectraBatchDataset, ElectraDataLoader
    dataset = ElectraBatchDataset(MaskedBatches(shard_dir, batch_size=B, seed=11), rank=rank, world_size=world,
                                  stop_step=None)
    loader = ElectraDataLoader(dataset, num_workers=workers)
    if start_state is not None:
        loader.load_state_dict(start_state)
    out = []
    for batch in loader:
        out.append(batch)
        if len(out) == take:
            break
    return out, loader.state_dict()


def as_masked(batch) -> MaskedBatch:
    return MaskedBatch(*(batch[f].numpy() for f in MaskedBatch.FIELDS))


@needs_torch
@pytest.mark.parametrize("world", [1, 2, 4])
@pytest.mark.parametrize("workers", [0, 1, 2, 3])
def test_ranks_times_dataloader_workers(shard_dir, global_batches, world, workers):
    per_rank = [loader_batches(shard_dir, rank, world, workers)[0] for rank in range(world)]
    for step in range(STEPS):
        assert all(int(per_rank[r][step]["step"]) == step for r in range(world))
        assert_equal(concat([as_masked(per_rank[r][step]) for r in range(world)]), global_batches[step],
                     f"world {world}, {workers} workers, step {step}")


@needs_torch
@pytest.mark.parametrize("before,after", [(0, 2), (2, 0), (3, 1)])
def test_resume_mid_epoch_from_a_state_dict(shard_dir, before, after):
    whole, _ = loader_batches(shard_dir, 0, 2, before, take=10)
    first, state = loader_batches(shard_dir, 0, 2, before, take=4)
    assert state["step"] == 4
    rest, end = loader_batches(shard_dir, 0, 2, after, start_state=state, take=6)
    assert end["step"] == 10
    for step, (a, b) in enumerate(zip(whole, first + rest)):
        assert_equal(as_masked(a), as_masked(b), f"step {step} after resuming ({before} -> {after} workers)")


@needs_torch
def test_a_state_of_another_seed_is_refused(shard_dir):
    _, state = loader_batches(shard_dir, 0, 1, 0, take=1)
    from electra_shards.torch_data import ElectraBatchDataset
    other = ElectraBatchDataset(MaskedBatches(shard_dir, batch_size=B, seed=12), rank=0, world_size=1)
    with pytest.raises(ValueError, match="seed 11"):
        other.load_state_dict(state)
