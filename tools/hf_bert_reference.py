#!/usr/bin/env python3
"""The reference: HuggingFace `tokenizers`' BERT WordPiece pipeline, as BertWordPieceTokenizer
builds it (BertNormalizer, BertPreTokenizer, WordPiece with "##" and max 100 chars per word),
minus one thing: BertWordPieceTokenizer also registers [PAD] [UNK] [CLS] [SEP] [MASK] as added
tokens, so a literal "[MASK]" in text becomes the [MASK] token. Our tokenizer never produces
special tokens from text (docs/electra-reference.md section 2: "[MASK]" -> "[", "mask", "]"),
so the reference leaves them out; everything else is BertWordPieceTokenizer's.

Lines are split on b"\\n" (a trailing b"\\r" removed), like the Corpus module's LineReader,
and decoded with errors="replace".

`--class` uses BertWordPieceTokenizer itself (same output on text without a literal special token).

Usage: $PY tools/hf_bert_reference.py --vocab VOCAB [--ids | --offsets] [--no-lower-case] [--no-strip-accents]
           [--strip-accents] [--no-clean-text] [--no-chinese-chars] [--class] FILE  > tokens.txt
       $PY tools/hf_bert_reference.py --vocab VOCAB --bench FILE   (one thread, prints MB/s)
"""
import argparse
import os
import sys
import time

from tokenizers import Tokenizer, normalizers, pre_tokenizers
from tokenizers.models import WordPiece

# Option sets the fixtures and the parity check cover (HF keyword arguments).
OPTION_SETS = {
    "default": dict(lowercase=True, strip_accents=None, clean_text=True, handle_chinese_chars=True),
    "cased": dict(lowercase=False, strip_accents=None, clean_text=True, handle_chinese_chars=True),
    "lower-keep-accents": dict(lowercase=True, strip_accents=False, clean_text=True, handle_chinese_chars=True),
    "cased-strip-accents": dict(lowercase=False, strip_accents=True, clean_text=True, handle_chinese_chars=True),
    "no-clean-text": dict(lowercase=True, strip_accents=None, clean_text=False, handle_chinese_chars=True),
    "no-chinese-chars": dict(lowercase=True, strip_accents=None, clean_text=True, handle_chinese_chars=False),
    "all-off": dict(lowercase=False, strip_accents=False, clean_text=False, handle_chinese_chars=False),
}


def make_tokenizer(vocab, lowercase=True, strip_accents=None, clean_text=True, handle_chinese_chars=True):
    tok = Tokenizer(WordPiece.from_file(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(clean_text=clean_text, handle_chinese_chars=handle_chinese_chars,
                                                strip_accents=strip_accents, lowercase=lowercase)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    return tok


def make_bert_wordpiece_class(vocab, lowercase=True, strip_accents=None, clean_text=True, handle_chinese_chars=True):
    from tokenizers import BertWordPieceTokenizer
    return BertWordPieceTokenizer(vocab, clean_text=clean_text, handle_chinese_chars=handle_chinese_chars,
                                  strip_accents=strip_accents, lowercase=lowercase, wordpieces_prefix="##")


def decode_line(raw):
    return raw.decode("utf-8", errors="replace")


def read_lines(path):
    data = sys.stdin.buffer.read() if path == "-" else open(path, "rb").read()
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [decode_line(l[:-1] if l.endswith(b"\r") else l) for l in lines]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--vocab", required=True)
    ap.add_argument("--ids", action="store_true")
    ap.add_argument("--offsets", action="store_true", help="print each token's begin:end (character offsets into the line)")
    ap.add_argument("--no-lower-case", action="store_true")
    ap.add_argument("--no-strip-accents", action="store_true")
    ap.add_argument("--strip-accents", action="store_true")
    ap.add_argument("--no-clean-text", action="store_true")
    ap.add_argument("--no-chinese-chars", action="store_true")
    ap.add_argument("--bench", action="store_true", help="time encode_batch on one thread, print MB/s")
    ap.add_argument("--class", dest="use_class", action="store_true", help="use BertWordPieceTokenizer itself")
    a = ap.parse_args()
    strip = False if a.no_strip_accents else (True if a.strip_accents else None)
    make = make_bert_wordpiece_class if a.use_class else make_tokenizer
    tok = make(a.vocab, lowercase=not a.no_lower_case, strip_accents=strip,
                         clean_text=not a.no_clean_text, handle_chinese_chars=not a.no_chinese_chars)
    lines = read_lines(a.file)
    if a.bench:
        size = os.path.getsize(a.file)
        best = None
        for _ in range(2):
            t0 = time.perf_counter()
            tok.encode_batch(lines, add_special_tokens=False)
            dt = time.perf_counter() - t0
            best = dt if best is None else min(best, dt)
        print(f"{size / best / 1e6:.3f}")
        return
    out = sys.stdout
    for enc in tok.encode_batch(lines, add_special_tokens=False):
        if a.offsets:
            out.write(" ".join(f"{b}:{e}" for b, e in enc.offsets))
        else:
            out.write(" ".join(map(str, enc.ids)) if a.ids else " ".join(enc.tokens))
        out.write("\n")


if __name__ == "__main__":
    main()
