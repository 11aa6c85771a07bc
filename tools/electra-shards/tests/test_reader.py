"""Reading: every sequence as `electra-prep inspect --dump-ids` prints it; checksums verified;
schema and format versions checked; errors naming the shard and the frame as electra-train's."""
from __future__ import annotations

import sqlite3

import pytest

from conftest import run
from electra_shards import MaskedBatches, ShardDirectory, ShardError


def test_every_sequence_as_inspect_dumps_it(electra_prep, shard_dir):
    expected = run(electra_prep, "inspect", shard_dir, "--dump-ids").splitlines()
    shards = ShardDirectory(shard_dir)
    got = []
    for i in range(len(shards.frames)):
        seqs = shards.read_frame(i)
        for k in range(len(seqs)):
            got.append(f"{int(seqs.b_starts[k])}\t" + " ".join(map(str, seqs.sequence(k).tolist())))
    assert len(got) == len(expected) == shards.sequence_count
    assert got == expected


def damage(directory, frame_number: int) -> tuple[str, int]:
    shards = ShardDirectory(directory)
    frame = shards.frames[frame_number]
    path = directory / frame.shard_path
    data = bytearray(path.read_bytes())
    data[frame.offset + frame.length // 2] ^= 0x40
    path.write_bytes(bytes(data))
    return frame.shard_path, frame.frame


def test_a_damaged_frame_is_named(shard_copy, electra_prep):
    shard_path, frame = damage(shard_copy, 1)
    shards = ShardDirectory(shard_copy)
    shards.read_frame(0)  # the others still read
    with pytest.raises(ShardError) as caught:
        shards.read_frame(1)
    message = str(caught.value)
    assert message.startswith(f"{shard_path} frame {frame}: checksum mismatch (crc32 ")
    assert "electra-prep verify" in message
    # the Swift reader names it the same way
    verify = __import__("subprocess").run([str(electra_prep), "verify", str(shard_copy)], capture_output=True, text=True)
    assert verify.returncode != 0
    assert f"{shard_path} frame {frame}" in verify.stdout + verify.stderr


def test_a_damaged_frame_stops_the_batches(shard_copy):
    damage(shard_copy, 0)
    batches = MaskedBatches(shard_copy, batch_size=64)
    with pytest.raises(ShardError, match=r"frame 0: checksum mismatch"):
        for step in range(batches.steps_per_epoch + 1):
            batches.batch(step)


def test_a_truncated_shard_is_named(shard_copy):
    shards = ShardDirectory(shard_copy)
    last = shards.frames[-1]
    path = shard_copy / last.shard_path
    path.write_bytes(path.read_bytes()[:last.offset + last.length // 2])
    with pytest.raises(ShardError, match=rf"{last.shard_path} frame {last.frame}: the file ends inside the frame"):
        ShardDirectory(shard_copy).read_frame(len(shards.frames) - 1)


@pytest.mark.parametrize("sql,message", [
    ("PRAGMA user_version = 4", "schema version 4, this reader reads versions 1 to 3"),
    ("UPDATE meta SET value = '2' WHERE key = 'format_version'", "format version 2, this reader knows 1"),
    ("DELETE FROM meta WHERE key = 'token_bytes'", "the meta table lacks token_bytes"),
])
def test_versions_are_checked(shard_copy, sql, message):
    db = sqlite3.connect(shard_copy / "index.sqlite")
    db.execute(sql)
    db.commit()
    db.close()
    with pytest.raises(ShardError, match=message):
        ShardDirectory(shard_copy)


def test_older_schema_versions_read(shard_copy):
    db = sqlite3.connect(shard_copy / "index.sqlite")
    db.execute("PRAGMA user_version = 2")
    db.commit()
    db.close()
    assert ShardDirectory(shard_copy).schema_version == 2


def test_no_index(tmp_path):
    with pytest.raises(ShardError, match="no index.sqlite here"):
        ShardDirectory(tmp_path)
