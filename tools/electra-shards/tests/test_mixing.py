"""Proof 3 (package side): weighted mixing as electra-train mixes (`--shards a=0.7,b=0.3`):
byte for byte against `electra-dev dump-batches` with the same --shards, the per-source counts
metrics.jsonl reports, proportions within 1% over 10,000 sequences, deterministic, resumable."""
from __future__ import annotations

import os

import numpy as np
import pytest

from electra_shards import MaskedBatches
from electra_shards.mixing import Blend, parse_mixture
from test_parity import assert_same, assert_same_held_out, dump


@pytest.fixture(scope="module")
def small():
    path = os.environ.get("ELECTRA_SHARDS_SMALL")
    if not path:
        pytest.skip("ELECTRA_SHARDS_SMALL is not set (tools/check-python-package.sh sets it)")
    return path


def test_mixture_byte_for_byte_with_the_trainer(electra_dev, shard_dir, small, tmp_path):
    spec = f"{shard_dir}=0.7,{small}=0.3"
    batches = MaskedBatches(spec, batch_size=16, seed=9)
    # enough steps for the small source (30% of the rows) to pass an epoch
    steps = min(max(int(1.2 * batches.stream.streams[1].sequences_per_epoch / 0.3 / 16) + 1, 50), 200)
    swift = dump(electra_dev, shard_dir, tmp_path / "m.npz", f"0..{steps}", seed=9, batch_size=16)  # single: differs
    mixed = dump(electra_dev, spec, tmp_path / "mix.npz", f"0..{steps}", seed=9, batch_size=16)
    assert swift["input_ids"].tobytes() != mixed["input_ids"].tobytes()
    assert_same(mixed, batches, 0)
    for i in range(steps):
        assert list(batches.source_counts(i + 1).values()) == mixed["source_counts"][i].tolist()
    last = mixed["source_counts"][-1]
    assert last[1] > batches.stream.streams[1].sequences_per_epoch, "the small source did not wrap an epoch"


def test_proportions_within_one_percent_over_ten_thousand_sequences():
    for weights in ([0.7, 0.3], [1.0, 3.0], [0.2, 0.3, 0.5]):
        counts = Blend(weights).counts_at(10_000)
        shares = np.array(counts) / 10_000
        expected = np.array(weights) / sum(weights)
        assert sum(counts) == 10_000
        assert np.all(np.abs(shares - expected) <= 0.01), (weights, counts)


def test_blend_random_access_equals_a_sequential_replay():
    blend = Blend([0.6, 0.4])
    k_all, j_all = blend.assign(0, 20_000)
    fresh = Blend([0.6, 0.4])
    k, j = fresh.assign(13_000, 13_500)  # from the kept state at 12,288
    assert k.tolist() == k_all[13_000:13_500].tolist() and j.tolist() == j_all[13_000:13_500].tolist()
    assert fresh.counts_at(20_000) == [int((k_all == 0).sum()), int((k_all == 1).sum())]


def test_deterministic_and_resumable(shard_dir, small):
    spec = {str(shard_dir): 0.5, small: 0.5}
    a = MaskedBatches(spec, batch_size=12, seed=4)
    b = MaskedBatches(spec, batch_size=12, seed=4)
    for step in range(3):
        assert a.batch(step).input_ids.tobytes() == b.batch(step).input_ids.tobytes()
    it = iter(a)
    whole = [next(it) for _ in range(30)]
    state = MaskedBatches(spec, batch_size=12, seed=4).state_dict(step=17)
    assert state["mixture_counts"] == list(a.source_counts(17).values())
    resumed = MaskedBatches(spec, batch_size=12, seed=4)
    resumed.load_state_dict(state)
    assert resumed.stream.blend.counts_at(17 * 12) == state["mixture_counts"]
    it = iter(resumed)
    for step in range(17, 30):
        assert next(it).input_ids.tobytes() == whole[step].input_ids.tobytes(), f"step {step} after resuming"


def test_a_plain_state_is_refused_by_a_mixture(shard_dir, small):
    state = MaskedBatches(shard_dir, batch_size=12, seed=4).state_dict(step=3)
    with pytest.raises(ValueError, match="mixture"):
        MaskedBatches(f"{shard_dir}=1,{small}=1", batch_size=12, seed=4).load_state_dict(state)


def test_mixture_spec_parsing():
    assert parse_mixture("data") is None
    assert parse_mixture("web=0.7,/x/books=0.3") == [("web", 0.7), ("/x/books", 0.3)]
    for bad in ["web=0,books=1", "web=x", "=1", "web=1,web=2", "web=1,books"]:
        with pytest.raises(ValueError):
            parse_mixture(bad)


def test_mixture_held_out_batches_byte_for_byte(electra_dev, shard_dir, small, tmp_path):
    spec = f"{shard_dir}=0.5,{small}=0.5"
    swift = dump(electra_dev, spec, tmp_path / "h.npz", "0..1", seed=2, batch_size=16, held_out_batches=6)
    assert_same_held_out(swift, MaskedBatches(spec, batch_size=16, seed=2), 6)


@pytest.mark.skipif(__import__("importlib").util.find_spec("torch") is None, reason="torch is not installed")
def test_dataloader_resumes_a_mixture(shard_dir, small):
    from electra_shards.torch_data import ElectraBatchDataset, ElectraDataLoader
    spec = f"{shard_dir}=0.6,{small}=0.4"

    def run(workers, state=None, take=8):
        loader = ElectraDataLoader(ElectraBatchDataset(MaskedBatches(spec, batch_size=8, seed=3), rank=1, world_size=2),
                                   num_workers=workers)
        if state is not None:
            loader.load_state_dict(state)
        out = []
        for batch in loader:
            out.append(batch["input_ids"].numpy().tobytes())
            if len(out) == take:
                break
        return out, loader.state_dict()

    whole, _ = run(2, take=12)
    first, state = run(2, take=5)
    assert state["step"] == 5 and len(state["mixture_counts"]) == 2 and sum(state["mixture_counts"]) == 40
    rest, _ = run(1, state=state, take=7)
    assert first + rest == whole
