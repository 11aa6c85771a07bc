"""Masked sequences per second from shards on this process (run it pinned to one core):
`python -m electra_shards.bench DIR [--batch-size 128] [--batches 400]`. Reads, decompresses,
shuffles and masks as MaskedBatches does when iterated (tools/bench-python-package.sh)."""
from __future__ import annotations

import argparse
import time

from .stream import MaskedBatches


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("shards")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--batches", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--loader-workers", type=int, default=0,
                    help="also time ElectraDataLoader with this many workers (needs torch; not pinned to one core)")
    args = ap.parse_args()
    batches = MaskedBatches(args.shards, batch_size=args.batch_size, seed=args.seed)
    it = iter(batches)
    next(it)  # the first window read and the first epoch's permutation
    start = time.perf_counter()
    for _ in range(args.batches):
        next(it)
    seconds = time.perf_counter() - start
    single = MaskedBatches(args.shards, batch_size=args.batch_size, seed=args.seed)
    single.batch(0)
    t = time.perf_counter()
    for step in range(1, 51):
        single.batch(step)
    one = time.perf_counter() - t
    L = batches.masking.max_seq_length
    print(f"electra_shards: {args.shards}, batch {args.batch_size} x {L}, {batches.stream.sequences_per_epoch} training sequences")
    print(f"  iterating (8 steps at a time): {args.batches * args.batch_size / seconds:,.0f} masked sequences/s "
          f"({args.batches} batches in {seconds:.2f} s)")
    print(f"  batch(step), one at a time:    {50 * args.batch_size / one:,.0f} masked sequences/s")
    if args.loader_workers > 0:
        from .torch_data import ElectraBatchDataset, ElectraDataLoader
        loader = ElectraDataLoader(ElectraBatchDataset(MaskedBatches(args.shards, batch_size=args.batch_size, seed=args.seed)),
                                   num_workers=args.loader_workers)
        delivered = iter(loader)
        next(delivered)
        t = time.perf_counter()
        for _ in range(args.batches):
            next(delivered)
        took = time.perf_counter() - t
        print(f"  ElectraDataLoader, {args.loader_workers} workers: {args.batches * args.batch_size / took:,.0f} masked sequences/s")


if __name__ == "__main__":
    main()
