"""Vocabulary learner benchmark: ours (electra-prep build-vocab) vs HF tokenizers' BertWordPieceTokenizer.train.

Builds a mixed corpus of >= 20 MB from text on this machine (the sample corpus, Debian
documentation, Python sources, CJK test texts), holds out every 10th block of lines, trains both
learners at the same vocabulary size with 2 threads, then tokenizes the held-out text with HF's
BertWordPieceTokenizer loaded with each vocabulary (same tokenizer, only the vocabulary differs)
and prints training seconds, peak memory, tokens per whitespace word and the [UNK] rate.
Usage: tools/bench-vocab.sh  (which builds release and calls this with the venv's python)
"""
import glob, gzip, os, resource, subprocess, sys, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
cache = os.path.join(root, "tools", ".cache", "vocab-bench")
os.makedirs(cache, exist_ok=True)
train_path, held_path = os.path.join(cache, "train.txt"), os.path.join(cache, "heldout.txt")
VOCAB, TARGET_MB = int(os.environ.get("VOCAB_SIZE", "30522")), int(os.environ.get("CORPUS_MB", "26"))


def corpus_lines():
    yield from open(os.path.join(root, "data/sample/kjv.txt"), encoding="utf-8")
    for path in sorted(glob.glob("/root/.pyenv/versions/*/lib/python3*/test/cjkencodings/*-utf8.txt")):
        yield from open(path, encoding="utf-8", errors="replace")
        yield "\n"
    for path in sorted(glob.glob("/usr/share/doc/**/*.gz", recursive=True)):
        try:  # text documentation only: files that are not valid UTF-8 are skipped
            text = gzip.open(path, "rt", encoding="utf-8", errors="strict").read()
        except (OSError, EOFError, UnicodeDecodeError):
            continue
        if "\x00" in text:
            continue
        yield from text.splitlines(keepends=True)
        yield "\n"
    for path in sorted(glob.glob("/root/.pyenv/versions/*/lib/python3*/**/*.py", recursive=True)):
        yield from open(path, encoding="utf-8", errors="replace")
        yield "\n"


def build_corpus():
    if os.path.exists(train_path) and os.path.exists(held_path):
        return
    size, block = 0, 0
    with open(train_path + ".tmp", "w") as train, open(held_path + ".tmp", "w") as held:
        for i, line in enumerate(corpus_lines()):
            block = i // 100
            line = line.replace("\x00", "")
            (held if block % 10 == 9 else train).write(line)
            size += len(line.encode())
            if size >= TARGET_MB * 1_000_000:
                break
    os.rename(train_path + ".tmp", train_path)
    os.rename(held_path + ".tmp", held_path)


def run_child(argv, env=None):
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        sys.exit(f"failed: {' '.join(argv)}")
    return time.perf_counter() - start, usage.ru_maxrss / 1024


HF_TRAIN = """
import sys
from tokenizers import BertWordPieceTokenizer
tok = BertWordPieceTokenizer(clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True)
tok.train([sys.argv[1]], vocab_size=int(sys.argv[3]), min_frequency=2, limit_alphabet=1000)
tok.save_model(sys.argv[2])
"""


def evaluate(vocab_file):
    from tokenizers import BertWordPieceTokenizer
    tok = BertWordPieceTokenizer(vocab_file, clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True)
    lines = [l.rstrip("\n") for l in open(held_path, encoding="utf-8")]
    words = sum(len(l.split()) for l in lines)
    unk = tok.token_to_id("[UNK]")
    tokens = unks = 0
    for enc in tok.encode_batch(lines, add_special_tokens=False):
        tokens += len(enc.ids)
        unks += sum(1 for i in enc.ids if i == unk)
    return tokens / words, unks / max(tokens, 1), sum(1 for _ in open(vocab_file, encoding="utf-8"))


def main():
    build_corpus()
    mb = os.path.getsize(train_path) / 1e6
    print(f"corpus: {mb:.1f} MB training text, {os.path.getsize(held_path) / 1e6:.1f} MB held out; vocab size {VOCAB}; 2 threads")
    ours_dir, hf_dir = os.path.join(cache, "ours"), os.path.join(cache, "hf")
    os.makedirs(hf_dir, exist_ok=True)
    prep = os.path.join(root, ".build/release/electra-prep")
    t_ours, m_ours = run_child([prep, "build-vocab", train_path, "--vocab-size", str(VOCAB), "--threads", "2",
                                "--out", os.path.join(ours_dir, "vocab.txt")])
    env = dict(os.environ, RAYON_NUM_THREADS="2", TOKENIZERS_PARALLELISM="true")
    t_hf, m_hf = run_child([sys.executable, "-c", HF_TRAIN, train_path, hf_dir, str(VOCAB)], env=env)
    q_ours, q_hf = evaluate(os.path.join(ours_dir, "vocab.txt")), evaluate(os.path.join(hf_dir, "vocab.txt"))
    print(f"{'':24}{'ours':>12}{'HF tokenizers':>16}{'ratio':>10}")
    print(f"{'training seconds':24}{t_ours:12.2f}{t_hf:16.2f}{t_hf / t_ours:9.1f}x faster")
    print(f"{'peak RSS MB':24}{m_ours:12.0f}{m_hf:16.0f}")
    print(f"{'vocabulary lines':24}{q_ours[2]:12d}{q_hf[2]:16d}")
    print(f"{'tokens per word':24}{q_ours[0]:12.4f}{q_hf[0]:16.4f}{q_ours[0] / q_hf[0]:10.4f}")
    print(f"{'[UNK] rate':24}{q_ours[1]:12.6f}{q_hf[1]:16.6f}")
    ok = q_ours[0] <= q_hf[0] * 1.01 and q_ours[1] <= q_hf[1] and t_hf / t_ours >= 3
    print("targets (tokens/word <= HF +1%, [UNK] <= HF, >= 3x faster):", "met" if ok else "NOT met")


if __name__ == "__main__":
    main()
