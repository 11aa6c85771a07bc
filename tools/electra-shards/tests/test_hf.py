"""to_hf_dataset: the sequences in electra-train's order with MLM labels (datasets installed)."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from electra_shards import MaskedBatches
from electra_shards.hf import hf_examples


def test_examples_are_the_global_batches_in_order(shard_dir):
    batches = MaskedBatches(shard_dir, batch_size=8, seed=2)
    examples = list(hf_examples(batches, start_step=3, steps=2))
    assert len(examples) == 16
    for step in (3, 4):
        b = batches.batch(step)
        for r in range(8):
            e = examples[(step - 3) * 8 + r]
            assert e["input_ids"].tobytes() == b.input_ids[r].tobytes()
            masked = e["labels"] != -100
            assert masked.sum() == int(b.masked_weights[r].sum())
            assert np.array_equal(np.flatnonzero(masked), b.masked_positions[r][b.masked_weights[r] > 0])
            assert np.array_equal(e["labels"][masked], b.masked_original_ids[r][b.masked_weights[r] > 0])


@pytest.mark.skipif(importlib.util.find_spec("datasets") is None, reason="datasets is not installed")
def test_to_hf_dataset(shard_dir):
    from electra_shards.hf import to_hf_dataset
    batches = MaskedBatches(shard_dir, batch_size=4, seed=2)
    rows = list(to_hf_dataset(batches, start_step=1, steps=2))
    assert len(rows) == 8
    assert rows[5]["input_ids"] == batches.batch(2).input_ids[1].tolist()
    assert rows[0]["labels"].count(-100) < len(rows[0]["labels"])


@pytest.mark.skipif(any(importlib.util.find_spec(m) is None for m in ("datasets", "transformers", "accelerate", "torch")),
                    reason="datasets, transformers, accelerate and torch are needed")
def test_hf_trainer_trains_a_generator_on_it(shard_dir, tmp_path):
    """The HF Trainer consumes the dataset (ElectraForMaskedLM on the MLM labels), one process."""
    import torch
    from transformers import ElectraConfig, ElectraForMaskedLM, Trainer, TrainingArguments

    from electra_shards.hf import to_hf_dataset
    batches = MaskedBatches(shard_dir, batch_size=8, seed=1)
    config = ElectraConfig(vocab_size=batches.shards.vocab_size, embedding_size=16, hidden_size=32, num_hidden_layers=1,
                           num_attention_heads=1, intermediate_size=64, max_position_embeddings=128)
    model = ElectraForMaskedLM(config)
    seen = []

    def collate(rows):
        seen.append([r["input_ids"] for r in rows])
        keep = ("input_ids", "token_type_ids", "attention_mask", "labels")
        return {k: torch.tensor(np.stack([r[k] for r in rows]), dtype=torch.long) for k in keep}

    args = TrainingArguments(output_dir=str(tmp_path), per_device_train_batch_size=8, max_steps=2, report_to=[],
                             use_cpu=True, logging_steps=1, save_strategy="no", dataloader_num_workers=0)
    trainer = Trainer(model=model, args=args, train_dataset=to_hf_dataset(batches, steps=2), data_collator=collate)
    result = trainer.train()
    assert np.isfinite(result.training_loss)
    assert len(seen) == 2 and seen[1][3] == batches.batch(1).input_ids[3].tolist()
