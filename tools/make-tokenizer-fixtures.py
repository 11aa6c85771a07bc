#!/usr/bin/env python3
"""Writes the tokenizer test fixtures (run once; the outputs are committed):

- Tests/Fixtures/tokenizer/hard-cases.txt: lines that stress BERT normalization (raw bytes,
  invalid UTF-8 included), used by tools/check-tokenizer-parity.sh and the Swift tests.
- Tests/Fixtures/tokenizer/golden.json: for every hard-case line and option set, the words of
  HF's BertNormalizer + BertPreTokenizer and the WordPiece tokens (bert-base-uncased vocab),
  so that Swift unit tests compare against HF without Python.

Usage: PY=$(tools/venv.sh tokenizers==0.23.3); $PY tools/make-tokenizer-fixtures.py
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from hf_bert_reference import OPTION_SETS, make_tokenizer, decode_line  # noqa: E402
import tokenizers  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..")
FIX = os.path.join(ROOT, "Tests", "Fixtures", "tokenizer")
VOCAB = os.path.join(ROOT, "vocab", "bert-base-uncased.txt")

u = lambda s: s.encode("utf-8")
lines = [
    u("Hello, World! This is a simple English sentence."),
    u("In the beginning God created the heaven and the earth."),
    u("Héllo wörld Ångström naïve café résumé façade coöperate ÉCOLE"),
    u("decomposed: cafe\u0301 e\u0301\u0302 a\u0323\u0302 a\u0302\u0323 o\u0308\u0304"),
    u("Größe Straße Fußgängerübergänge ÄÖÜ äöü ẞ GROẞ"),
    u("Œuvre l'été où ça « guillemets » — tiret… «Bonjour» Noël"),
    u("我爱北京天安门。中文，标点！汉字abc混合123"),
    u("日本語のテキスト、カタカナとひらがな。ｶﾀｶﾅ半角 ﾞﾟ"),
    u("한국어 텍스트 각 ᄀ ᅡ ᆨ"),
    u("I ❤️ emoji 😀👍🏽 👨‍👩‍👧 🇫🇷 ☕️ #️⃣"),
    u("controls: a\x01b\x07c\x1bd\x7fe\u0085f\x08g\x0e end"),
    u("format: soft\u00adhyphen zero\u200bwidth joiner\u200dx non\u200cjoiner bom\ufeffx lrm\u200ex rtl\u202eabc\u202c wj\u2060x"),
    u("spaces: a\u00a0b\u2002c\u2003d\u2009e\u200af\u3000g\u2028h\u2029i\u202fj\u205fk\u1680l\x0bm\x0cn\x1co\x1dp\x1eq\x1fr\ts\rt\u180eu"),
    u("x" * 300),
    u("a" * 100),
    u("a" * 101),
    u("b" * 99 + "."),
    u("é" * 100 + " " + "é" * 101),
    u("e\u0301" * 50 + " " + "e\u0301" * 51),
    u("İ" * 60 + " " + "İ" * 40),
    u("😀" * 100 + " " + "😀" * 101),
    u("Wait...!!! ?!?! --- ((nested)) [brackets] {braces} @#$%^&*_+=|\\/<>~` ¡¿ ‘quotes’ “double” „low“ ‹›"),
    u("[MASK] [CLS] [SEP] [PAD] [UNK] [unused0] ##ing the[MASK]word"),
    b"bad \xff\xfe bytes",
    b"trunc \xe2\x82",
    b"overlong \xc0\xaf and \xe0\x80\xaf",
    b"surrogate \xed\xa0\x80 end",
    b"mid\x80dle cont\xbf\xbfinue",
    b"\xf4\x90\x80\x80 beyond and \xf8\x88\x80\x80\x80 five",
    b"caf\xc3 x \xc3\xa9t\xc3",
    u("ΟΔΥΣΣΕΥΣ Σ σς Ἀθῆναι ΆΈΉ"),
    u("İstanbul ı I i̇ DİYARBAKIR"),
    u("ǅ ǈ ǋ ǲ ﬁ ﬂ ﬃ ﬆ Ⅻ ⅻ Ⓐ ⓐ"),
    u("Ω Å K \u037e \u0387 \u1fef \u1ffd \u2000x\u2001"),
    u("x² ½ ∑ ∞ ≠ ≤ → ∀ ∈ ℕ ℝ"),
    u("3.14 1,000,000 2026-11-26 12:30 $5 €10 £3 ¥4 ₹5 100% #1"),
    u("مرحبا بالعالم שָׁלוֹם עולם"),
    u("नमस्ते हिन्दी ক্ষ தமிழ்"),
    u("สวัสดีครับ ภาษาไทย"),
    u("\uf900\ufa0e \U00020000\U0002a6df \U0002b81f\U0002b820\U0002b91f\U0002b920 \u3400\u4dbf \u9fff\ua000 \U0002f800"),
    u("music \U0001d15f\U0001d160 a\U0001d16d\U0001d165b \U0001d165\U0001d16d"),
    u("private \ue000 unassigned \u0378 nonchar \ufdd0 \uffff tag \U000e0001x \U000e0041 \U0010fffd end"),
    u(" \u0301abc \u0301 x\u0301\u0301\u0301 \u20dd \u0488"),
    u("Привет, Мир! ЁЖИК ёжик"),
    u("Tiếng Việt có dấu Đà Nẵng"),
    u("ŉ ẞ ǰ ΐ ﬓ Ꞵ ꞵ Ᵹ"),
    u(""),
    u("   "),
    u("\x01\x02\x03"),
    u("\u200b\u200b"),
    u("the quick brown fox jumps over the lazy dog " * 40),
    u("unaffable unbelievably antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis"),
    u("tokenization's re-tokenized co-operate e-mail U.S.A. Mr. O'Neil's"),
    u("\u00bd\u00bc\u2153 \u2460\u2461 \u00b9\u00b2\u00b3 \u0660\u0661\u0662 \uff11\uff12\uff41\uff21"),
    u("a\u0345b \u0345 \u03b9\u0345"),
    u("Ｆｕｌｌｗｉｄｔｈ ＡＢＣ　ｘ"),
]
os.makedirs(FIX, exist_ok=True)
with open(os.path.join(FIX, "hard-cases.txt"), "wb") as f:
    f.write(b"\n".join(lines) + b"\n")

cases = []
for name, opts in OPTION_SETS.items():
    tok = make_tokenizer(VOCAB, **opts)
    normalizer, pretok = tok.normalizer, tok.pre_tokenizer
    for i, raw in enumerate(lines):
        text = decode_line(raw)
        words = [w for w, _ in pretok.pre_tokenize_str(normalizer.normalize_str(text))]
        enc = tok.encode(text, add_special_tokens=False)
        cases.append({"line": i, "options": name, "words": words, "tokens": enc.tokens, "ids": enc.ids})
with open(os.path.join(FIX, "golden.json"), "w") as f:
    json.dump({"tokenizers": tokenizers.__version__, "vocab": "vocab/bert-base-uncased.txt",
               "options": OPTION_SETS, "cases": cases}, f, ensure_ascii=False, indent=0)
print(f"wrote {len(lines)} hard cases and {len(cases)} golden cases")

# Junk bytes in the middle of a text file (issue 15): 10 KB of clean text first (a NUL in the
# first 8 KB makes a file binary), then lines with NUL, U+FFFD, control characters, invalid
# UTF-8, and 25 KB of seeded random bytes (gzip data read as text), then clean text again.
import random  # noqa: E402

rng = random.Random(15)
clean = [u(f"Line {i}: the quick brown fox jumps over the lazy dog, and Café naïve ÉCOLE {i * 7}.") for i in range(120)]
junk = [
    b"nul \x00 inside a word: ab\x00cd and at the end\x00",
    b"\x00\x00\x00",
    b"\x00",
    b"replacement \xef\xbf\xbd char and invalid \xff\xfe\xc3 bytes mixed\x00with nul",
    b"gzip header \x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03 then text",
    b"controls \x01\x02\x1b[0m\x7f\x85 tab\tend",
    b"caf\xc3\xa9\x00s ZERO\x00WIDTH\xe2\x80\x8bjoin",
]
noise = bytes(rng.randrange(256) for _ in range(25_000))
with open(os.path.join(FIX, "junk-bytes.txt"), "wb") as f:
    f.write(b"\n".join(clean[:110] + junk) + b"\n" + noise + b"\n" + b"\n".join(clean[110:]) + b"\n")
print("wrote junk-bytes.txt")
