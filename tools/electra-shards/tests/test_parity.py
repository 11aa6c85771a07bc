"""Proof 1: `electra-dev dump-batches` (the trainer's own BatchProducer) and MaskedBatches give
the same global batches byte for byte: rows, order, masked positions and replacements."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from conftest import run
from electra_shards import MaskedBatch, MaskedBatches

FIELDS = MaskedBatch.FIELDS


def dump(electra_dev: Path, shards: Path, out: Path, steps: str, **flags: object) -> dict[str, np.ndarray]:
    args = [electra_dev, "dump-batches", "--shards", shards, "--steps", steps, "--out", out]
    for name, value in flags.items():
        args += ["--" + name.replace("_", "-"), value]
    run(*args)
    with np.load(out) as npz:
        return {k: npz[k] for k in npz.files}


def assert_same(swift: dict[str, np.ndarray], batches: MaskedBatches, first: int) -> None:
    for i, step in enumerate(swift["steps"]):
        assert step == first + i
        ours = batches.batch(int(step))
        for field in FIELDS:
            a, b = swift[field][i], getattr(ours, field)
            assert a.dtype == b.dtype and a.shape == b.shape, f"step {step} {field}: {a.dtype}{a.shape} vs {b.dtype}{b.shape}"
            if a.tobytes() != b.tobytes():
                rows = sorted({int(r) for r in np.nonzero(a != b)[0]})
                pytest.fail(f"step {step} {field}: rows {rows[:10]} differ")


CASES = [
    pytest.param({}, {}, id="defaults"),
    pytest.param({"seed": 12345, "mask_prob": 0.2, "batch_size": 24},
                 {"seed": 12345, "mask_prob": 0.2, "batch_size": 24}, id="seed-prob-batch"),
    pytest.param({"seed": 2**64 - 1, "mask_prob": 0.1, "mask_fraction": 0.5, "batch_size": 7},
                 {"seed": 2**64 - 1, "mask_prob": 0.1, "mask_token_fraction": 0.5, "batch_size": 7}, id="odd"),
]


@pytest.mark.parametrize("flags,kwargs", CASES)
def test_fifty_steps_byte_for_byte(electra_dev, shard_dir, tmp_path, flags, kwargs):
    swift = dump(electra_dev, shard_dir, tmp_path / "b.npz", "0..50", **flags)
    batches = MaskedBatches(shard_dir, **kwargs)
    assert swift["input_ids"].shape[:2] == (50, batches.batch_size)
    assert swift["masked_weights"].sum() > 0
    assert_same(swift, batches, 0)


def test_random_access_matches_a_later_window(electra_dev, shard_dir, tmp_path):
    swift = dump(electra_dev, shard_dir, tmp_path / "b.npz", "120..130", seed=3, batch_size=16)
    assert_same(swift, MaskedBatches(shard_dir, seed=3, batch_size=16), 120)


def test_across_epochs_on_small_shards(electra_dev, tmp_path):
    small = os.environ.get("ELECTRA_SHARDS_SMALL")
    if not small:
        pytest.skip("ELECTRA_SHARDS_SMALL is not set (tools/check-python-package.sh sets it)")
    batches = MaskedBatches(small, batch_size=20, seed=5)
    steps = 3 * batches.stream.sequences_per_epoch // 20 + 2   # three epochs and a bit
    assert steps <= 400, "the small shards are meant to be small"
    swift = dump(electra_dev, Path(small), tmp_path / "b.npz", f"0..{steps}", seed=5, batch_size=20)
    assert_same(swift, batches, 0)


def test_the_dump_differs_when_the_seed_does(electra_dev, shard_dir, tmp_path):
    swift = dump(electra_dev, shard_dir, tmp_path / "b.npz", "0..2", seed=1)
    assert swift["input_ids"][0].tobytes() != MaskedBatches(shard_dir, seed=0).batch(0).input_ids.tobytes()


def assert_same_held_out(swift: dict[str, np.ndarray], batches: MaskedBatches, limit: int) -> None:
    ours = batches.held_out_batches(limit)
    assert len(ours) == len(swift["held_out_real_rows"]) > 0
    for i, (batch, real) in enumerate(ours):
        assert real == swift["held_out_real_rows"][i]
        for field in FIELDS:
            assert swift["held_out_" + field][i].tobytes() == getattr(batch, field).tobytes(), f"held-out batch {i} {field}"


@pytest.mark.parametrize("seed,batch_size", [(0, 32), (8, 48)])
def test_held_out_batches_byte_for_byte(electra_dev, shard_dir, tmp_path, seed, batch_size):
    """The trainer's evaluation batches (what pretrain_torch.py evaluates on), the last one padded by repeats."""
    swift = dump(electra_dev, shard_dir, tmp_path / "h.npz", "0..1", seed=seed, batch_size=batch_size, held_out_batches=40)
    assert_same_held_out(swift, MaskedBatches(shard_dir, seed=seed, batch_size=batch_size), 40)
