"""ELECTRA pre-training in PyTorch on electra-swift's shards, fed by the electra_shards package.

The same objective as electra-train (google-research/electra run_pretraining.py): HF
ElectraForMaskedLM (generator) + ElectraForPreTraining (discriminator) with shared embeddings
(word, position, token type and their LayerNorm) and the generator's output layer tied to the
word embeddings, as electra-train ties them; the generator head at the masked positions only,
Gumbel-max sampling, loss = generator + 50 x discriminator, each normalised by the GLOBAL
batch's counts (so N ranks train the objective of one process); ELECTRA's AdamW (no bias
correction, no decay on LayerNorm and biases, global-norm clipping at 1.0, linear warm-up and
decay). The batches are electra-train's own (electra_shards.MaskedBatches: the same rows, masks
and replacements for the same --seed), each DDP rank taking its contiguous B/N rows.

CPU:   python tools/pretrain_torch.py --shards data --preset tiny --steps 150 --batch-size 32
GPUs:  torchrun --nproc_per_node 8 tools/pretrain_torch.py --shards data --preset small \\
           --batch-size 128 --bf16 --workers 4 --out runs/torch-small
Mixed: --shards web=0.7,books=0.3 (as electra-train).
Benchmark: --random-batches feeds random batches of the same shapes instead (the loader's cost
is the difference in tokens/s); every log line reports the seconds waited for data.

Prints one line per --log-every steps and the held-out metrics (electra-train's evaluation
batches: generator accuracy, discriminator AUC, both losses); --out writes the trained pair as
HF folders (OUT/generator, OUT/discriminator) and the loader's state_dict (OUT/loader.json).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.distributed as dist

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ports import auc  # noqa: E402  (Mann-Whitney U, ties counted half: electra-train's areaUnderROC)

# tied as electra-train ties them; sizes of Sources/Model/ElectraConfig.swift's presets
PRESETS = {  # embedding, hidden, layers, heads, generator fraction, learning rate
    "tiny": (64, 128, 4, 2, 0.25, 1e-3),
    "small": (128, 256, 12, 4, 0.25, 5e-4),
    "base": (768, 768, 12, 12, 1 / 3, 2e-4),
    "large": (1024, 1024, 24, 16, 0.25, 2e-4),
}


def preset_configs(name: str, vocab_size: int, max_positions: int, dropout: float):
    """ElectraConfig of the generator and the discriminator for one of electra-train's presets."""
    from transformers import ElectraConfig
    E, H, layers, heads, fraction, _ = PRESETS[name]
    G = int(round(H * fraction))
    common = dict(vocab_size=vocab_size, embedding_size=E, num_hidden_layers=layers, hidden_act="gelu",
                  hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout,
                  max_position_embeddings=max(512 if name != "tiny" else 128, max_positions), type_vocab_size=2,
                  initializer_range=0.02, layer_norm_eps=1e-12, pad_token_id=0, tie_word_embeddings=True)
    gen = ElectraConfig(hidden_size=G, num_attention_heads=max(1, G // 64), intermediate_size=4 * G, **common)
    disc = ElectraConfig(hidden_size=H, num_attention_heads=heads, intermediate_size=4 * H, **common)
    for c in (gen, disc):
        c._attn_implementation = "sdpa" if torch.cuda.is_available() else "eager"
    return gen, disc


def build_pair(gen_config, disc_config):
    """The pair with electra-train's sharing: one embeddings module (word, position, token type,
    LayerNorm) for both, the generator's output layer tied to the word embeddings."""
    from transformers import ElectraForMaskedLM, ElectraForPreTraining
    gen, disc = ElectraForMaskedLM(gen_config), ElectraForPreTraining(disc_config)
    disc.electra.embeddings = gen.electra.embeddings
    gen.generator_lm_head.weight = gen.electra.embeddings.word_embeddings.weight
    return gen, disc


def named_parameters(gen, disc):
    named, seen = [], set()
    for prefix, model in (("generator.", gen), ("discriminator.", disc)):
        for n, p in model.named_parameters():
            if id(p) not in seen:
                seen.add(id(p))
                named.append((prefix + n, p))
    return named


class ElectraPair(torch.nn.Module):
    """Generator + discriminator as one module (one DDP wrapper, one set of parameters)."""

    def __init__(self, gen, disc):
        super().__init__()
        self.gen, self.disc = gen, disc

    def forward(self, batch, noise_generator=None, counts=None, noise=None):
        """ELECTRA's forward: losses (normalised by `counts`, the global batch's masked slots and
        real tokens, when given), the generator's predictions, samples and the discriminator's logits."""
        masked, seg, att = batch["input_ids"], batch["segment_ids"], batch["attention_mask"]
        positions, weights, originals = batch["masked_positions"], batch["masked_weights"], batch["masked_original_ids"]
        B, L = masked.shape
        hidden = self.gen.electra(input_ids=masked, attention_mask=att, token_type_ids=seg).last_hidden_state
        rows = (torch.arange(B, device=masked.device).unsqueeze(1) * L + positions).reshape(-1)
        logits = self.gen.generator_lm_head(self.gen.generator_predictions(hidden.reshape(B * L, -1)[rows])).float()
        w = weights.reshape(-1)
        orig = originals.reshape(-1)
        ce = torch.nn.functional.cross_entropy(logits, orig, reduction="none")
        slots, tokens = (counts if counts is not None else (w.sum(), att.sum()))
        gen_loss = (ce * w).sum() / (slots + 1e-6)
        with torch.no_grad():
            if noise is None:
                u = torch.rand(logits.shape, device=logits.device, generator=noise_generator)
                noise = -torch.log(-torch.log(u + 1e-9) + 1e-9)
            sampled = torch.argmax(logits + noise, dim=-1)
            original_ids = masked.clone().reshape(-1)
            real = w > 0
            original_ids[rows[real]] = orig[real]
            disc_ids = original_ids.clone()
            disc_ids[rows[real]] = sampled[real]
            labels = (disc_ids != original_ids).float()
        d = self.disc(input_ids=disc_ids.reshape(B, L), attention_mask=att, token_type_ids=seg).logits.reshape(-1).float()
        m = att.reshape(-1).float()
        bce = torch.nn.functional.binary_cross_entropy_with_logits(d, labels, reduction="none")
        disc_loss = (bce * m).sum() / (tokens + 1e-6)
        return dict(loss=gen_loss + 50.0 * disc_loss, gen_loss=gen_loss, disc_loss=disc_loss,
                    predictions=logits.detach().argmax(-1), disc_logits=d.detach(), labels=labels, mask=m)


class ElectraAdamW:
    """google-research/electra model/optimization.py: Adam without bias correction, decoupled
    decay except LayerNorm weights and biases, global-norm clipping at 1.0, lr x min(1, t/W) x (1 - t/T)."""

    def __init__(self, named, lr, warmup, total):
        self.params = [p for _, p in named]
        self.decay = [not ("LayerNorm" in n or n.endswith("bias")) for n, _ in named]
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.lr, self.warmup, self.total, self.step = lr, warmup, total, 0

    @torch.no_grad()
    def update(self):
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in self.params]
        norm = torch.sqrt(sum((g.double() ** 2).sum() for g in grads)).item()
        clip = 1.0 / max(norm, 1.0)
        t = self.step
        lr = self.lr * (1 - min(t, self.total) / max(self.total, 1)) * (min(1.0, t / self.warmup) if self.warmup > 0 else 1.0)
        for p, g, m, v, decay in zip(self.params, grads, self.m, self.v, self.decay):
            g = g * clip
            m.mul_(0.9).add_(g, alpha=0.1)
            v.mul_(0.999).addcmul_(g, g, value=0.001)
            update = m / (v.sqrt() + 1e-6)
            if decay:
                update = update + 0.01 * p
            p.sub_(lr * update)
        self.step += 1
        return norm, lr


def to_device(batch, device):
    out = {}
    for k, v in batch.items():
        if k == "step":
            continue
        v = v.to(device, non_blocking=True)
        out[k] = v.long() if v.dtype == torch.int32 else v
    return out


@torch.no_grad()
def evaluate(pair, batches, device, seed=7):
    """Held-out generator accuracy (pooled), discriminator AUC (per batch, averaged), both losses."""
    pair.eval()
    g = torch.Generator(device=device).manual_seed(seed)
    correct = slots = 0.0
    aucs, gl, dl = [], [], []
    for batch, _ in batches:
        b = to_device({k: torch.from_numpy(v) for k, v in batch.as_dict().items()}, device)
        r = pair(b, noise_generator=g)
        w = b["masked_weights"].reshape(-1)
        correct += ((r["predictions"] == b["masked_original_ids"].reshape(-1)).float() * w).sum().item()
        slots += w.sum().item()
        m = r["mask"] > 0
        aucs.append(auc(r["disc_logits"][m].cpu().numpy(), r["labels"][m].cpu().numpy()))
        gl.append(r["gen_loss"].item())
        dl.append(r["disc_loss"].item())
    pair.train()
    return dict(acc=correct / max(slots, 1), auc=float(np.mean(aucs)), gen_loss=float(np.mean(gl)), disc_loss=float(np.mean(dl)))


def random_loader(batch_size, L, N, vocab, device, seed):
    """Endless random batches of the package's shapes (for --random-batches), made on the device."""
    g = torch.Generator(device=device).manual_seed(seed)
    while True:
        ids = torch.randint(5, vocab, (batch_size, L), device=device, generator=g)
        pos = torch.sort(torch.stack([torch.randperm(L - 2, device=device, generator=g)[:N] + 1 for _ in range(batch_size)]), 1).values
        yield {"input_ids": ids, "segment_ids": torch.zeros_like(ids), "attention_mask": torch.ones_like(ids),
               "masked_positions": pos, "masked_original_ids": torch.gather(ids, 1, pos),
               "masked_weights": torch.ones(batch_size, N, device=device)}


def train(pair, batches, steps, lr, warmup, seed, device, *, rank=0, world=1, workers=2, bf16=False,
          log_every=50, random_batches=False, start_state=None, log=print):
    """Trains `pair` for `steps` on `batches` (electra_shards.MaskedBatches); returns the
    loader's state and the timing: tokens/s, the seconds waited for data."""
    from electra_shards.torch_data import ElectraBatchDataset, ElectraDataLoader
    named = named_parameters(pair.gen, pair.disc)
    opt = ElectraAdamW(named, lr, warmup, steps)
    model = pair
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(pair, device_ids=[device.index] if device.type == "cuda" else None)
    L, N = batches.masking.max_seq_length, batches.masking.max_predictions
    if random_batches:
        loader, state_of = random_loader(batches.batch_size // world, L, N, batches.shards.vocab_size, device, seed + rank), None
    else:
        dataset = ElectraBatchDataset(batches, rank=rank, world_size=world)
        loader = ElectraDataLoader(dataset, num_workers=workers, pin_memory=device.type == "cuda",
                                   persistent_workers=workers > 0)
        if start_state is not None:
            loader.load_state_dict(start_state)
        state_of = loader
    noise = torch.Generator(device=device).manual_seed(seed * 1000 + rank)
    it = iter(loader)
    tokens = 0
    waited = 0.0
    start = time.perf_counter()
    for step in range(1, steps + 1):
        t0 = time.perf_counter()
        batch = to_device(next(it), device)
        if device.type == "cuda":
            torch.cuda.synchronize(device) if step == 1 else None
        waited += time.perf_counter() - t0
        counts = torch.stack([batch["masked_weights"].sum(), batch["attention_mask"].sum().float()])
        if world > 1:
            dist.all_reduce(counts)
            counts = counts / world  # DDP averages gradients: each rank's loss over the global counts, x world
        for _, p in named:
            p.grad = None
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16):
            r = model(batch, noise_generator=noise, counts=(counts[0], counts[1]))
        r["loss"].backward()
        norm, lr_now = opt.update()
        tokens += int(batch["attention_mask"].sum().item()) * world
        if not math.isfinite(r["loss"].item()):
            raise RuntimeError(f"loss is {r['loss'].item()} at step {step}")
        if rank == 0 and (step % log_every == 0 or step == steps):
            elapsed = time.perf_counter() - start
            log(f"step {step}/{steps}: loss {r['loss'].item():.4f} (gen {r['gen_loss'].item():.4f}, disc "
                f"{r['disc_loss'].item():.4f}), lr {lr_now:.2e}, |g| {norm:.3f}, {tokens / elapsed:,.0f} tokens/s, "
                f"data wait {waited:.2f} s of {elapsed:.1f} s")
    elapsed = time.perf_counter() - start
    return dict(state=state_of.state_dict() if state_of is not None else None, tokens_per_second=tokens / elapsed,
                data_wait_seconds=waited, seconds=elapsed)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shards", default="data", help="a shard directory, or several mixed: web=0.7,books=0.3")
    ap.add_argument("--preset", default="tiny", choices=sorted(PRESETS))
    ap.add_argument("--config-from", help="an electra-train export folder (generator/, discriminator/) to take the sizes from")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch-size", type=int, default=32, help="the global batch (split over the ranks)")
    ap.add_argument("--learning-rate", type=float, help="default: the preset's, as electra-train")
    ap.add_argument("--warmup-steps", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0, help="electra-train's --seed: the same batches and masks")
    ap.add_argument("--mask-prob", type=float, default=0.15)
    ap.add_argument("--mask-fraction", type=float, default=0.85)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--workers", type=int, default=2, help="DataLoader workers per rank")
    ap.add_argument("--bf16", action="store_true", help="bf16 autocast (GPUs)")
    ap.add_argument("--threads", type=int, help="CPU threads of torch")
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--eval-batches", type=int, default=4, help="held-out batches evaluated at the end (0: none)")
    ap.add_argument("--random-batches", action="store_true", help="feed random batches instead (a benchmark baseline)")
    ap.add_argument("--out", help="write the trained pair (HF folders) and the loader state here")
    args = ap.parse_args()

    from transformers import ElectraConfig
    from transformers.utils import logging as hf_logging
    from electra_shards import MaskedBatches, ShardError
    hf_logging.set_verbosity_error()
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = True
    else:
        device = torch.device("cpu")
    if args.threads:
        torch.set_num_threads(args.threads)
    if world > 1:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    log = (lambda s: print(s, flush=True)) if rank == 0 else (lambda s: None)
    try:
        batches = MaskedBatches(args.shards, batch_size=args.batch_size, seed=args.seed, mask_prob=args.mask_prob,
                                mask_token_fraction=args.mask_fraction)
    except (ShardError, ValueError) as e:
        sys.exit(f"pretrain_torch: {e}")
    if args.batch_size % world:
        sys.exit(f"pretrain_torch: --batch-size {args.batch_size} cannot be split into {world} ranks of equal rows")
    vocab, L = batches.shards.vocab_size, batches.masking.max_seq_length
    if args.config_from:
        gen_config = ElectraConfig.from_pretrained(os.path.join(args.config_from, "generator"))
        disc_config = ElectraConfig.from_pretrained(os.path.join(args.config_from, "discriminator"))
        for c in (gen_config, disc_config):
            c.hidden_dropout_prob = c.attention_probs_dropout_prob = args.dropout
            c._attn_implementation = "sdpa" if device.type == "cuda" else "eager"
    else:
        gen_config, disc_config = preset_configs(args.preset, vocab, L, args.dropout)
    lr = args.learning_rate or PRESETS[args.preset][5]
    torch.manual_seed(args.seed)  # the same initial parameters on every rank
    gen, disc = build_pair(gen_config, disc_config)
    pair = ElectraPair(gen, disc).to(device)
    torch.manual_seed(args.seed * 7919 + rank + 1)  # dropout: each rank its own
    params = sum(p.numel() for _, p in named_parameters(gen, disc))
    log(f"pretrain_torch: {args.shards}: {batches.stream.sequences_per_epoch} training sequences, batch {args.batch_size} x {L} "
        f"over {world} rank(s) on {device.type}{' (bf16)' if args.bf16 else ''}; {params:,} parameters; "
        f"{'random batches' if args.random_batches else f'{args.workers} loader worker(s) per rank'}")
    result = train(pair, batches, args.steps, lr, args.warmup_steps, args.seed, device, rank=rank, world=world,
                   workers=args.workers, bf16=args.bf16, log_every=args.log_every, random_batches=args.random_batches,
                   log=log)
    log(f"done: {result['tokens_per_second']:,.0f} tokens/s, waited {result['data_wait_seconds']:.2f} s for data "
        f"in {result['seconds']:.1f} s")
    if rank == 0 and args.eval_batches > 0:
        metrics = evaluate(pair, batches.held_out_batches(args.eval_batches), device)
        log("held-out: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
    if rank == 0 and args.out:
        os.makedirs(args.out, exist_ok=True)
        gen.save_pretrained(os.path.join(args.out, "generator"))
        disc.save_pretrained(os.path.join(args.out, "discriminator"))
        if result["state"] is not None:
            with open(os.path.join(args.out, "loader.json"), "w") as f:
                json.dump(result["state"], f)
        log(f"wrote {args.out}/generator, {args.out}/discriminator")
    if world > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
