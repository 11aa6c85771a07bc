"""Dynamic masking for ELECTRA pre-training, ported from Sources/Masking/Masking.swift (which
follows google-research/electra pretrain_helpers.py `mask()`): candidates are the real tokens
but [CLS], [SEP], [MASK] and padding; max(1, min(N, round_half_even(float32(n) * float32(p))))
of them are drawn without replacement by a partial Fisher-Yates; each becomes [MASK] with
probability 0.85 and keeps its token otherwise. Sequence `index` of the training stream is
masked by xoshiro256** seeded with derivedKey(seed, "mask", index) (Batching's
`maskGenerator`), so a row's masks depend on nothing but the seed and its global index.

Vectorised: the generators of all rows of a batch step together in numpy uint64 lanes, giving
the Swift trainer's bytes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ._random import XoshiroLanes, derived_keys

MASK_STREAM = 0x6D61736B  # "mask"
HELD_OUT_STREAM = 0x6576616C  # "eval"


@dataclass(frozen=True)
class MaskingOptions:
    """The masking settings of a run (electra-train `--mask-prob`, `--mask-token-fraction`)."""

    mask_prob: float = 0.15
    mask_token_fraction: float = 0.85
    max_seq_length: int = 128

    @property
    def max_predictions(self) -> int:
        """N = int((mask_prob + 0.005) * max_seq_length), the probability taken as a float32 (19 for 0.15 x 128)."""
        return int((float(np.float32(self.mask_prob)) + 0.005) * float(self.max_seq_length))

    def prediction_counts(self, lengths: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """max(1, min(N, round_half_even(float32(n) * float32(p)))) for each token count n."""
        product = lengths.astype(np.float32) * np.float32(self.mask_prob)
        return np.clip(np.rint(product).astype(np.int64), 1, self.max_predictions)


@dataclass(frozen=True)
class SpecialIds:
    pad: int = 0
    cls: int = 2
    sep: int = 3
    mask: int = 4


@dataclass
class MaskedBatch:
    """Rows of masked sequences, fixed shapes (B rows, L tokens, N prediction slots).

    The field names are those of `electra-dev dump-batches`' npz file.
    """

    input_ids: npt.NDArray[np.int32]  # (B, L), after masking, padded with [PAD]
    segment_ids: npt.NDArray[np.int32]  # (B, L)
    attention_mask: npt.NDArray[np.int32]  # (B, L), 1 for real tokens
    masked_positions: npt.NDArray[np.int32]  # (B, N), ascending, padded with 0
    masked_original_ids: npt.NDArray[np.int32]  # (B, N), padded with 0
    masked_weights: npt.NDArray[np.float32]  # (B, N), 1 for a real prediction

    FIELDS = ("input_ids", "segment_ids", "attention_mask", "masked_positions", "masked_original_ids",
              "masked_weights")

    def __len__(self) -> int:
        return int(self.input_ids.shape[0])

    def rows(self, start: int, stop: int) -> "MaskedBatch":
        """Rows start..<stop, as a batch of their own (views)."""
        return MaskedBatch(*(getattr(self, f)[start:stop] for f in self.FIELDS))

    def as_dict(self) -> dict[str, npt.NDArray[np.generic]]:
        return {f: getattr(self, f) for f in self.FIELDS}

    @property
    def original_input_ids(self) -> npt.NDArray[np.int32]:
        """The unmasked ids: the masked ones with the originals put back."""
        ids = self.input_ids.copy()
        rows, slots = np.nonzero(self.masked_weights > 0)
        ids[rows, self.masked_positions[rows, slots]] = self.masked_original_ids[rows, slots]
        return ids


def pad_rows(tokens: npt.NDArray[np.int32], starts: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64],
             b_starts: npt.NDArray[np.int64], seq_length: int, pad_id: int
             ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.int64]]:
    """Sequences (given by start and length in `tokens`) padded to `seq_length` (longer ones cut):
    input ids, segment ids (1 from b_start on), attention mask, and the kept lengths."""
    L = seq_length
    kept = np.minimum(lengths, L)
    pos = np.arange(L, dtype=np.int64)
    real = pos[None, :] < kept[:, None]
    gather = np.where(real, starts[:, None] + pos[None, :], 0)
    ids = np.where(real, tokens[gather] if len(tokens) else 0, pad_id).astype(np.int32)
    segments = (real & (pos[None, :] >= b_starts[:, None])).astype(np.int32)
    return ids, segments, real.astype(np.int32), kept


def mask_rows(ids: npt.NDArray[np.int32], segments: npt.NDArray[np.int32], attention: npt.NDArray[np.int32],
              lengths: npt.NDArray[np.int64], keys: npt.NDArray[np.uint64], options: MaskingOptions,
              specials: SpecialIds) -> MaskedBatch:
    """Masks padded rows in place of `ids`, row r with xoshiro256** seeded by `keys[r]`.

    Exactly Swift's `Masker.mask` for every row.
    - Complexity: O(R x L) numpy work in O(N) vector steps.
    """
    R, L = ids.shape
    N = options.max_predictions
    candidate = ((np.arange(L)[None, :] < lengths[:, None]) & (ids != specials.cls) & (ids != specials.sep)
                 & (ids != specials.mask) & (ids != specials.pad))
    n_candidates = candidate.sum(axis=1)
    counts = np.minimum(np.minimum(options.prediction_counts(lengths), n_candidates), N)
    # Candidate positions ascending, compacted to the left of each row (as Swift builds them).
    cand = np.argsort(~candidate, axis=1, kind="stable").astype(np.int64)
    # Lanes ordered by count, largest first: at draw k the rows still drawing are a prefix.
    order = np.argsort(-counts, kind="stable")
    c_sorted = counts[order]
    cand = cand[order]
    nc = n_candidates[order].astype(np.uint64)
    lanes = XoshiroLanes(keys[order])
    top = int(c_sorted[0]) if R else 0
    # active[k]: the rows still drawing at draw k (count > k), a prefix of the sorted lanes
    active = (R - np.cumsum(np.bincount(c_sorted, minlength=top + 1))[:top]).tolist()
    rows = np.arange(R)
    # Partial Fisher-Yates: position k swaps with k + uniform(count of candidates - k).
    for k in range(top):
        n = active[k]
        j = lanes.uniform(nc[:n] - np.uint64(k)).astype(np.intp) + k
        r = rows[:n]
        a = cand[:n, k].copy()
        cand[:n, k] = cand[r, j]
        cand[r, j] = a
    width = max(top, 1)
    chosen = cand[:, :width].copy()
    chosen[np.arange(width)[None, :] >= c_sorted[:, None]] = L  # past the count: sorted to the end
    chosen.sort(axis=1)
    # The [MASK] draws, one per chosen position in ascending order.
    # nextFloat() < fraction  <=>  bits * 2^-24 < fraction  <=>  bits < fraction * 2^24, all exact in float64
    threshold = float(np.float32(options.mask_token_fraction)) * 2.0 ** 24
    replace = np.zeros((R, width), dtype=bool)
    for k in range(top):
        n = active[k]
        bits = lanes.next(n) >> np.uint64(40)
        replace[:n, k] = bits.astype(np.float64) < threshold
    inverse = np.empty(R, dtype=np.int64)
    inverse[order] = np.arange(R)
    chosen, replace = chosen[inverse], replace[inverse]
    valid = np.arange(width)[None, :] < counts[:, None]
    positions = np.zeros((R, N), dtype=np.int32)
    originals = np.zeros((R, N), dtype=np.int32)
    weights = np.zeros((R, N), dtype=np.float32)
    w = min(width, N)
    pos = np.where(valid[:, :w], chosen[:, :w], 0)
    rows = np.arange(R)[:, None]
    positions[:, :w] = pos
    originals[:, :w] = np.where(valid[:, :w], ids[rows, pos], 0)
    weights[:, :w] = valid[:, :w]
    hit = valid[:, :w] & replace[:, :w]
    rr, kk = np.nonzero(hit)
    ids[rr, pos[rr, kk]] = specials.mask
    return MaskedBatch(ids, segments, attention, positions, originals, weights)


def mask_keys(seed: int, indices: npt.NDArray[np.int64], held_out: bool = False) -> npt.NDArray[np.uint64]:
    """The masking seeds of stream sequences `indices`: derivedKey(seed, "mask" or "eval", index)."""
    return derived_keys((seed, HELD_OUT_STREAM if held_out else MASK_STREAM), indices.astype(np.uint64))
