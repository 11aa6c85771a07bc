"""The exact batches electra-train trains on, ported from Sources/Batching/BatchProducer.swift.

Shuffling is two-level: a seeded permutation of the training frames per epoch
(xoshiro256** stream 0x65706F6368000000 + epoch), then the sequences of each window of
`shuffle_window_frames` consecutive permuted frames shuffled together (stream
0x77696E0000000000 + epoch << 24 + window). The held-out frames (ranked by SplitMix64 of their
first sequence number, the first ceil(1%) of them) are left out of training. Sequence `i` of
the stream (row r of step s is i = s * B + r) is masked with derivedKey(seed, "mask", i).

Because every piece is a function of the seed and of an integer, any row of any step can be
computed directly: `MaskedBatches.batch(step)`, `rows(start, stop)`.
"""
from __future__ import annotations

import math
import os
from collections import OrderedDict
from typing import Any, Iterator, Mapping

import numpy as np
import numpy.typing as npt

from ._random import M64, Xoshiro256, seeded_shuffle, splitmix64
from .masking import MaskedBatch, MaskingOptions, SpecialIds, mask_keys, mask_rows, pad_rows
from .reader import FrameSequences, ShardDirectory, ShardError, concat_sequences

EPOCH_STREAM = 0x65706F6368000000  # "epoch"
WINDOW_STREAM = 0x77696E0000000000  # "win"


def held_out_frames(shards: ShardDirectory, fraction: float) -> set[int]:
    """Batching's held-out rule: frames ranked by SplitMix64 of their first sequence number; the
    first ceil(fraction x frames) (at least one, at most all but one) are held out."""
    n = len(shards.frames)
    if fraction <= 0 or n < 2:
        return set()
    count = min(n - 1, max(1, math.ceil(fraction * n)))
    ranked = sorted(range(n), key=lambda i: (splitmix64(shards.frames[i].first_sequence & M64), i))
    return set(ranked[:count])


class SequenceStream:
    """The training sequences of one shard directory in electra-train's order, by index.

    `padded(indices)` gives any sequences of the (endless, epoch after epoch) stream, padded,
    reading only the windows that hold them.
    """

    def __init__(self, shards: ShardDirectory | str | os.PathLike[str], seed: int = 0,
                 shuffle_window_frames: int = 8, held_out_fraction: float = 0.01, cache_windows: int = 3) -> None:
        self.shards = shards if isinstance(shards, ShardDirectory) else ShardDirectory(shards)
        if shuffle_window_frames < 1:
            raise ValueError("shuffle_window_frames must be at least 1")
        self.seed = seed & M64
        self.window_frames = shuffle_window_frames
        self.held_out_fraction = held_out_fraction
        held = held_out_frames(self.shards, held_out_fraction)
        self.held_out = sorted(held)
        self.train_frames = [i for i, f in enumerate(self.shards.frames) if i not in held and f.count > 0]
        if not self.train_frames:
            raise ShardError(f"no training sequences: the shards hold {len(self.shards.frames)} frame(s), "
                             "none left for training")
        self._counts = np.array([self.shards.frames[i].count for i in range(len(self.shards.frames))], dtype=np.int64)
        self.sequences_per_epoch = int(self._counts[self.train_frames].sum())
        self.windows_per_epoch = (len(self.train_frames) + shuffle_window_frames - 1) // shuffle_window_frames
        self._epochs: OrderedDict[int, tuple[list[int], npt.NDArray[np.int64]]] = OrderedDict()
        self._windows: OrderedDict[tuple[int, int], tuple[FrameSequences, npt.NDArray[np.int64]]] = OrderedDict()
        self._cache_windows = max(1, cache_windows)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_windows"] = OrderedDict()
        return state

    def _epoch(self, epoch: int) -> tuple[list[int], npt.NDArray[np.int64]]:
        """The permuted training frames of `epoch` and the first stream offset of each window."""
        layout = self._epochs.get(epoch)
        if layout is None:
            order = seeded_shuffle(len(self.train_frames), Xoshiro256(self.seed, (EPOCH_STREAM + epoch) & M64))
            permutation = [self.train_frames[k] for k in order]
            sizes = [int(self._counts[permutation[w * self.window_frames:(w + 1) * self.window_frames]].sum())
                     for w in range(self.windows_per_epoch)]
            starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
            layout = (permutation, starts)
            self._epochs[epoch] = layout
            while len(self._epochs) > 2:
                self._epochs.popitem(last=False)
        return layout

    def window(self, epoch: int, w: int) -> tuple[FrameSequences, npt.NDArray[np.int64]]:
        """Window w of `epoch`: its sequences (in frame order) and the shuffled order of them."""
        key = (epoch, w)
        hit = self._windows.get(key)
        if hit is not None:
            self._windows.move_to_end(key)
            return hit
        permutation, _ = self._epoch(epoch)
        frames = permutation[w * self.window_frames:(w + 1) * self.window_frames]
        seqs = concat_sequences([self.shards.read_frame(f) for f in frames])
        rng = Xoshiro256(self.seed, (WINDOW_STREAM + (epoch << 24) + w) & M64)
        order = np.array(seeded_shuffle(len(seqs), rng), dtype=np.int64)
        self._windows[key] = (seqs, order)
        while len(self._windows) > self._cache_windows:
            self._windows.popitem(last=False)
        return seqs, order

    def locate(self, indices: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(epoch, window, offset) of each stream sequence of `indices`."""
        epochs, r = np.divmod(indices, self.sequences_per_epoch)
        windows = np.empty_like(indices)
        offsets = np.empty_like(indices)
        for epoch in np.unique(epochs):
            here = epochs == epoch
            _, starts = self._epoch(int(epoch))
            w = np.searchsorted(starts, r[here], side="right") - 1
            windows[here] = w
            offsets[here] = r[here] - starts[w]
        return epochs, windows, offsets

    def padded(self, indices: npt.NDArray[np.int64], seq_length: int, pad_id: int
               ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.int64]]:
        """Stream sequences `indices`, padded to `seq_length` (longer ones cut): input ids,
        segment ids, attention mask and kept lengths, one row per index."""
        epochs, windows, offsets = self.locate(indices)
        R = len(indices)
        ids = np.empty((R, seq_length), dtype=np.int32)
        segments = np.empty((R, seq_length), dtype=np.int32)
        attention = np.empty((R, seq_length), dtype=np.int32)
        lengths = np.empty(R, dtype=np.int64)
        key = epochs * (self.windows_per_epoch + 1) + windows
        for k in dict.fromkeys(key.tolist()):  # windows in order of first use
            here = np.flatnonzero(key == k)
            seqs, order = self.window(int(epochs[here[0]]), int(windows[here[0]]))
            sel = order[offsets[here]]
            ids[here], segments[here], attention[here], lengths[here] = pad_rows(
                seqs.tokens, seqs.starts[sel], seqs.lengths[sel], seqs.b_starts[sel], seq_length, pad_id)
        return ids, segments, attention, lengths


class MaskedBatches:
    """electra-train's global batches: for any step, the same rows in the same order with the
    same masked positions and replacements, byte for byte.

    >>> batches = MaskedBatches("data", batch_size=32, seed=0)
    >>> b = batches.batch(0)                 # what update 1 of `electra-train --seed 0` trains on
    >>> b.input_ids.shape, b.masked_positions.shape
    ((32, 128), (32, 19))
    >>> for batch in batches: ...            # steps 0, 1, 2, ... (resumable: state_dict())

    The defaults are electra-train's (batch 32, seed 0, 0.15, 0.85); the sequence length is the
    shards' (as in the trainer). `shards` may mix several directories by sample proportion as
    electra-train's --shards does: "web=0.7,books=0.3", or {"web": 0.7, "books": 0.3}.
    """

    def __init__(self, shards: ShardDirectory | str | os.PathLike[str] | Mapping[str, float], batch_size: int = 32, seed: int = 0,
                 mask_prob: float = 0.15, mask_token_fraction: float = 0.85, shuffle_window_frames: int = 8,
                 held_out_fraction: float = 0.01) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        from .mixing import MixedStream, parse_mixture
        mixture = None if isinstance(shards, ShardDirectory) else parse_mixture(shards)
        self.stream: SequenceStream | MixedStream
        if mixture is None:
            assert isinstance(shards, (ShardDirectory, str, os.PathLike))
            self.stream = SequenceStream(shards, seed=seed, shuffle_window_frames=shuffle_window_frames,
                                         held_out_fraction=held_out_fraction)
        else:
            self.stream = MixedStream(mixture, seed & M64, shuffle_window_frames, held_out_fraction)
        self.shards = self.stream.shards
        self.batch_size = batch_size
        self.seed = seed & M64
        self.masking = MaskingOptions(mask_prob, mask_token_fraction, self.shards.max_seq_length)
        sh = self.shards
        self.specials = SpecialIds(sh.pad_id, sh.cls_id, sh.sep_id, sh.mask_id)
        self.step = 0
        #: Steps computed together when iterating.
        self.block_steps = 8

    @property
    def steps_per_epoch(self) -> int:
        return self.stream.sequences_per_epoch // self.batch_size

    def rows(self, start: int, stop: int) -> MaskedBatch:
        """Stream sequences start..<stop, masked (row r of step s is sequence s * batch_size + r)."""
        return self.rows_at(np.arange(start, stop, dtype=np.int64))

    def rows_at(self, indices: npt.NDArray[np.int64]) -> MaskedBatch:
        """Stream sequences `indices` (any order), masked, one row each."""
        indices = np.asarray(indices, dtype=np.int64)
        ids, segments, attention, lengths = self.stream.padded(indices, self.masking.max_seq_length, self.specials.pad)
        keys = mask_keys(self.seed, indices)
        return mask_rows(ids, segments, attention, lengths, keys, self.masking, self.specials)

    def batch(self, step: int) -> MaskedBatch:
        """The global batch of `step` (0-based: the batch of electra-train's update step + 1)."""
        return self.rows(step * self.batch_size, (step + 1) * self.batch_size)

    def steps_rows(self, steps: list[int], row_range: tuple[int, int] | None = None) -> list[MaskedBatch]:
        """Rows `row_range` (default: all) of the global batches of `steps`, computed together
        (one vectorised pass is faster than one per batch)."""
        a, b = row_range or (0, self.batch_size)
        if not steps:
            return []
        indices = (np.asarray(steps, dtype=np.int64)[:, None] * self.batch_size + np.arange(a, b)[None, :]).ravel()
        whole = self.rows_at(indices)
        n = b - a
        return [whole.rows(k * n, (k + 1) * n) for k in range(len(steps))]

    def __iter__(self) -> Iterator[MaskedBatch]:
        """Steps self.step, self.step + 1, ... (computed `block_steps` at a time)."""
        while True:
            for batch in self.steps_rows(list(range(self.step, self.step + self.block_steps))):
                self.step += 1
                yield batch

    @property
    def mixed(self) -> bool:
        return not isinstance(self.stream, SequenceStream)

    def source_counts(self, step: int) -> dict[str, int]:
        """A mixture: the sequences taken from each directory before `step` (metrics.jsonl's
        sequences_from_NAME after step `step`)."""
        if isinstance(self.stream, SequenceStream):
            return {self.shards.directory: step * self.batch_size}
        counts = self.stream.blend.counts_at(step * self.batch_size)
        return dict(zip(self.stream.names, counts))

    def state_dict(self, step: int | None = None) -> dict[str, Any]:
        """Where the iteration stands (the next step; or `step`), with what it depends on; for a
        mixture the blend's counts too, so that resuming does not replay the blend."""
        step = self.step if step is None else step
        state: dict[str, Any] = {"step": step, "seed": self.seed, "batch_size": self.batch_size}
        if not isinstance(self.stream, SequenceStream):
            state["mixture_counts"] = self.stream.blend.counts_at(step * self.batch_size)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("seed", self.seed) != self.seed or state.get("batch_size", self.batch_size) != self.batch_size:
            raise ValueError(f"the state belongs to seed {state.get('seed')} and batch size {state.get('batch_size')}, "
                             f"these batches to seed {self.seed} and batch size {self.batch_size}")
        self.step = int(state["step"])
        counts = state.get("mixture_counts")
        if (counts is not None) != self.mixed:
            raise ValueError("the state is of a mixture and these batches are not, or the other way round")
        if counts is not None and not isinstance(self.stream, SequenceStream):
            self.stream.blend.seed_state(self.step * self.batch_size, counts)

    def held_out_batches(self, limit: int) -> list[tuple[MaskedBatch, int]]:
        """electra-train's evaluation batches: the held-out frames' sequences in order, masked with
        derivedKey(seed, "eval", i), at most `limit` batches; the last completed by repeating from
        the start, with the number of new rows."""
        wanted = limit * self.batch_size
        if isinstance(self.stream, SequenceStream):
            parts: list[FrameSequences] = []
            have = 0
            for f in self.stream.held_out:
                if have >= wanted:
                    break
                parts.append(self.shards.read_frame(f))
                have += len(parts[-1])
            seqs = concat_sequences(parts)
            order = np.arange(min(have, wanted), dtype=np.int64)
        else:
            seqs, order = self.stream.held_out_sequences(wanted)
        n = len(order)
        out: list[tuple[MaskedBatch, int]] = []
        B = self.batch_size
        for start in range(0, n, B):
            index = (start + np.arange(B)) % n
            sel = order[index]
            ids, seg, att, lengths = pad_rows(seqs.tokens, seqs.starts[sel], seqs.lengths[sel],
                                              seqs.b_starts[sel], self.masking.max_seq_length, self.specials.pad)
            keys = mask_keys(self.seed, index, held_out=True)
            out.append((mask_rows(ids, seg, att, lengths, keys, self.masking, self.specials), min(B, n - start)))
        return out
