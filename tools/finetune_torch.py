"""What the PyTorch side of the fine-tuning comparisons shares (tools/finetune_compare.py for
classification, tools/finetune_compare_tokens.py for question answering and tagging): it fine-tunes
a transformers ELECTRA model exactly as electra-train finetune does, so that the two differ only in
their arithmetic:
- the same rows in the same order per epoch (epoch_order: the xoshiro256** Fisher-Yates shuffle of
  FineTuning/epochOrder);
- the very dropout masks ours draws (SharedDropoutMasks; SAME_DROPOUT=0 in the environment leaves
  PyTorch its own);
- google-research/electra's layer-wise AdamW (LayerwiseAdamW: no bias correction, weight decay but
  on LayerNorms and biases, global-norm clipping at 1.0, linear warm-up and decay, rates
  lr * decay^(layers + 2 - depth));
- tokens/s over the training steps only (fit).
Standard library, numpy and torch (imported where used)."""
import os, re, time

from ports import GAMMA, Xoshiro256, derived_key, splitmix64


def epoch_order(n, seed, epoch):
    rng, order = Xoshiro256(seed, 0x64617461 + epoch), list(range(n))
    for i in range(n - 1, 0, -1):
        j = rng.uniform(i + 1)
        order[i], order[j] = order[j], order[i]
    return order


class SharedDropoutMasks:
    """electra-train finetune's dropout masks, so that the PyTorch side drops exactly the elements ours
    drops. Kernels/Dropout: element i of a site's tensor is dropped when its 16 bits of
    SplitMix64(seed + (i / 4) * gamma) fall below round(p * 65536), kept ones scaled by 1/(1-p). The
    step's key is one draw of Xoshiro256(seed, stream "drop"); the sites: the encoder's key
    derived_key(key, 1), its embeddings (site 0), each layer l's attention probabilities (3l+1),
    attention output (3l+2) and feed-forward output (3l+3); the head's dropouts derived_key(key, 2)
    and, for the sequence classifier's second one, derived_key(key, 3) (ElectraForQuestionAnswering
    has none). Element indices are those of the row-major [B, L, E], [B, heads, L, L], [B, L, H] and
    [B, H] tensors, so a last batch with fewer rows (ours pads it with dummy rows) sees the same mask rows."""

    def __init__(self, seed, p):
        import numpy as np
        self.np, self.p = np, p
        self.rng = Xoshiro256(seed, 0x64726F70)
        self.threshold = round(p * 65536)
        self.keep = np.float32(1) / (np.float32(1) - np.float32(p))
        self.key, self.head_calls = 0, 0
        self.seconds = 0.0   # spent drawing masks (ours' arithmetic in numpy; not PyTorch's cost)

    def next_step(self):
        self.key = self.rng.next()
        self.head_calls = 0

    def scale(self, seed, shape):
        import torch
        np = self.np
        start = time.time()
        n = 1
        for d in shape:
            n *= d
        g = np.arange((n + 3) // 4, dtype=np.uint64)
        with np.errstate(over="ignore"):
            z = splitmix64(np.uint64(seed) + g * np.uint64(GAMMA))
        lanes = np.stack([(z >> np.uint64(16 * k)) & np.uint64(0xFFFF) for k in range(4)], axis=1).reshape(-1)[:n]
        mask = torch.from_numpy(np.where(lanes >= self.threshold, self.keep, np.float32(0)).astype(np.float32).reshape(shape))
        self.seconds += time.time() - start
        return mask

    def encoder_seed(self, site):
        return derived_key(derived_key(self.key, 1), site)

    def install(self, model):
        """Replaces every dropout of an ElectraFor{SequenceClassification, TokenClassification,
        QuestionAnswering} (eager attention) by these masks."""
        import torch
        from transformers.models.electra import modeling_electra
        masks = self

        class Site(torch.nn.Module):
            def __init__(self, seed_of):
                super().__init__()
                self.seed_of = seed_of

            def forward(self, x):
                return x * masks.scale(self.seed_of(), tuple(x.shape)) if self.training else x

        def head_seed():
            masks.head_calls += 1   # the sequence classifier calls its dropout twice: before dense, after GELU
            return derived_key(masks.key, 2 if masks.head_calls == 1 else 3)

        model.electra.embeddings.dropout = Site(lambda: masks.encoder_seed(0))
        for l, layer in enumerate(model.electra.encoder.layer):
            layer.attention.output.dropout = Site(lambda l=l: masks.encoder_seed(3 * l + 2))
            layer.output.dropout = Site(lambda l=l: masks.encoder_seed(3 * l + 3))
        if isinstance(model, modeling_electra.ElectraForSequenceClassification):
            model.classifier.dropout = Site(head_seed)
        elif isinstance(model, modeling_electra.ElectraForTokenClassification):
            model.dropout = Site(head_seed)
        else:
            assert isinstance(model, modeling_electra.ElectraForQuestionAnswering), type(model)

        def attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
            if scaling is None:
                scaling = query.size(-1) ** -0.5
            weights = torch.matmul(query, key.transpose(2, 3)) * scaling
            if attention_mask is not None:
                weights = weights + attention_mask
            weights = torch.nn.functional.softmax(weights, dim=-1)
            if module.training and dropout > 0:
                weights = weights * masks.scale(masks.encoder_seed(3 * module.layer_idx + 1), tuple(weights.shape))
            return torch.matmul(weights, value).transpose(1, 2).contiguous(), weights

        # ElectraSelfAttention looks the eager function up in its module at each call.
        modeling_electra.eager_attention_forward = attention


def depth(name, layers):
    """google-research/electra's _get_layer_lrs depths: 0 embeddings, l + 1 layer l, layers + 2 the head."""
    if not name.startswith("electra."):
        return layers + 2
    m = re.match(r"electra\.encoder\.layer\.(\d+)\.", name)
    return int(m.group(1)) + 1 if m else 0


class LayerwiseAdamW:
    """google-research/electra model/optimization.py as FineTuning/LayerwiseAdamW runs it."""

    def __init__(self, model, lr, total, decay=0.8, wd=0.01, warmup=0.1):
        import torch
        self.named = list(model.named_parameters())
        layers = model.config.num_hidden_layers
        self.factor = {n: decay ** (layers + 2 - depth(n, layers)) for n, _ in self.named}
        self.decays = {n: not re.search("LayerNorm|layer_norm|bias", n) for n, _ in self.named}
        self.m = {n: torch.zeros_like(p) for n, p in self.named}
        self.v = {n: torch.zeros_like(p) for n, p in self.named}
        self.lr, self.total, self.wd, self.warm, self.step = lr, total, wd, int(total * warmup), 0

    def update(self):
        import torch
        with torch.no_grad():
            norm = torch.sqrt(sum((p.grad.double() ** 2).sum() for _, p in self.named)).item()
            clip = 1.0 / max(norm, 1.0)
            base = self.lr * (1 - min(self.step, self.total) / self.total) * (min(1.0, self.step / self.warm) if self.warm > 0 else 1.0)
            for n, p in self.named:
                g = p.grad * clip
                self.m[n].mul_(0.9).add_(0.1 * g)
                self.v[n].mul_(0.999).add_(0.001 * g * g)
                update = self.m[n] / (self.v[n].sqrt() + 1e-6)
                if self.decays[n]:
                    update = update + self.wd * p
                p.sub_(base * self.factor[n] * update)
        self.step += 1


def prepare(model, seed):
    """DROPOUT=p in the environment: every dropout of the model at p (as finetune --dropout); then
    ours' masks unless SAME_DROPOUT=0. Returns the masks (None: PyTorch's own, or no dropout)."""
    import torch
    if "DROPOUT" in os.environ:
        for module in model.modules():
            if isinstance(module, torch.nn.Dropout):
                module.p = float(os.environ["DROPOUT"])
    p = float(os.environ.get("DROPOUT", model.config.hidden_dropout_prob))
    if p > 0 and os.environ.get("SAME_DROPOUT", "1") != "0":
        masks = SharedDropoutMasks(seed, p)
        masks.install(model)
        return masks
    return None


def fit(model, rows, seed, lr, epochs, batch, loss_of, evaluate, name="torch"):
    """Fine-tunes `model` over `rows` training rows as electra-train finetune does: `loss_of(indices)`
    returns (loss, tokens) of one batch; `evaluate()` the dev metric after each epoch (dropout off).
    Returns {"metric": per epoch, "loss": per step, "tokens_per_second": training tokens over the
    steps' time less the time spent drawing ours' dropout masks in numpy, "tokens_per_second_with_masks"}."""
    import torch
    torch.manual_seed(seed)
    torch.set_num_threads(int(os.environ.get("THREADS", "2")))
    masks = prepare(model, seed)
    steps_per_epoch = (rows + batch - 1) // batch
    optimizer = LayerwiseAdamW(model, lr, steps_per_epoch * epochs)
    tokens, seconds, history, losses = 0, 0.0, [], []
    for epoch in range(epochs):
        order = epoch_order(rows, seed, epoch)
        model.train()
        for i in range(steps_per_epoch):
            start = time.time()
            model.zero_grad()
            if masks:
                masks.next_step()
            loss, n = loss_of(order[i * batch:(i + 1) * batch])
            loss.backward()
            optimizer.update()
            seconds += time.time() - start
            tokens += n
            losses.append(loss.item())
        model.eval()
        with torch.no_grad():
            history.append(evaluate())
        print(f"{name} seed {seed} epoch {epoch + 1}: dev {history[-1]:.4f}", flush=True)
    drawing = masks.seconds if masks else 0.0
    return {"metric": history, "loss": losses, "tokens_per_second": tokens / (seconds - drawing),
            "tokens_per_second_with_masks": tokens / seconds}


def ours_tokens_per_second(lines):
    """electra-train finetune's training tokens/s from its metrics.jsonl lines: the mean of its
    windows, leaving out each window that follows a dev evaluation (its clock ran during it)."""
    rates, after_eval = [], False
    for l in lines:
        if l["kind"] == "eval":
            after_eval = True
        elif l["kind"] == "train":
            if not after_eval:
                rates.append(l["tokens_per_second"])
            after_eval = False
    return sum(rates) / max(len(rates), 1)


def print_table(seeds, arms, metric):
    """arms: {"a"|"b"|"c": [(last-epoch metric in %, tokens/s, seconds or None[, tokens/s with mask drawing]) per seed]}."""
    names = {"a": "(a) electra-swift, pre-trained", "b": "(b) electra-swift, random init", "c": "(c) PyTorch, pre-trained"}
    print(f"| arm | " + " | ".join(f"seed {s}" for s in seeds) + f" | mean {metric} (last epoch) | tokens/s | wall s/run |")
    print("|---|" + "---|" * len(seeds) + "---|---|---|")
    means = {}
    for k, runs in arms.items():
        means[k] = sum(r[0] for r in runs) / len(runs)
        walls = [r[2] for r in runs if r[2] is not None]
        wall = f"{sum(walls) / len(walls):.0f}" if walls else "-"
        rate = f"{sum(r[1] for r in runs) / len(runs):.0f}"
        if all(len(r) > 3 for r in runs):
            rate += f" ({sum(r[3] for r in runs) / len(runs):.0f} with mask drawing)"
        print(f"| {names[k]} | " + " | ".join(f"{r[0]:.1f}" for r in runs) + f" | {means[k]:.2f} | {rate} | {wall} |")
    print(f"(a) - (c) = {means['a'] - means['c']:+.2f} points (goal: within 1); (a) - (b) = {means['a'] - means['b']:+.2f} points (goal: > 0)")


def first_losses(ours_lines, torch_losses):
    """The mean training loss of the first 10 steps on both sides (ours' first metrics window)."""
    first = next(l for l in ours_lines if l["kind"] == "train")
    n = first["step"]
    return first["loss"], sum(torch_losses[:n]) / n
