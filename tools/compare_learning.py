"""Does electra-train learn as well as PyTorch? The same configuration, data and steps, side by side.

Given a finished electra-train run (exported with `electra-train export`), this script
1. reads the run's shards through tools/shard_reader.py and splits them with the same held-out
   rule as electra-train (frames ranked by SplitMix64 of their first sequence number, the first
   ceil(1% of frames) held out),
2. trains the same ELECTRA pair in PyTorch from scratch: HuggingFace ElectraForMaskedLM +
   ElectraForPreTraining with the exported configs, shared embeddings, masking as section 5 of
   the reference (count rule, no replacement, 85% [MASK]), the generator head at the masked
   positions only, Gumbel-max sampling, loss = gen + 50 x disc, dropout on, and ELECTRA's
   AdamW (no bias correction, decay mask, global-norm clip 1.0, lr x (1 - t/T) x min(1, t/W)),
   same batch size, steps, learning rate and warm-up, once per seed (--seeds, default 3: early
   in training generator accuracy jumps as the argmax settles on one frequent token, so one
   PyTorch run alone is a noisy yardstick),
3. evaluates every trained pair (ours loaded from the exported folders) on the same held-out
   batches: the same masks and the same Gumbel noise, dropout off, and prints generator accuracy,
   discriminator AUC and both losses side by side (with our trainer's own final held-out line),
   PyTorch's spread over seeds, and whether ours is within the tolerance (default 10%) of
   PyTorch's mean on accuracy and AUC.

With --package-seeds K, also K runs of tools/pretrain_torch.py (HF models, fed by the
electra_shards package: electra-train's own batches and masks, seed for seed) in the same table.

Usage: compare_learning.py --shards data --run runs/compare --export runs/compare/hf \
           --steps 150 --batch-size 32 --learning-rate 2e-4 --warmup-steps 50 [--seed 0] [--package-seeds 3]
Exit status 0 when both metrics are within the tolerance, 1 when not, 2 on bad input.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
from transformers import ElectraConfig, ElectraForMaskedLM, ElectraForPreTraining
from transformers.utils import logging as hf_logging

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ports import auc, splitmix64  # noqa: E402
from pretrain_torch import ElectraAdamW  # noqa: E402
from shard_reader import ShardError, ShardReader  # noqa: E402

def held_out_frames(reader, fraction):
    n = len(reader.frames)
    if fraction <= 0 or n < 2:
        return set()
    count = min(n - 1, max(1, math.ceil(fraction * n)))
    ranked = sorted(range(n), key=lambda i: (splitmix64(reader.frames[i][4]), i))  # Batching's held-out rule
    return set(ranked[:count])


class Masker:
    """Section 5 of the reference: candidates exclude [CLS], [SEP], [MASK] and padding;
    count = max(1, min(N, round_half_even(float32(n) * float32(p)))); positions uniform without
    replacement; each becomes [MASK] with probability 0.85, else keeps its token."""

    def __init__(self, L, p, fraction, specials, rng):
        self.L, self.p, self.fraction, self.rng = L, p, fraction, rng
        self.N = int((p + 0.005) * L)
        self.pad, self.cls, self.sep, self.mask = specials

    def batch(self, examples):
        B, L, N = len(examples), self.L, self.N
        ids = np.stack([e["input_ids"] for e in examples]).astype(np.int64)
        seg = np.stack([e["segment_ids"] for e in examples]).astype(np.int64)
        att = np.stack([e["input_mask"] for e in examples]).astype(np.int64)
        masked = ids.copy()
        positions = np.zeros((B, N), dtype=np.int64)
        weights = np.zeros((B, N), dtype=np.float32)
        for b in range(B):
            n = int(att[b].sum())
            row = ids[b, :n]
            candidates = np.nonzero((row != self.cls) & (row != self.sep) & (row != self.mask) & (row != self.pad))[0]
            count = max(1, min(N, int(np.round(np.float32(n) * np.float32(self.p)))))
            count = min(count, len(candidates))
            chosen = np.sort(self.rng.choice(candidates, size=count, replace=False))
            positions[b, :count] = chosen
            weights[b, :count] = 1
            for pos in chosen:
                if self.rng.random() < self.fraction:
                    masked[b, pos] = self.mask
        originals = np.take_along_axis(ids, positions, 1) * (weights > 0)
        t = lambda a: torch.from_numpy(a)
        return dict(ids=t(ids), masked=t(masked), seg=t(seg), att=t(att), positions=t(positions),
                    weights=t(weights), originals=t(originals))


def pair_forward(gen, disc, batch, noise=None, want_hidden=False):
    """One ELECTRA forward as run_pretraining.py: returns losses, predictions, samples, disc logits,
    labels (and with `want_hidden` the discriminator's last-layer output)."""
    ids, masked, seg, att = batch["ids"], batch["masked"], batch["seg"], batch["att"]
    B, L = ids.shape
    N = batch["positions"].shape[1]
    hidden = gen.electra(input_ids=masked, attention_mask=att, token_type_ids=seg).last_hidden_state
    rows = (torch.arange(B).unsqueeze(1) * L + batch["positions"]).reshape(-1)
    logits = gen.generator_lm_head(gen.generator_predictions(hidden.reshape(B * L, -1)[rows]))
    w = batch["weights"].reshape(-1)
    originals = batch["originals"].reshape(-1)
    ce = torch.nn.functional.cross_entropy(logits, originals, reduction="none")
    gen_loss = (ce * w).sum() / (w.sum() + 1e-6)
    with torch.no_grad():
        if noise is None:
            u = torch.rand_like(logits)
            noise = -torch.log(-torch.log(u + 1e-9) + 1e-9)
        sampled = torch.argmax(logits.detach() + noise, dim=-1)
        disc_ids = ids.clone().reshape(-1)
        real = w > 0
        disc_ids[rows[real]] = sampled[real]
        labels = (disc_ids != ids.reshape(-1)).float()
    out = disc(input_ids=disc_ids.reshape(B, L), attention_mask=att, token_type_ids=seg, output_hidden_states=want_hidden)
    d = out.logits.reshape(-1)
    m = att.reshape(-1).float()
    bce = torch.nn.functional.binary_cross_entropy_with_logits(d, labels, reduction="none")
    disc_loss = (bce * m).sum() / (m.sum() + 1e-6)
    return dict(loss=gen_loss + 50.0 * disc_loss, gen_loss=gen_loss, disc_loss=disc_loss,
                predictions=logits.detach().argmax(-1), sampled=sampled, disc_logits=d.detach(), labels=labels,
                disc_hidden=out.hidden_states[-1].detach() if want_hidden else None)


def build_pair(gen_config, disc_config):
    gen, disc = ElectraForMaskedLM(gen_config), ElectraForPreTraining(disc_config)
    disc.electra.embeddings = gen.electra.embeddings        # shared embeddings + LayerNorm, as ELECTRA
    named, seen = [], set()
    for prefix, model in (("generator.", gen), ("discriminator.", disc)):
        for n, p in model.named_parameters():
            if id(p) not in seen:
                seen.add(id(p))
                named.append((prefix + n, p))
    return gen, disc, named


def training_batches(reader, train_frames, B, masker, rng, window=8):
    """Endless batches: per epoch a permutation of the training frames, sequences of `window`
    consecutive frames shuffled together (the shape of electra-train's stream, its own seed)."""
    pending = []
    while True:
        order = rng.permutation(train_frames)
        for start in range(0, len(order), window):
            seqs = [e for f in order[start:start + window] for e in reader.frame(int(f))]
            rng.shuffle(seqs)
            pending.extend(seqs)
            while len(pending) >= B:
                yield masker.batch(pending[:B])
                pending = pending[B:]


@torch.no_grad()
def evaluate(gen, disc, batches, noises):
    """Held-out generator accuracy (pooled over masked slots), discriminator AUC (per batch,
    averaged over batches, as electra-train's eval lines) and both losses (batch means), dropout
    off; the collapse signals as electra-train computes them: the discriminator's last-layer
    spread (per hidden unit the standard deviation over every real position, averaged over units)
    and the share of the generator's most frequent argmax among the masked slots."""
    gen.eval(); disc.eval()
    correct = slots = 0.0
    aucs, gen_losses, disc_losses = [], [], []
    hidden_rows, predicted = [], {}
    for batch, noise in zip(batches, noises):
        with torch.no_grad():
            r = pair_forward(gen, disc, batch, noise, want_hidden=True)
        hidden_rows.append(r["disc_hidden"].reshape(-1, r["disc_hidden"].shape[-1])[batch["att"].reshape(-1) > 0].double())
        for t in r["predictions"][batch["weights"].reshape(-1) > 0].tolist():
            predicted[t] = predicted.get(t, 0) + 1
        w = batch["weights"].reshape(-1)
        correct += ((r["predictions"] == batch["originals"].reshape(-1)).float() * w).sum().item()
        slots += w.sum().item()
        m = batch["att"].reshape(-1) > 0
        aucs.append(auc(r["disc_logits"][m].numpy(), r["labels"][m].numpy()))
        gen_losses.append(r["gen_loss"].item())
        disc_losses.append(r["disc_loss"].item())
    hidden = torch.cat(hidden_rows)
    spread = hidden.std(dim=0, unbiased=False).mean().item()
    top = max(predicted.values()) / sum(predicted.values()) if predicted else 0.0
    return dict(acc=correct / max(slots, 1), auc=float(np.mean(aucs)), gen_loss=float(np.mean(gen_losses)),
                disc_loss=float(np.mean(disc_losses)), spread=spread, top=top)


def train_pytorch(args, configs, reader, train_frames, L, specials, seed):
    """One PyTorch run of the same configuration, data and steps (its own seed for init, masking,
    shuffling, dropout and sampling). Returns the trained (generator, discriminator)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    masker = Masker(L, 0.15, 0.85, specials, rng)
    gen, disc, named = build_pair(configs["generator"], configs["discriminator"])
    opt = ElectraAdamW(named, args.learning_rate, args.warmup_steps, args.steps)
    stream = training_batches(reader, train_frames, args.batch_size, masker, rng)
    start = time.perf_counter()
    for step in range(1, args.steps + 1):
        gen.train(); disc.train()
        batch = next(stream)
        for _, p in named:
            p.grad = None
        r = pair_forward(gen, disc, batch)
        r["loss"].backward()
        norm, lr = opt.update()
        if not math.isfinite(r["loss"].item()):
            sys.exit(f"compare_learning: PyTorch loss is {r['loss'].item()} at step {step} (seed {seed})")
        if step % 50 == 0 or step == args.steps:
            elapsed = time.perf_counter() - start
            print(f"pytorch seed {seed} step {step}/{args.steps}: loss {r['loss'].item():.4f} (gen {r['gen_loss'].item():.4f}, "
                  f"disc {r['disc_loss'].item():.4f}), lr {lr:.2e}, "
                  f"{step * args.batch_size * L / elapsed:.0f} tokens/s", flush=True)
    return gen, disc


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shards", default="data")
    ap.add_argument("--run", required=True, nargs="+", help="electra-train run directories (for their metrics.jsonl)")
    ap.add_argument("--export", required=True, nargs="+",
                    help="their electra-train export outputs (discriminator/, generator/), in the same order")
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--learning-rate", type=float, default=1e-4)
    ap.add_argument("--warmup-steps", type=int, default=50)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0, help="the first PyTorch seed")
    ap.add_argument("--seeds", type=int, default=3,
                    help="PyTorch runs (seeds seed, seed+1, ...): ours is compared with their mean, and their spread is shown")
    ap.add_argument("--package-seeds", type=int, default=0,
                    help="also train this many runs with tools/pretrain_torch.py fed by the electra_shards package "
                         "(electra-train's own batches for seeds seed, seed+1, ...), shown in the table")
    ap.add_argument("--eval-sequences", type=int, default=512, help="held-out sequences evaluated (at most)")
    ap.add_argument("--tolerance", type=float, default=0.10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--collapsed-spread", type=float, default=0.01,
                    help="a last-layer spread under this is a collapsed discriminator (electra-train's Trainer.collapsedSpread)")
    args = ap.parse_args()
    hf_logging.disable_progress_bar()
    torch.set_num_threads(args.threads)

    try:
        reader = ShardReader(args.shards)
    except ShardError as e:
        sys.exit(f"compare_learning: {e}")
    vocab = reader.vocabulary()
    specials = tuple(vocab.index(t) for t in ("[PAD]", "[CLS]", "[SEP]", "[MASK]"))
    configs = {}
    for part in ("generator", "discriminator"):
        if len(args.run) != len(args.export):
            sys.exit("compare_learning: give one --export folder per --run directory")
        for run, export in zip(args.run, args.export):
            if not os.path.exists(os.path.join(export, part, "config.json")):
                sys.exit(f"compare_learning: {export}/{part}/config.json missing (run `electra-train export {run} --out {export}`)")
        path = os.path.join(args.export[0], part)
        c = ElectraConfig.from_pretrained(path)
        c.hidden_dropout_prob = c.attention_probs_dropout_prob = args.dropout
        c._attn_implementation = "eager"
        configs[part] = c
    if configs["generator"].vocab_size != len(vocab):
        sys.exit(f"compare_learning: {args.export[0]} has vocabulary {configs['generator'].vocab_size}, "
                 f"{args.shards} has {len(vocab)}: export a run trained on these shards")

    held = held_out_frames(reader, 0.01)
    train_frames = [i for i in range(len(reader.frames)) if i not in held and reader.frames[i][5] > 0]
    L = reader.max_seq_length
    print(f"shards: {args.shards}, {len(reader)} sequences in {len(reader.frames)} frames, "
          f"{len(held)} frames held out; L={L}, vocabulary {len(vocab)}")

    # ---- The same held-out batches (masks and Gumbel noise) for both trained pairs.
    eval_rng = np.random.default_rng(1_000_003)
    eval_masker = Masker(L, 0.15, 0.85, specials, eval_rng)
    sequences = [e for f in sorted(held) for e in reader.frame(f)][:args.eval_sequences]
    if not sequences:
        sys.exit("compare_learning: no held-out sequences (the shards have fewer than two frames)")
    batches = [eval_masker.batch(sequences[i:i + args.batch_size]) for i in range(0, len(sequences), args.batch_size)]
    g = torch.Generator().manual_seed(7)
    V = len(vocab)
    noises = []
    for b in batches:
        u = torch.rand(b["positions"].numel(), V, generator=g)
        noises.append(-torch.log(-torch.log(u + 1e-9) + 1e-9))
    ours_runs = []
    for run, export in zip(args.run, args.export):
        g_ = ElectraForMaskedLM.from_pretrained(os.path.join(export, "generator"), attn_implementation="eager")
        d_ = ElectraForPreTraining.from_pretrained(os.path.join(export, "discriminator"), attn_implementation="eager")
        ours_runs.append((run, evaluate(g_, d_, batches, noises), g_))
    runs = []
    for k in range(args.seeds):
        gen, disc = train_pytorch(args, configs, reader, train_frames, L, specials, args.seed + k)
        runs.append((f"seed {args.seed + k}", evaluate(gen, disc, batches, noises), gen))
        r = runs[-1][1]   # as each run ends: a long comparison shows its results as they come
        print(f"pytorch seed {args.seed + k}: held-out generator accuracy {r['acc']:.4f}, AUC {r['auc']:.4f}, "
              f"last-layer spread {r['spread']:.5f}, top share {r['top']:.3f}", flush=True)
    package_runs = []
    for k in range(args.package_seeds):   # PyTorch fed by electra_shards: electra-train's batches, seed for seed
        import pretrain_torch
        from electra_shards import MaskedBatches
        seed = args.seed + k
        torch.manual_seed(seed)
        gen_, disc_ = pretrain_torch.build_pair(configs["generator"], configs["discriminator"])
        pretrain_torch.train(pretrain_torch.ElectraPair(gen_, disc_), MaskedBatches(args.shards, batch_size=args.batch_size, seed=seed),
                             args.steps, args.learning_rate, args.warmup_steps, seed, torch.device("cpu"), workers=1,
                             log=lambda line: print(f"pytorch + electra_shards seed {seed} {line}", flush=True))
        package_runs.append((f"seed {seed}", evaluate(gen_, disc_, batches, noises), gen_))
    keys = ("acc", "auc", "gen_loss", "disc_loss", "spread", "top")
    theirs = {key: float(np.mean([r[key] for _, r, _ in runs])) for key in keys}
    ours = {key: float(np.mean([r[key] for _, r, _ in ours_runs])) for key in keys}

    def top_predictions(gen):
        """The generator's most frequent argmax predictions on the held-out batches (early in
        training the argmax is one frequent token nearly everywhere, and accuracy jumps with it)."""
        gen.eval()
        counts = {}
        with torch.no_grad():
            for b in batches:
                B = b["ids"].shape[0]
                hidden = gen.electra(input_ids=b["masked"], attention_mask=b["att"], token_type_ids=b["seg"]).last_hidden_state
                rows = (torch.arange(B).unsqueeze(1) * L + b["positions"]).reshape(-1)
                pred = gen.generator_lm_head(gen.generator_predictions(hidden.reshape(B * L, -1)[rows])).argmax(-1)
                for t in pred[b["weights"].reshape(-1) > 0].tolist():
                    counts[t] = counts.get(t, 0) + 1
        total = sum(counts.values())
        return ", ".join(f"{vocab[t]!r} {c / total:.0%}" for t, c in sorted(counts.items(), key=lambda kv: -kv[1])[:3])

    def reported_eval(run):
        """The last held-out line of a run's metrics.jsonl."""
        line = None
        path = os.path.join(run, "metrics.jsonl")
        if os.path.exists(path):
            for text in open(path):
                row = json.loads(text)
                if row.get("kind") == "eval":
                    line = row
        return line

    def row(name, r):
        print(f"{name:40}{r['acc']:>20.4f}{r['auc']:>20.4f}{r['gen_loss']:>16.4f}{r['disc_loss']:>12.4f}"
              f"{r['spread']:>10.5f}{r['top']:>10.3f}")

    print()
    print(f"held-out: {len(sequences)} sequences, {len(batches)} batches, the same masks and Gumbel noise for every model")
    print(f"{'':40}{'generator accuracy':>20}{'discriminator AUC':>20}{'generator loss':>16}{'disc. loss':>12}"
          f"{'spread':>10}{'top share':>10}")
    for name, r, _ in runs:
        row("PyTorch, " + name, r)
    row(f"PyTorch, mean of {len(runs)}", theirs)
    for name, r, _ in package_runs:
        row("PyTorch + electra_shards, " + name, r)
    if package_runs:
        row(f"PyTorch + electra_shards, mean of {len(package_runs)}",
            {key: float(np.mean([r[key] for _, r, _ in package_runs])) for key in keys})
    for run, r, _ in ours_runs:
        row("electra-swift, " + os.path.basename(os.path.normpath(run)), r)
        line = reported_eval(run)
        if line:
            print(f"{'  (its own eval line, step ' + str(line.get('step')) + ')':40}{line['generator_accuracy']:>20.4f}"
                  f"{line['discriminator_auc']:>20.4f}{line['generator_loss']:>16.4f}{line['discriminator_loss']:>12.4f}")
    row(f"electra-swift, mean of {len(ours_runs)}", ours)
    rel = {k: (ours[k] - theirs[k]) / theirs[k] if theirs[k] > 0 else float("inf") for k in keys}
    print(f"{'ours relative to PyTorch (means)':40}{rel['acc']:>+20.1%}{rel['auc']:>+20.1%}{rel['gen_loss']:>+16.1%}{rel['disc_loss']:>+12.1%}")
    floor = args.collapsed_spread
    print(f"collapsed (last-layer spread under {floor}): PyTorch {sum(r['spread'] < floor for _, r, _ in runs)} of {len(runs)}, "
          f"ours {sum(r['spread'] < floor for _, r, _ in ours_runs)} of {len(ours_runs)}")
    print("top generator predictions (argmax at the masked positions):")
    for name, _, g_ in runs:
        print(f"  PyTorch {name}: " + top_predictions(g_))
    for name, _, g_ in package_runs:
        print(f"  PyTorch + electra_shards {name}: " + top_predictions(g_))
    for run, _, g_ in ours_runs:
        print(f"  electra-swift {os.path.basename(os.path.normpath(run))}: " + top_predictions(g_))
    chance = 1.0 / V
    print(f"chance: generator accuracy {chance:.5f}, AUC 0.5")
    # Ours agrees on a metric when its mean is within the tolerance of PyTorch's, or when the two
    # sets of runs overlap (the difference is inside PyTorch's own run-to-run spread).
    ok = True
    for key, name in (("acc", "generator accuracy"), ("auc", "discriminator AUC")):
        lo_t, hi_t = min(r[key] for _, r, _ in runs), max(r[key] for _, r, _ in runs)
        lo_o, hi_o = min(r[key] for _, r, _ in ours_runs), max(r[key] for _, r, _ in ours_runs)
        within = abs(rel[key]) <= args.tolerance
        overlap = lo_o <= hi_t and lo_t <= hi_o
        ok = ok and (within or overlap)
        verdict = ("within " + f"{args.tolerance:.0%}" if within else
                   "ranges overlap" if overlap else "DIFFERENT")
        print(f"{name}: PyTorch {lo_t:.4f}-{hi_t:.4f}, ours {lo_o:.4f}-{hi_o:.4f}, means {rel[key]:+.1%}: {verdict}")
    print(f"ours agrees with PyTorch on both: {'yes' if ok else 'NO'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
