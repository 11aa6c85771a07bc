"""Reads a shard directory as data/FORMAT.md defines it: the SQLite index (schema versions 1
to 3, format version 1) and its zstd frames, each checked against its CRC-32 before it is
decompressed. Errors name the shard and the frame, as electra-train's do
(Sources/Sharding/ShardIndex.swift)."""
from __future__ import annotations

import os
import sqlite3
import struct
import zlib
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import numpy.typing as npt
import zstandard

#: The schema versions (`PRAGMA user_version`) this reader knows.
SCHEMA_VERSIONS = (1, 2, 3)
FORMAT_VERSION = "1"
_VERIFY_HINT = ("run `electra-prep verify` to check every shard; re-create damaged shards by "
                "sharding again into a fresh directory")


class ShardError(Exception):
    """A shard directory that cannot be read; the message names the file (and frame)."""


@dataclass(frozen=True)
class Frame:
    """One frame of one shard, as the index lists it."""

    shard_id: int
    shard_path: str
    frame: int
    offset: int
    length: int
    first_sequence: int
    count: int
    tokens: int
    crc32: int


@dataclass
class FrameSequences:
    """The sequences of a frame, unpadded: `tokens[starts[i]:starts[i] + lengths[i]]` is sequence i."""

    lengths: npt.NDArray[np.int64]
    b_starts: npt.NDArray[np.int64]
    draws: npt.NDArray[np.uint8]
    starts: npt.NDArray[np.int64]
    tokens: npt.NDArray[np.int32]

    def __len__(self) -> int:
        return len(self.lengths)

    def sequence(self, i: int) -> npt.NDArray[np.int32]:
        s = int(self.starts[i])
        return self.tokens[s:s + int(self.lengths[i])]


def concat_sequences(parts: list[FrameSequences]) -> FrameSequences:
    """The sequences of several frames, in order, as one `FrameSequences`."""
    if not parts:
        z = np.zeros(0, dtype=np.int64)
        return FrameSequences(z, z, np.zeros(0, dtype=np.uint8), z, np.zeros(0, dtype=np.int32))
    lengths = np.concatenate([p.lengths for p in parts])
    ends = np.cumsum(lengths)
    return FrameSequences(lengths, np.concatenate([p.b_starts for p in parts]),
                          np.concatenate([p.draws for p in parts]), ends - lengths,
                          np.concatenate([p.tokens for p in parts]))


class ShardDirectory:
    """A read-only view of a shard directory written by `electra-prep shard`.

    >>> shards = ShardDirectory("data")
    >>> seqs = shards.read_frame(0)          # checksum-checked, decompressed, parsed
    >>> seqs.sequence(0)                     # int32 ids, [CLS] A [SEP] (B [SEP])

    Safe to use after `fork` (files are reopened in the child process).
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = os.fspath(directory)
        path = os.path.join(self.directory, "index.sqlite")
        self.index_path = path
        if not os.path.exists(path):
            raise ShardError(f"{self.directory}: no index.sqlite here (run `electra-prep shard --out {self.directory}` first)")
        try:
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                (version,) = db.execute("PRAGMA user_version").fetchone()
                if version not in SCHEMA_VERSIONS:
                    raise ShardError(f"{path}: schema version {version}, this reader reads versions 1 to 3 "
                                     "(a newer electra-prep wrote it?)")
                self.schema_version: int = version
                self.meta: dict[str, str] = dict(db.execute("SELECT key, value FROM meta"))
                shard_rows = db.execute("SELECT id, path FROM shards ORDER BY id").fetchall()
                frame_rows = db.execute(
                    "SELECT shard_id, frame, offset, length, first_sequence, count, tokens, crc32 "
                    "FROM frames ORDER BY shard_id, frame").fetchall()
                self._vocabulary = [t for (t,) in db.execute("SELECT token FROM vocabulary ORDER BY id")]
            finally:
                db.close()
        except sqlite3.DatabaseError as e:
            raise ShardError(f"{path}: {e} (move it away and run `electra-prep shard` again to rebuild)") from e
        for key in ("format_version", "max_seq_length", "token_bytes", "pad_id", "cls_id", "sep_id", "mask_id",
                    "vocab_size"):
            if key not in self.meta:
                raise ShardError(f"{path}: the meta table lacks {key}")
        if self.meta["format_version"] != FORMAT_VERSION:
            raise ShardError(f"{path}: format version {self.meta['format_version']}, this reader knows {FORMAT_VERSION}")
        self.max_seq_length = int(self.meta["max_seq_length"])
        self.vocab_size = int(self.meta["vocab_size"])
        self.vocab_sha256 = self.meta.get("vocab_sha256", "")
        self.pad_id = int(self.meta["pad_id"])
        self.cls_id = int(self.meta["cls_id"])
        self.sep_id = int(self.meta["sep_id"])
        self.mask_id = int(self.meta["mask_id"])
        token_bytes = self.meta["token_bytes"]
        if token_bytes not in ("2", "4"):
            raise ShardError(f"{path}: meta token_bytes is {token_bytes}, the format has 2 or 4")
        self.token_dtype = np.dtype("<u2") if token_bytes == "2" else np.dtype("<u4")
        paths = dict(shard_rows)
        self.frames: list[Frame] = [
            Frame(sid, paths.get(sid, "?"), frame, offset, length, first, count, tokens, crc & 0xFFFFFFFF)
            for (sid, frame, offset, length, first, count, tokens, crc) in frame_rows]
        self._files: dict[int, object] = {}
        self._pid = os.getpid()
        self._decompressor = zstandard.ZstdDecompressor()

    @property
    def sequence_count(self) -> int:
        return sum(f.count for f in self.frames)

    def vocabulary(self) -> list[str]:
        """The vocabulary stored in the index, in id order."""
        return list(self._vocabulary)

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        state["_files"] = {}
        state.pop("_decompressor", None)
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._decompressor = zstandard.ZstdDecompressor()
        self._pid = -1

    def _file(self, frame: Frame):  # type: ignore[no-untyped-def]
        if self._pid != os.getpid():  # a forked DataLoader worker: its own descriptors
            self._files = {}
            self._decompressor = zstandard.ZstdDecompressor()
            self._pid = os.getpid()
        f = self._files.get(frame.shard_id)
        if f is None:
            try:
                f = open(os.path.join(self.directory, frame.shard_path), "rb", buffering=0)
            except OSError as e:
                raise ShardError(f"{frame.shard_path}: cannot open: {e.strerror} ({_VERIFY_HINT})") from e
            self._files[frame.shard_id] = f
        return f

    def read_compressed(self, i: int) -> bytes:
        """Frame i's compressed bytes, checked against the CRC-32 of the index."""
        frame = self.frames[i]
        f = self._file(frame)
        data = os.pread(f.fileno(), frame.length, frame.offset)  # type: ignore[attr-defined]
        if len(data) != frame.length:
            raise self._corrupt(frame, "the file ends inside the frame (truncated)")
        crc = zlib.crc32(data) & 0xFFFFFFFF
        if crc != frame.crc32:
            raise self._corrupt(frame, f"checksum mismatch (crc32 {crc}, index says {frame.crc32})")
        return data

    def read_frame(self, i: int) -> FrameSequences:
        """The sequences of frame i, after checking its checksum and its shape.

        Raises `ShardError` naming the shard and the frame when anything is wrong.
        """
        frame = self.frames[i]
        data = self.read_compressed(i)
        try:
            content = self._decompressor.decompress(data)
        except zstandard.ZstdError as e:
            raise self._corrupt(frame, f"zstd: {e}") from e
        if len(content) < 4:
            raise self._corrupt(frame, "frame content is empty")
        (n,) = struct.unpack_from("<I", content, 0)
        header = (4 + 5 * n + 3) & ~3
        if header > len(content):
            raise self._corrupt(frame, f"frame claims {n} sequences, more than it holds")
        lengths = np.frombuffer(content, dtype="<u2", count=n, offset=4).astype(np.int64)
        b_starts = np.frombuffer(content, dtype="<u2", count=n, offset=4 + 2 * n).astype(np.int64)
        draws = np.frombuffer(content, dtype=np.uint8, count=n, offset=4 + 4 * n).copy()
        total = int(lengths.sum())
        need = header + total * self.token_dtype.itemsize
        if need != len(content):
            raise self._corrupt(frame, f"frame holds {len(content)} bytes, its {n} sequences need {need}")
        if n != frame.count:
            raise self._corrupt(frame, f"{n} sequences, the index says {frame.count}")
        tokens = np.frombuffer(content, dtype=self.token_dtype, offset=header).astype(np.int32)
        ends = np.cumsum(lengths)
        return FrameSequences(lengths, b_starts, draws, ends - lengths, tokens)

    def _corrupt(self, frame: Frame, reason: str) -> ShardError:
        return ShardError(f"{frame.shard_path} frame {frame.frame}: {reason} ({_VERIFY_HINT})")

    def __iter__(self) -> Iterator[npt.NDArray[np.int32]]:
        """Every sequence in dataset order (unpadded int32 ids)."""
        for i in range(len(self.frames)):
            seqs = self.read_frame(i)
            for k in range(len(seqs)):
                yield seqs.sequence(k)

    def verify(self) -> int:
        """Reads every frame (checksums, zstd, shape); returns the number of sequences."""
        return sum(len(self.read_frame(i)) for i in range(len(self.frames)))
