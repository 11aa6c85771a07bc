"""Weighted mixing of several shard directories by sample proportion, ported from
Sources/Batching/BatchMixing.swift (Megatron-LM's blend, helpers.cpp build_blending_indices):
sequence i of the mixed stream comes from argmax_k(w_k * max(i, 1) - n_k) (the first on ties),
n_k the sequences taken from source k so far, the weights normalised to sum 1. Source k is its
own stream (held-out frames, epochs, windows) seeded with derivedKey(seed, "corpus", k); the
masks are keyed by the index in the mixed stream."""
from __future__ import annotations

import os
from typing import Mapping, Sequence, Union

import numpy as np
import numpy.typing as npt

from ._random import derived_key
from .reader import ShardDirectory, ShardError
from .stream import SequenceStream

CORPUS_STREAM = 0x636F72707573  # "corpus"
#: Blend states kept for random access: one every this many mixed sequences.
CHECKPOINT_EVERY = 4096

MixtureLike = Union[str, "os.PathLike[str]", Mapping[str, float], Sequence[tuple[str, float]]]


def parse_mixture(spec: MixtureLike) -> list[tuple[str, float]] | None:
    """`"web=0.7,books=0.3"` (electra-train's --shards), a dict or (path, weight) pairs; None
    for a plain path."""
    if isinstance(spec, (str, os.PathLike)):
        text = os.fspath(spec)
        if "=" not in text:
            return None
        out = []
        for part in text.split(","):
            path, eq, weight = part.rpartition("=")
            try:
                w = float(weight)
            except ValueError:
                w = -1.0
            if not eq or not path or not (w > 0 and np.isfinite(w)):
                raise ValueError(f"--shards {text}: '{part}' is not PATH=WEIGHT with a positive weight (e.g. web=0.7,books=0.3)")
            out.append((path, w))
    else:
        items = spec.items() if isinstance(spec, Mapping) else spec
        out = [(os.fspath(p), float(w)) for p, w in items]
        if any(not (w > 0) for _, w in out):
            raise ValueError("mixture weights must be positive")
    if len({p for p, _ in out}) != len(out):
        raise ValueError("a directory is named twice in the mixture")
    return out


def normalized_weights(weights: Sequence[float]) -> list[float]:
    total = 0.0
    for w in weights:  # summed in order, as Swift's reduce
        total += w
    return [w / total for w in weights]


def source_seed(seed: int, k: int) -> int:
    return derived_key(seed, CORPUS_STREAM, k)


class Blend:
    """Which source, and which of its sequences, each mixed-stream index takes.

    Random access replays the blend from the nearest kept state (one every CHECKPOINT_EVERY
    sequences); `seed_state` adds a known state (a resumed run's counts) to start from.
    """

    def __init__(self, weights: Sequence[float]) -> None:
        self.weights = normalized_weights(weights)
        self._states: dict[int, list[int]] = {0: [0] * len(self.weights)}

    def seed_state(self, index: int, counts: Sequence[int]) -> None:
        if len(counts) != len(self.weights):
            raise ValueError(f"{len(counts)} counts for a mixture of {len(self.weights)}")
        self._states[index] = list(counts)

    def counts_at(self, index: int) -> list[int]:
        """Sequences taken from each source before mixed index `index`."""
        start = max(i for i in self._states if i <= index)
        counts = list(self._states[start])
        self._replay(start, index, counts, None, None)
        return counts

    def assign(self, start: int, stop: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(source, index in the source's stream) of mixed indices start..<stop."""
        begin = max(i for i in self._states if i <= start)
        counts = list(self._states[begin])
        self._replay(begin, start, counts, None, None)
        sources = np.empty(stop - start, dtype=np.int64)
        within = np.empty(stop - start, dtype=np.int64)
        self._replay(start, stop, counts, sources, within)
        return sources, within

    def _replay(self, start: int, stop: int, counts: list[int], sources, within) -> None:  # type: ignore[no-untyped-def]
        w = self.weights
        K = len(w)
        states = self._states
        for i in range(start, stop):
            if i % CHECKPOINT_EVERY == 0 and i not in states:
                states[i] = list(counts)
            x = float(max(i, 1))
            best = 0
            best_error = w[0] * x - float(counts[0])
            for k in range(1, K):
                error = w[k] * x - float(counts[k])
                if error > best_error:
                    best, best_error = k, error
            if sources is not None:
                sources[i - start] = best
                within[i - start] = counts[best]
            counts[best] += 1


class MixedStream:
    """Several SequenceStreams mixed by weight, with SequenceStream's `padded(indices)`."""

    def __init__(self, mixture: list[tuple[str, float]], seed: int, shuffle_window_frames: int,
                 held_out_fraction: float) -> None:
        self.names = [p for p, _ in mixture]
        self.streams = []
        for k, (path, _) in enumerate(mixture):
            try:
                self.streams.append(SequenceStream(path, seed=source_seed(seed, k),
                                                   shuffle_window_frames=shuffle_window_frames,
                                                   held_out_fraction=held_out_fraction))
            except ShardError as e:
                raise ShardError(f"{path}: {e}") from e
        first: ShardDirectory = self.streams[0].shards
        for stream in self.streams[1:]:
            other = stream.shards
            if (other.vocab_sha256, other.max_seq_length, other.pad_id, other.cls_id, other.sep_id, other.mask_id) != (
                    first.vocab_sha256, first.max_seq_length, first.pad_id, first.cls_id, first.sep_id, first.mask_id):
                raise ShardError(f"{other.directory}: mixed shard directories must share the vocabulary and the sequence "
                                 f"length ({first.directory} differs)")
        self.shards = first
        self.blend = Blend([w for _, w in mixture])
        self.sequences_per_epoch = sum(s.sequences_per_epoch for s in self.streams)

    def padded(self, indices: npt.NDArray[np.int64], seq_length: int, pad_id: int):  # type: ignore[no-untyped-def]
        lo, hi = int(indices.min()), int(indices.max()) + 1
        sources, within = self.blend.assign(lo, hi)
        k_of, j_of = sources[indices - lo], within[indices - lo]
        R = len(indices)
        ids = np.empty((R, seq_length), dtype=np.int32)
        segments = np.empty((R, seq_length), dtype=np.int32)
        attention = np.empty((R, seq_length), dtype=np.int32)
        lengths = np.empty(R, dtype=np.int64)
        for k, stream in enumerate(self.streams):
            here = np.flatnonzero(k_of == k)
            if len(here):
                ids[here], segments[here], attention[here], lengths[here] = stream.padded(j_of[here], seq_length, pad_id)
        return ids, segments, attention, lengths

    def held_out_sequences(self, wanted: int):  # type: ignore[no-untyped-def]
        """The sources' held-out sequences interleaved by the blend (exhausted sources drop out):
        (tokens, starts, lengths, b_starts) of at most `wanted` sequences."""
        from .reader import concat_sequences
        lists = []
        for stream in self.streams:
            parts, have = [], 0
            for f in stream.held_out:
                if have >= wanted:
                    break
                parts.append(stream.shards.read_frame(f))
                have += len(parts[-1])
            lists.append(concat_sequences(parts))
        sizes = [min(len(seqs), wanted) for seqs in lists]
        counts = [0] * len(lists)
        w = self.blend.weights
        picks: list[tuple[int, int]] = []
        while len(picks) < wanted:
            x = float(max(len(picks), 1))
            best, best_error = -1, 0.0
            for k in range(len(lists)):
                if counts[k] < sizes[k]:
                    error = w[k] * x - float(counts[k])
                    if best < 0 or error > best_error:
                        best, best_error = k, error
            if best < 0:
                break
            picks.append((best, counts[best]))
            counts[best] += 1
        merged = concat_sequences(lists)
        offsets = np.concatenate([[0], np.cumsum([len(s) for s in lists])]).astype(np.int64)
        order = np.array([offsets[k] + j for k, j in picks], dtype=np.int64)
        return merged, order
