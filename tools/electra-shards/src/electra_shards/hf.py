"""HuggingFace side: electra-train's batches as a `datasets.IterableDataset` for the HF Trainer.

Examples come one sequence at a time in the global order (step 0's rows 0..B-1, then step 1's,
...), so a single-process Trainer with per_device_train_batch_size = B trains on electra-train's
batches. With N processes and per_device_train_batch_size = B/N, accelerate slices each group of
B examples of an iterable dataset into contiguous shares, process i taking rows i·B/N.. (that is
how its IterableDatasetShard and its batch dispatching work; not tested here under several
processes: the DDP path tested is electra_shards.torch_data). Fields: input_ids (masked),
token_type_ids, attention_mask, labels (-100 except at the masked positions: the original ids,
as ElectraForMaskedLM expects), masked_positions, masked_original_ids, masked_weights,
original_input_ids (for a discriminator's labels).

    from electra_shards import MaskedBatches
    from electra_shards.hf import to_hf_dataset
    train = to_hf_dataset(MaskedBatches("data", batch_size=128, seed=0), steps=10_000)
"""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from .stream import MaskedBatches


def hf_examples(batches: MaskedBatches, start_step: int = 0, steps: int | None = None, block: int = 8
                ) -> Iterator[dict[str, Any]]:
    """The sequences of steps start_step..<start_step + steps (endless when None), in order, as dicts."""
    step = start_step
    while steps is None or step < start_step + steps:
        chunk = list(range(step, step + block if steps is None else min(step + block, start_step + steps)))
        for batch in batches.steps_rows(chunk):
            originals = batch.original_input_ids
            labels = np.full(batch.input_ids.shape, -100, dtype=np.int64)
            rows, slots = np.nonzero(batch.masked_weights > 0)
            labels[rows, batch.masked_positions[rows, slots]] = batch.masked_original_ids[rows, slots]
            for r in range(len(batch)):
                yield {"input_ids": batch.input_ids[r], "token_type_ids": batch.segment_ids[r],
                       "attention_mask": batch.attention_mask[r], "labels": labels[r],
                       "masked_positions": batch.masked_positions[r], "masked_original_ids": batch.masked_original_ids[r],
                       "masked_weights": batch.masked_weights[r], "original_input_ids": originals[r]}
        step = chunk[-1] + 1


def to_hf_dataset(batches: MaskedBatches, start_step: int = 0, steps: int | None = None):  # type: ignore[no-untyped-def]
    """A `datasets.IterableDataset` of the sequences of `steps` global batches from `start_step`
    (endless when None), in electra-train's order (requires the `datasets` package)."""
    import datasets

    L, N = batches.masking.max_seq_length, batches.masking.max_predictions
    ints = lambda n: datasets.Sequence(datasets.Value("int32"), length=n)  # noqa: E731
    features = datasets.Features({
        "input_ids": ints(L), "token_type_ids": ints(L), "attention_mask": ints(L),
        "labels": datasets.Sequence(datasets.Value("int64"), length=L),
        "masked_positions": ints(N), "masked_original_ids": ints(N),
        "masked_weights": datasets.Sequence(datasets.Value("float32"), length=N), "original_input_ids": ints(L),
    })
    return datasets.IterableDataset.from_generator(
        hf_examples, features=features, gen_kwargs={"batches": batches, "start_step": start_step, "steps": steps})
