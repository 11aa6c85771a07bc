#!/usr/bin/env python3
"""Splits a text corpus into many small files at line boundaries (wikiextractor-like inputs),
for benchmarks and checks: each file gets about SIZE bytes of whole lines, a document break
(blank line) never starts a file. Usage: split_corpus.py CORPUS OUTDIR [SIZE=1300]"""
import os
import sys

corpus, out = sys.argv[1], sys.argv[2]
size = int(sys.argv[3]) if len(sys.argv) > 3 else 1300
os.makedirs(out, exist_ok=True)
n, buf = 0, []
width = 0


def flush():
    global n, buf, width
    if buf:
        with open(os.path.join(out, f"part-{n:07d}.txt"), "wb") as f:
            f.write(b"".join(buf))
        n += 1
    buf, width = [], 0


with open(corpus, "rb") as f:
    for line in f:
        if width >= size and line.strip():
            flush()
        if not buf and not line.strip():
            continue
        buf.append(line)
        width += len(line)
flush()
print(n)
