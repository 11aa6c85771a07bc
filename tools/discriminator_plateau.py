"""Can a small ELECTRA discriminator, transformers' own ElectraForPreTraining, learn to spot
replacements that are only frequency-plausible? (Evidence for issue 16; runs without electra-swift.)

Once ELECTRA's generator has learned the corpus's unigram frequencies, its samples are no longer
rare or odd tokens: telling them from the originals needs context. This script isolates that stage:
a fresh discriminator of the given size is trained, in PyTorch, on 128-token sequences of CORPUS in
which 15% of the positions ([CLS] and [SEP] excepted) are replaced by draws from the corpus's own
unigram distribution, labelled replaced where the draw differs from the original, as ELECTRA labels
them. It prints the loss and the held-out AUC (256 fixed sequences, the corpus's last ones) every
--every steps. AdamW with ELECTRA's settings (weight decay 0.01, eps 1e-6, clipping at 1.0, linear
warm-up over 10% of the steps, then linear decay).

Usage: PY=$(tools/venv.sh torch transformers); $PY tools/discriminator_plateau.py CORPUS TOKENIZER_DIR
         [--hidden 128 --layers 4 --embedding 64 --seq-length 128 --batch 32 --lr 1e-3 --steps 1000]
TOKENIZER_DIR: a folder transformers' BertTokenizerFast loads (an export's discriminator/).
"""
import argparse, os, sys, time

import numpy as np
import torch
from transformers import BertTokenizerFast, ElectraConfig, ElectraForPreTraining

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ports import auc  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus")
    parser.add_argument("tokenizer")
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--embedding", type=int, default=64)
    parser.add_argument("--seq-length", type=int, default=128)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    a = parser.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)

    tokenizer = BertTokenizerFast.from_pretrained(a.tokenizer)
    lines = open(a.corpus, encoding="utf-8").read().split("\n")
    ids = []
    for i in range(0, len(lines), 2000):
        for encoded in tokenizer(lines[i:i + 2000], add_special_tokens=False)["input_ids"]:
            ids.extend(encoded)
    ids = np.array(ids, dtype=np.int64)
    vocab = tokenizer.vocab_size
    unigram = np.bincount(ids, minlength=vocab).astype(np.float64)
    unigram /= unigram.sum()
    inner = a.seq_length - 2
    n = len(ids) // inner
    seqs = ids[: n * inner].reshape(n, inner)
    seqs = np.concatenate([np.full((n, 1), tokenizer.cls_token_id), seqs, np.full((n, 1), tokenizer.sep_token_id)], 1)
    held, train = seqs[-256:], seqs[:-256]
    print(f"{len(ids)} tokens of {a.corpus}, {len(train)} training sequences of {a.seq_length}, vocabulary {vocab}", flush=True)

    config = ElectraConfig(vocab_size=vocab, embedding_size=a.embedding, hidden_size=a.hidden,
                           num_hidden_layers=a.layers, num_attention_heads=max(1, a.hidden // 64),
                           intermediate_size=4 * a.hidden, max_position_embeddings=a.seq_length)
    model = ElectraForPreTraining(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.01, eps=1e-6)
    warm = max(1, a.steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warm, max(0.0, (a.steps - s) / max(1, a.steps - warm))))

    def corrupt(batch, rng):
        x = batch.copy()
        chosen = rng.random(x.shape) < 0.15
        chosen[:, 0] = chosen[:, -1] = False
        x[chosen] = rng.choice(vocab, size=int(chosen.sum()), p=unigram)
        return torch.tensor(x), torch.tensor((x != batch).astype(np.float32))

    held_x, held_y = corrupt(held, np.random.default_rng(123))
    held_y = held_y[:, 1:-1].flatten()
    print(f"held-out: {int(held_y.sum())} replaced of {len(held_y)} positions "
          f"(base-rate loss {float(-(held_y.mean() * held_y.mean().log() + (1 - held_y.mean()) * (1 - held_y.mean()).log())):.4f})", flush=True)
    rng = np.random.default_rng(a.seed + 1)
    start = time.time()
    for step in range(1, a.steps + 1):
        model.train()
        x, y = corrupt(train[rng.integers(0, len(train), a.batch)], rng)
        loss = model(input_ids=x, labels=y).loss
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        if step % a.every == 0 or step == a.steps:
            model.eval()
            with torch.no_grad():
                logits = model(input_ids=held_x).logits[:, 1:-1].flatten()
            print(f"step {step}: training loss {loss.item():.4f}, held-out AUC {auc(logits.numpy(), held_y.numpy()):.3f} "
                  f"({time.time() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
