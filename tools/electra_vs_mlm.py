"""The table and the figure of tools/electra-vs-mlm.sh (the paper's Table 5 and Figure 1 for a run).

Reads OUT/pretrain-OBJECTIVE/: each kept checkpoint's training FLOPs and step (state.json), the
run's wall seconds (done), and each fine-tuning's dev accuracy after its last epoch
(finetune-STEP-seed-S/metrics.jsonl). Writes OUT/table.md (also printed) and OUT/figure.svg: dev
accuracy against pre-training FLOPs, log x axis, one line per objective, the seeds' mean with
error bars of one standard deviation (and each seed as a dot).
Usage: python3 tools/electra_vs_mlm.py OUT   (no packages needed)
"""
import glob
import json
import math
import os
import statistics
import sys

NAMES = {"electra": "ELECTRA", "mlm": "BERT (masked LM)", "electra-15": "ELECTRA 15%"}
COLORS = {"electra": "#1f77b4", "mlm": "#d62728", "electra-15": "#2ca02c"}


def collect(out):
    rows = []
    for run in sorted(glob.glob(os.path.join(out, "pretrain-*"))):
        objective = os.path.basename(run)[len("pretrain-"):]
        done = os.path.join(run, "done")
        wall = float(open(done).read()) if os.path.exists(done) else float("nan")
        steps = sorted(int(os.path.basename(d)[5:]) for d in glob.glob(os.path.join(run, "checkpoints", "step-*")))
        last = max(steps) if steps else 1
        for step in steps:
            ckpt = os.path.join(run, "checkpoints", f"step-{step}")
            if not os.path.exists(os.path.join(ckpt, "kept")):
                continue
            state = json.load(open(os.path.join(ckpt, "state.json")))
            scores = {}
            for ft in glob.glob(os.path.join(run, f"finetune-{step}-seed-*", "")):
                ft = ft.rstrip("/")
                lines = [json.loads(l) for l in open(os.path.join(ft, "metrics.jsonl")) if '"eval"' in l]
                if lines:
                    scores[int(ft.rsplit("-", 1)[1])] = 100 * lines[-1]["main"]
            rows.append(dict(objective=objective, step=step, flops=state["trainFlops"], scores=scores,
                             wall=wall * step / last))
    return rows


def table(rows):
    out = ["| objective | pre-training FLOPs | steps | pre-training wall (s) | KJV dev accuracy (%), mean ± sd | seeds |",
           "|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r["flops"], r["objective"])):
        v = list(r["scores"].values())
        mean = statistics.mean(v) if v else float("nan")
        sd = statistics.stdev(v) if len(v) > 1 else 0.0
        seeds = ", ".join(f"{s}: {x:.1f}" for s, x in sorted(r["scores"].items()))
        out.append(f"| {NAMES.get(r['objective'], r['objective'])} | {r['flops']:.3g} | {r['step']} | "
                   f"{r['wall']:.0f} | {mean:.1f} ± {sd:.1f} | {seeds} |")
    return "\n".join(out)


def ticks_log(lo, hi):
    """1-2-3-5 ticks inside [lo, hi] (decades only when they span more than two)."""
    marks = (1,) if math.log10(hi / lo) > 2 else (1, 2, 3, 5)
    return [m * 10.0 ** k for k in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1)
            for m in marks if lo <= m * 10.0 ** k <= hi]


def svg(rows, title):
    W, H, left, right, top, bottom = 640, 420, 70, 170, 40, 60
    xs = [r["flops"] for r in rows]
    ys = [s for r in rows for s in r["scores"].values()]
    lo, hi = min(xs) / 1.5, max(xs) * 1.5
    ylo = math.floor(min(ys) / 5) * 5 - 5 if ys else 0
    yhi = math.ceil(max(ys) / 5) * 5 + 5 if ys else 100
    X = lambda x: left + (math.log10(x) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * (W - left - right)
    Y = lambda y: top + (yhi - y) / (yhi - ylo) * (H - top - bottom)
    e = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
         f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="{left}" y="22" font-size="14">{title}</text>']
    for t in ticks_log(lo, hi):
        e.append(f'<line x1="{X(t):.1f}" y1="{top}" x2="{X(t):.1f}" y2="{H - bottom}" stroke="#ddd"/>')
        label = f"{t:.0e}".replace("e+", "e").replace("e0", "e")
        e.append(f'<text x="{X(t):.1f}" y="{H - bottom + 16}" text-anchor="middle">{label}</text>')
    step = 5 if yhi - ylo <= 40 else 10
    for y in range(int(ylo), int(yhi) + 1, step):
        e.append(f'<line x1="{left}" y1="{Y(y):.1f}" x2="{W - right}" y2="{Y(y):.1f}" stroke="#ddd"/>')
        e.append(f'<text x="{left - 6}" y="{Y(y) + 4:.1f}" text-anchor="end">{y}</text>')
    e.append(f'<rect x="{left}" y="{top}" width="{W - left - right}" height="{H - top - bottom}" fill="none" stroke="black"/>')
    e.append(f'<text x="{(left + W - right) / 2}" y="{H - 18}" text-anchor="middle">pre-training FLOPs (log scale; '
             'counted as flops_computation.py)</text>')
    e.append(f'<text transform="translate(18 {(top + H - bottom) / 2}) rotate(-90)" text-anchor="middle">'
             'KJV six-way dev accuracy (%)</text>')
    for i, objective in enumerate(sorted({r["objective"] for r in rows}, key=lambda o: list(NAMES).index(o) if o in NAMES else 9)):
        color = COLORS.get(objective, "black")
        points = []
        for r in sorted((r for r in rows if r["objective"] == objective), key=lambda r: r["flops"]):
            v = list(r["scores"].values())
            if not v:
                continue
            m, sd = statistics.mean(v), (statistics.stdev(v) if len(v) > 1 else 0.0)
            x = X(r["flops"]) + 5 * (i - 1)   # objectives side by side, so equal points stay visible
            points.append(f"{x:.1f},{Y(m):.1f}")
            e.append(f'<line x1="{x:.1f}" y1="{Y(m - sd):.1f}" x2="{x:.1f}" y2="{Y(m + sd):.1f}" stroke="{color}"/>')
            for cap in (m - sd, m + sd):
                e.append(f'<line x1="{x - 4:.1f}" y1="{Y(cap):.1f}" x2="{x + 4:.1f}" y2="{Y(cap):.1f}" stroke="{color}"/>')
            for s in v:
                e.append(f'<circle cx="{x:.1f}" cy="{Y(s):.1f}" r="2" fill="{color}" fill-opacity="0.4"/>')
            e.append(f'<circle cx="{x:.1f}" cy="{Y(m):.1f}" r="4" fill="{color}"/>')
        e.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{color}" stroke-width="2"/>')
        ly = top + 10 + 20 * i
        e.append(f'<line x1="{W - right + 12}" y1="{ly}" x2="{W - right + 32}" y2="{ly}" stroke="{color}" stroke-width="2"/>')
        e.append(f'<text x="{W - right + 38}" y="{ly + 4}">{NAMES.get(objective, objective)}</text>')
    e.append("</svg>")
    return "\n".join(e) + "\n"


def main(out):
    rows = collect(out)
    if not rows:
        sys.exit(f"{out}: no kept checkpoints (pretrain-*/checkpoints/step-*/kept): run tools/electra-vs-mlm.sh first")
    setup = open(os.path.join(out, "setup.txt")).read().strip() if os.path.exists(os.path.join(out, "setup.txt")) else ""
    text = table(rows)
    with open(os.path.join(out, "table.md"), "w") as f:
        f.write((setup + "\n\n" if setup else "") + text + "\n")
    print(text)
    with open(os.path.join(out, "figure.svg"), "w") as f:
        f.write(svg(rows, "Downstream accuracy against pre-training compute"))
    print(f"wrote {os.path.join(out, 'table.md')} and {os.path.join(out, 'figure.svg')}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/electra-vs-mlm")
