#!/usr/bin/env python3
"""Writes a seeded synthetic corpus of about SIZE megabytes with a realistic vocabulary: word
types drawn with Zipf-like frequencies (rank r with probability ~ 1/(r ln N), N = 50 million
types by default), so that a gigabyte holds tens of millions of distinct strings; mixed scripts
(Latin 70%, Cyrillic 10%, Greek 5%, Arabic 5%, Devanagari 5%, CJK 5%); sentences of 4-30 words
one per line, documents of 3-30 sentences separated by blank lines. Same seed and size, same
bytes. Written in chunks of 8 MB generated in parallel (each chunk seeded by seed and index).
Pure Python 3, no packages.

Usage: make-big-corpus.py SIZE_MB OUT [--seed S] [--types N] [--jobs J]
"""
import argparse
import math
import multiprocessing
import os
import random

CHUNK = 8 << 20
SCRIPTS = [  # (share, syllables)
    (0.70, [c + v for c in "bcdfghjklmnprstvwz" for v in "aeiou"] + ["th", "st", "qu", "ch", "sh"]),
    (0.10, [c + v for c in "бвгдзклмнпрстфх" for v in "аеиоуя"]),
    (0.05, [c + v for c in "βγδζκλμνπρστφχ" for v in "αεηιου"]),
    (0.05, [c + v for c in "بتثجحخدرزسشصطعفقكلمن" for v in ["", "ا", "و", "ي"]]),
    (0.05, [c + v for c in "कखगघचछजझटडतथदधनपबभमयरलवस" for v in ["", "ा", "ि", "ी", "ु", "े", "ो"]]),
    (0.05, None),  # CJK: one ideograph per type (BERT splits them anyway)
]


def word(rank):
    """The string of type `rank` (0 = most frequent): script and syllables from its digits."""
    h = (rank * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    x = (h >> 11) / float(1 << 53)
    for share, syllables in SCRIPTS:
        if x < share or syllables is SCRIPTS[-1][1]:
            break
        x -= share
    if syllables is None:
        return chr(0x4E00 + rank % 20902)
    k = len(syllables)
    out = []
    n = rank + 1
    while n:
        n, d = divmod(n, k)
        out.append(syllables[d])
    return "".join(out)


def chunk(args):
    seed, index, types, size = args
    rng = random.Random(seed * 1_000_003 + index)
    log_n = math.log(types)
    cache = {}
    lines = []
    written = 0
    while written < size:
        for _ in range(rng.randint(3, 30)):
            count = rng.randint(4, 30)
            ranks = [int(math.exp(rng.random() * log_n)) - 1 for _ in range(count)]
            words = []
            for r in ranks:
                w = cache.get(r) if r < 100_000 else None
                if w is None:
                    w = word(r)
                    if r < 100_000:
                        cache[r] = w
                words.append(w)
            if rng.random() < 0.3:
                words[0] = words[0].capitalize()
            if rng.random() < 0.2:
                words[rng.randrange(len(words))] += ","
            line = " ".join(words) + ".\n"
            lines.append(line)
            written += len(line.encode("utf-8"))
        lines.append("\n")
        written += 1
    return "".join(lines).encode("utf-8")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("size_mb", type=float)
    p.add_argument("out")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--types", type=int, default=50_000_000)
    p.add_argument("--jobs", type=int, default=os.cpu_count())
    a = p.parse_args()
    total = int(a.size_mb * 1e6)
    chunks = [(a.seed, i, a.types, min(CHUNK, total - i * CHUNK)) for i in range((total + CHUNK - 1) // CHUNK)]
    tmp = a.out + ".tmp"
    with open(tmp, "wb") as f, multiprocessing.Pool(a.jobs) as pool:
        for data in pool.imap(chunk, chunks):
            f.write(data)
    os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
