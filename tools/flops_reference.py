"""Training FLOPs as the ELECTRA paper counts them: a transcription of google-research/electra's
flops_computation.py (TransformerHparams, get_electra_train_flops), written from reading it.

Its rules: a matrix product is 2mnk; per element, dropout 4, layer norm 5, GELU 8, softmax 5;
embedding lookups are dense (2 e v per token); the masked-LM output is computed for the fraction
`output_frac` of the positions (0.15625 = 20/128); backward = forward (x2 in all). Two of its
quirks are kept, as they are the paper's numbers: the attention-output layer norm counts 5 per
position (not 5 per hidden unit) and the generator's vocabulary is the script's default unless
given (we always give the real one).

Writes Tests/Fixtures/model/flops.json: the FLOPs per training step of our tiny, small and base
presets (ELECTRA and the MLM baseline, at our default batch 32 and sequence 128, with the BERT
vocabulary) and the paper's ELECTRA-Small / BERT-Small totals, for Tests/ModelTests/FLOPsTests.
Usage: python3 tools/flops_reference.py   (no packages needed)
"""
import json
import os

DROPOUT, LAYER_NORM, GELU, SOFTMAX = 4, 5, 8, 5


class Transformer:
    """One encoder's forward FLOPs per sequence (flops_computation.TransformerHparams)."""

    def __init__(self, h, l, s, v, e=None, i=None, heads=None, output_frac=0.15625):
        self.h, self.l, self.s, self.v = h, l, s, v
        self.e = h if e is None else e
        self.i = 4 * h if i is None else i
        self.heads = max(h // 64, 1) if heads is None else heads
        self.output_frac = output_frac

    def layer(self):
        h, i, s, heads = self.h, self.i, self.s, self.heads
        per_token = (
            6 * h * h + 3 * h                          # q, k, v products and biases
            + 2 * h * s                                # scores
            + (SOFTMAX + DROPOUT + 1) * s * heads      # softmax, its dropout, the 1/sqrt(d) scale
            + 2 * h * s                                # weighted sum of the values
            + 2 * h * h + h + DROPOUT * h + h          # attention output, bias, dropout, residual
            + LAYER_NORM                               # (sic: per position)
            + 2 * h * i + GELU * i + i                 # intermediate, GELU, bias
            + 2 * h * i + h + DROPOUT * h + h          # output, bias, dropout, residual
            + LAYER_NORM * h)
        return per_token * s

    def inputs(self):
        e, h, s = self.e, self.h, self.s
        per_token = 2 * e * self.v + 2 * e * (s + 2) + 2 * e + LAYER_NORM * e + DROPOUT * e
        if e != h:
            per_token += 2 * h * e + h                 # embeddings_project
        return per_token * s

    def masked_lm_output(self):
        e, h, v = self.e, self.h, self.v
        per_token = 2 * e * v + 2 * h * e + e + GELU * e + LAYER_NORM * e + SOFTMAX * v + 2 * v
        return self.output_frac * per_token * self.s

    def replaced_token_head(self):
        h = self.h
        return (2 * h * h + h + GELU * h + 2 * h) * self.s

    def train(self, batch, steps, discriminator):
        head = self.replaced_token_head() if discriminator else self.masked_lm_output()
        return 2 * batch * steps * (self.l * self.layer() + self.inputs() + head)


def electra(h_d, l_d, h_g, l_g, batch, steps, e, s, v, i_d=None, heads_d=None, i_g=None, heads_g=None):
    """get_electra_train_flops with tied embeddings, the vocabulary given."""
    disc = Transformer(h_d, l_d, s, v, e=e, i=i_d, heads=heads_d).train(batch, steps, True)
    gen = Transformer(h_g, l_g, s, v, e=e, i=i_g, heads=heads_g).train(batch, steps, False)
    return disc + gen


# Our presets (Sources/Model/ElectraConfig.swift): hidden, layers, heads, embedding, generator
# hidden, generator heads. FFN = 4 x hidden in both models.
PRESETS = {
    "tiny": dict(h=128, l=4, heads=2, e=64, hg=32, heads_g=1),
    "small": dict(h=256, l=12, heads=4, e=128, hg=64, heads_g=1),
    "base": dict(h=768, l=12, heads=12, e=768, hg=256, heads_g=4),
}
VOCAB, SEQ, BATCH = 30522, 128, 32


def main():
    cases = []
    for name, p in PRESETS.items():
        for objective in ("electra", "mlm"):
            if objective == "electra":
                flops = electra(p["h"], p["l"], p["hg"], p["l"], BATCH, 1, p["e"], SEQ, VOCAB,
                                i_d=4 * p["h"], heads_d=p["heads"], i_g=4 * p["hg"], heads_g=p["heads_g"])
            else:
                flops = Transformer(p["h"], p["l"], SEQ, VOCAB, e=p["e"], i=4 * p["h"],
                                    heads=p["heads"]).train(BATCH, 1, False)
            cases.append(dict(preset=name, objective=objective, vocab=VOCAB, seq=SEQ, batch=BATCH,
                              flops_per_step=flops))
    paper = {
        "electra_small": electra(256, 12, 64, 12, 128, 1e6, 128, 128, 30522),
        "bert_small": Transformer(256, 12, 128, 30522, e=128).train(128, 1.45e6, False),
    }
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.join(root, "Tests/Fixtures/model/flops.json")
    with open(path, "w") as f:
        json.dump({"cases": cases, "paper": paper}, f, indent=1)
        f.write("\n")
    for c in cases:
        print(f"{c['preset']:5} {c['objective']:7} {c['flops_per_step']:.6e} FLOPs per step")
    for k, v in paper.items():
        print(f"{k}: {v:.4e}")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
