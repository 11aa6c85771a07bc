#!/usr/bin/env python3
"""Reads electra-swift shards (data/FORMAT.md) in Python: sqlite3 + zstandard + numpy.

Yields the three features of ELECTRA's original TFRecords, padded to max_seq_length:
input_ids, segment_ids, input_mask (numpy int32 arrays).

    from shard_reader import ShardReader
    reader = ShardReader("data")
    for example in reader:            # or reader.frame(i) for one frame
        example["input_ids"], example["segment_ids"], example["input_mask"]

As a script: `shard_reader.py DIR --dump-ids` prints each sequence as `b_start<TAB>ids` (the
format of `electra-prep inspect --dump-ids`), `--check` verifies every frame's checksum.
"""
import argparse
import os
import sqlite3
import struct
import sys
import zlib

import numpy as np
import zstandard


class ShardError(Exception):
    pass


class ShardReader:
    def __init__(self, directory):
        self.directory = directory
        path = os.path.join(directory, "index.sqlite")
        if not os.path.exists(path):
            raise ShardError(f"{directory}: no index.sqlite (run `electra-prep shard --out {directory}`)")
        self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        (version,) = self.db.execute("PRAGMA user_version").fetchone()
        # 2 added sources.damaged_lines and sources.bad_records; 3 the token counts of the
        # sources (input_tokens, dropped_long_line_tokens, dropped_overflow_tokens) and meta packing.
        if version not in (1, 2, 3):
            raise ShardError(f"{path}: schema version {version}, this reader knows 1 to 3")
        self.schema_version = version
        self.meta = dict(self.db.execute("SELECT key, value FROM meta"))
        if self.meta["format_version"] != "1":
            raise ShardError(f"{path}: format version {self.meta['format_version']}, this reader knows 1")
        self.max_seq_length = int(self.meta["max_seq_length"])
        self.pad_id = int(self.meta["pad_id"])
        self.dtype = np.dtype("<u2") if self.meta["token_bytes"] == "2" else np.dtype("<u4")
        self.frames = self.db.execute(
            "SELECT s.path, f.frame, f.offset, f.length, f.first_sequence, f.count, f.crc32 "
            "FROM frames f JOIN shards s ON s.id = f.shard_id ORDER BY f.shard_id, f.frame").fetchall()
        self._decompressor = zstandard.ZstdDecompressor()
        self._files = {}

    def __len__(self):
        return sum(f[5] for f in self.frames)

    def vocabulary(self):
        return [t for (t,) in self.db.execute("SELECT token FROM vocabulary ORDER BY id")]

    def raw_frame(self, i):
        """The (b_start, draws, token list) triples of frame i, checksum-checked."""
        path, frame, offset, length, first, count, crc = self.frames[i]
        f = self._files.get(path)
        if f is None:
            f = self._files[path] = open(os.path.join(self.directory, path), "rb")
        f.seek(offset)
        data = f.read(length)
        where = f"{path} frame {frame}"
        if len(data) != length:
            raise ShardError(f"{where}: the file ends inside the frame (truncated)")
        if zlib.crc32(data) & 0xFFFFFFFF != crc:
            raise ShardError(f"{where}: checksum mismatch")
        content = self._decompressor.decompress(data)
        (n,) = struct.unpack_from("<I", content, 0)
        if n != count:
            raise ShardError(f"{where}: {n} sequences, the index says {count}")
        lengths = np.frombuffer(content, dtype="<u2", count=n, offset=4).astype(np.int64)
        b_starts = np.frombuffer(content, dtype="<u2", count=n, offset=4 + 2 * n).astype(np.int64)
        draws = np.frombuffer(content, dtype="u1", count=n, offset=4 + 4 * n)
        header = (4 + 5 * n + 3) & ~3
        tokens = np.frombuffer(content, dtype=self.dtype, offset=header)
        if len(tokens) != lengths.sum():
            raise ShardError(f"{where}: {len(tokens)} tokens, the lengths need {lengths.sum()}")
        ends = np.cumsum(lengths)
        starts = ends - lengths
        return [(int(b), int(d), tokens[s:e]) for b, d, s, e in zip(b_starts, draws, starts, ends)]

    def frame(self, i):
        """The padded examples of frame i (dicts of input_ids, segment_ids, input_mask)."""
        out = []
        L = self.max_seq_length
        for b_start, _, ids in self.raw_frame(i):
            n = len(ids)
            input_ids = np.full(L, self.pad_id, dtype=np.int32)
            input_ids[:n] = ids
            segment_ids = np.zeros(L, dtype=np.int32)
            segment_ids[b_start:n] = 1
            input_mask = np.zeros(L, dtype=np.int32)
            input_mask[:n] = 1
            out.append({"input_ids": input_ids, "segment_ids": segment_ids, "input_mask": input_mask})
        return out

    def __iter__(self):
        for i in range(len(self.frames)):
            yield from self.frame(i)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("directory", nargs="?", default="data")
    parser.add_argument("--dump-ids", action="store_true",
                        help="print every sequence as b_start<TAB>ids, from the padded features")
    args = parser.parse_args()
    try:
        reader = ShardReader(args.directory)
        if args.dump_ids:
            out = sys.stdout
            for ex in reader:
                n = int(ex["input_mask"].sum())
                segs = ex["segment_ids"][:n]
                b_start = int(np.argmax(segs)) if segs.any() else n
                out.write(f"{b_start}\t" + " ".join(map(str, ex["input_ids"][:n].tolist())) + "\n")
        else:
            total = 0
            for i in range(len(reader.frames)):
                total += len(reader.raw_frame(i))
            print(f"{args.directory}: {total} sequences in {len(reader.frames)} frames, all checksums OK")
    except ShardError as e:
        print(f"shard_reader: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
