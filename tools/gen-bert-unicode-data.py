#!/usr/bin/env python3
"""Generates Sources/Tokenization/BertUnicodeData.swift: the per-scalar Unicode facts that
HuggingFace `tokenizers` (BertNormalizer + BertPreTokenizer) uses, measured from the installed
`tokenizers` wheel itself so that our tables carry exactly its Unicode versions:

- clean-text drop   (unicode_categories `is_other` = C*, plus U+0000 and U+FFFD, except \\t \\n \\r)
- clean-text space  (Rust `char::is_whitespace` plus \\t \\n \\r)
- pre-tokenizer whitespace (Rust `char::is_whitespace`) and punctuation (ASCII punct or P*)
- Mn (unicode_categories `is_mark_nonspacing`), dropped by strip-accents after NFD
- NFD decomposition (unicode-normalization-alignments) and full lower case (Rust `to_lowercase`)
- canonical combining class (for NFD reordering): Python's unicodedata, kept only where the wheel's
  NFD reorders the scalar too (HF exposes no class; its crate's older Unicode has no class for the
  scalars assigned since, so they are starters there, and the token offsets show it)

Rust's crates and Swift's standard library ship different Unicode versions (unicode_categories
is frozen at an old one), so Swift's `Unicode.Scalar.Properties` cannot be used as-is.
Usage: PY=$(tools/venv.sh tokenizers==0.23.3); $PY tools/gen-bert-unicode-data.py
"""
import os
import sys
import unicodedata

from tokenizers import normalizers, pre_tokenizers
import tokenizers

OUT = os.path.join(os.path.dirname(__file__), "..", "Sources", "Tokenization", "BertUnicodeData.swift")

DROP, CLEAN_SPACE, WHITESPACE, PUNCT, MN = 1, 2, 4, 8, 16

clean = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=False, strip_accents=False, lowercase=False)
strip = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=True, lowercase=False)
nfd = normalizers.NFD()
lower = normalizers.Lowercase()
pretok = pre_tokenizers.BertPreTokenizer()


def scalars():
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        yield cp


records = []  # (cp, flags, ccc, nfd tuple or None, lower tuple or None)
for cp in scalars():
    c = chr(cp)
    flags = 0
    cleaned = clean.normalize_str(c)
    if cleaned == "":
        flags |= DROP
    elif cleaned == " " and c != " ":
        flags |= CLEAN_SPACE
    elif cleaned != c:
        sys.exit(f"unexpected clean-text output for U+{cp:04X}: {cleaned!r}")
    if c == " ":
        flags |= CLEAN_SPACE
    pieces = [p for p, _ in pretok.pre_tokenize_str("a" + c + "a")]
    if pieces == ["a", "a"]:
        flags |= WHITESPACE
    elif pieces == ["a", c, "a"]:
        flags |= PUNCT
    elif pieces != ["a" + c + "a"]:
        sys.exit(f"unexpected pre-tokenization for U+{cp:04X}: {pieces!r}")
    d = nfd.normalize_str(c)
    if d == c and strip.normalize_str(c) == "":
        flags |= MN
    low = lower.normalize_str(c)
    ccc = unicodedata.combining(c)
    if ccc and d == c:
        # A non-starter for the wheel's NFD only if it is reordered against a mark of another class.
        probe, moved = ("a" + c + "\u0334", "a\u0334" + c) if ccc > 1 else ("a\u0301" + c, "a" + c + "\u0301")
        if nfd.normalize_str(probe) != moved:
            ccc = 0
    records.append((cp, flags, ccc, None if d == c else tuple(ord(x) for x in d),
                    None if low == c else tuple(ord(x) for x in low)))

# Sanity: NFD outputs are already decomposed and lower-casing never yields whitespace/punct.
by_cp = {r[0]: r for r in records}
for cp, _, _, d, low in records:
    for x in (d or ()):
        if nfd.normalize_str(chr(x)) != chr(x):
            sys.exit(f"NFD of U+{cp:04X} is not fully decomposed")


def hexseq(seq):
    return ".".join(f"{x:X}" for x in seq)


# Encode: "start[-end]:flags[:ccc[:nfd[:lower]]]" records separated by ';', default (all zero)
# scalars omitted, runs of identical simple records merged into ranges.
parts = []
run = None  # (start, end, key)


def flush():
    if run is None:
        return
    s, e, (flags, ccc) = run
    rng = f"{s:X}" if s == e else f"{s:X}-{e:X}"
    parts.append(f"{rng}:{flags:X}" + (f":{ccc:X}" if ccc else ""))


def hangul_nfd(cp):
    s = cp - 0xAC00
    t = s % 28
    return (0x1100 + s // 588, 0x1161 + (s % 588) // 28) + ((0x11A7 + t,) if t else ())


for cp, flags, ccc, d, low in records:
    if 0xAC00 <= cp <= 0xD7A3:
        # Hangul syllables decompose algorithmically (BertUnicode.swift does it); check, then omit.
        if d != hangul_nfd(cp) or flags or ccc or low is not None:
            sys.exit(f"Hangul U+{cp:04X} is not decomposed algorithmically by HF")
        flush(); run = None
        continue
    if d is None and low is None:
        if flags == 0 and ccc == 0:
            flush(); run = None
            continue
        key = (flags, ccc)
        if run is not None and run[2] == key and run[1] == cp - 1:
            run = (run[0], cp, key)
        else:
            flush(); run = (cp, cp, key)
        continue
    flush(); run = None
    parts.append(f"{cp:X}:{flags:X}:{ccc:X}:{hexseq(d or ())}:{hexseq(low or ())}")
flush()

data = ";".join(parts)
lines = [data[i:i + 120] for i in range(0, len(data), 120)]
with open(OUT, "w") as f:
    f.write("// GENERATED by tools/gen-bert-unicode-data.py from HuggingFace tokenizers "
            f"{tokenizers.__version__} (Python unicodedata {unicodedata.unidata_version} for combining classes, kept where the wheel's NFD reorders).\n")
    f.write("// Do not edit. Per-scalar facts of HF's BertNormalizer/BertPreTokenizer; see BertUnicode.swift.\n")
    f.write("// Records \"start[-end]:flags[:ccc[:nfd[:lower]]]\" (hex), ';'-separated; flags: 1 drop (clean text),\n")
    f.write("// 2 space (clean text), 4 whitespace, 8 punctuation, 10 Mn. Unlisted scalars have no flags;\n")
    f.write("// Hangul syllables AC00-D7A3 are omitted (their NFD is algorithmic).\n")
    f.write("extension BertUnicode {\n")
    f.write(f"    static let tokenizersVersion = \"{tokenizers.__version__}\"\n")
    f.write("    static let encoded: String = \"\"\"\n")
    for k, line in enumerate(lines):
        f.write(f"        {line}" + ("\\\n" if k < len(lines) - 1 else "\n"))
    f.write("        \"\"\"\n}\n")

n = lambda bit: sum(1 for r in records if r[1] & bit)
print(f"wrote {OUT}: {len(parts)} records, {len(data)} chars; drop {n(DROP)}, clean-space {n(CLEAN_SPACE)}, "
      f"whitespace {n(WHITESPACE)}, punct {n(PUNCT)}, Mn {n(MN)}, "
      f"nfd {sum(1 for r in records if r[3])}, lower {sum(1 for r in records if r[4])}")

# How HF's data differs from Python's unicodedata (a newer Unicode): a hint of what a
# naive implementation on a platform's own tables would get wrong.
diff_p = sum(1 for cp, fl, *_ in records if bool(fl & PUNCT) != (unicodedata.category(chr(cp)).startswith("P")
                                                                 or (cp < 128 and chr(cp) in "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")))
diff_c = sum(1 for cp, fl, *_ in records if cp not in (9, 10, 13, 0, 0xFFFD) and not (fl & CLEAN_SPACE)
             and bool(fl & DROP) != unicodedata.category(chr(cp)).startswith("C"))
diff_mn = sum(1 for cp, fl, _, d, _ in records if d is None and bool(fl & MN) != (unicodedata.category(chr(cp)) == "Mn"))
print(f"differences from unicodedata {unicodedata.unidata_version}: punctuation {diff_p}, C* {diff_c}, Mn {diff_mn}")
