#!/usr/bin/env python3
"""Writes seeded fuzz lines for the tokenizer parity check to stdout: random mixes of ASCII,
letters, combining marks of every class (NFD reordering), kept non-starters, CJK, unusual
whitespace, controls, format and private-use characters, emoji and invalid UTF-8 bytes.
Usage: $PY tools/gen-tokenizer-fuzz.py [LINES] [SEED] > fuzz.txt
"""
import random
import sys
import unicodedata

lines = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 20261126)
marks = [c for c in range(0x300, 0x110000) if not 0xD800 <= c <= 0xDFFF and unicodedata.combining(chr(c))]
pools = [
    [ord(c) for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"],
    [ord(c) for c in " \t\r.,;:!?'\"()[]{}-_#@/\\"],
    list(range(0xC0, 0x250)) + list(range(0x370, 0x400)) + list(range(0x1E00, 0x1F00)) + list(range(0xAC00, 0xAC40)),
    marks,
    [0x1D165, 0x1D166, 0x1D16D, 0x1D16E, 0x16FF0, 0x16FF1, 0x0F71, 0x0F72, 0x0F74],
    list(range(0x4E00, 0x4E40)) + list(range(0x3040, 0x30FF)) + [0xF900, 0x2B820, 0x2B920],
    [0x0B, 0x0C, 0x1C, 0x85, 0xA0, 0xAD, 0x200B, 0x200D, 0x2028, 0x3000, 0xFEFF, 0xFFFD, 0xE000, 0x0378, 0x130, 0x3A3],
    list(range(0x1F600, 0x1F650)) + [0x1F3FD, 0xFE0F],
]
invalid = [0xFF, 0xC3, 0xE2, 0x82, 0xED, 0xA0, 0xF4, 0x90, 0x80, 0xC0]
out = sys.stdout.buffer
for _ in range(lines):
    parts = []
    for _ in range(rng.randint(0, 40)):
        if rng.random() < 0.03:
            parts.append(bytes(rng.choice(invalid) for _ in range(rng.randint(1, 3))))
        else:
            pool = rng.choice(pools)
            parts.append("".join(chr(rng.choice(pool)) for _ in range(rng.randint(1, 6))).encode())
    out.write(b"".join(parts).replace(b"\n", b" ") + b"\n")
