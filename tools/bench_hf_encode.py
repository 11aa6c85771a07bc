#!/usr/bin/env python3
"""Reference timing for tools/bench-shard.sh: seconds HF `tokenizers` (BertWordPieceTokenizer,
the tokenizer we match) needs to encode the lines of a corpus with encode_batch, with the thread
count given by RAYON_NUM_THREADS. Reading the file is not timed.
Usage: bench_hf_encode.py VOCAB CORPUS"""
import sys
import time

from tokenizers import BertWordPieceTokenizer

vocab, corpus = sys.argv[1], sys.argv[2]
tok = BertWordPieceTokenizer(vocab, lowercase=True)
with open(corpus, encoding="utf-8", errors="replace") as f:
    lines = [line.rstrip("\n") for line in f]
size = sum(len(l.encode("utf-8")) + 1 for l in lines)
start = time.perf_counter()
encodings = tok.encode_batch(lines, add_special_tokens=False)
seconds = time.perf_counter() - start
tokens = sum(len(e.ids) for e in encodings)
print(f"hf_seconds={seconds:.3f} hf_mb_per_s={size / 1e6 / seconds:.2f} tokens={tokens} bytes={size}")
