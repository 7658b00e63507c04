#!/usr/bin/python3
"""PyTorch side of the IMDB comparisons (python3-torch from Debian, with libopenblas0-pthread).

Speed, on the batches attograd exported (imdb train --export-batches FILE):
    /usr/bin/python3 bench/torch/imdb.py --batches FILE --threads 1 [--warmup 5 --steps 30]
prints one JSON line with training and inference tokens/s (tokens = batch x maxlen per step).

Parity, with an attograd checkpoint and the predictions attograd made with it
(imdb eval --checkpoint F --predictions P):
    /usr/bin/python3 bench/torch/imdb.py --checkpoint F --predictions P
loads the checkpoint into the PyTorch model through h5py and compares labels and probabilities.
"""
import argparse
import json
import os
import sys
import time

import h5py
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imdb_model import ImdbClassifier, config_of  # noqa: E402


def speed(args):
    torch.set_num_threads(args.threads)
    f = h5py.File(args.batches, "r")
    config = json.loads(f.attrs["config"])
    batches = [(torch.from_numpy(f[f"batches/{s}/ids"][()]), torch.from_numpy(f[f"batches/{s}/lengths"][()]),
                torch.from_numpy(f[f"batches/{s}/labels"][()])) for s in range(int(f.attrs["steps"]))]
    torch.manual_seed(0)
    model = ImdbClassifier(**config_of(config)).train()
    adam = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    train_seconds = 0.0
    for i in range(args.warmup + args.steps):
        ids, lengths, labels = batches[i % len(batches)]
        start = time.perf_counter()
        logits, _ = model(ids, lengths)
        loss = loss_fn(logits, labels)
        adam.zero_grad()
        loss.backward()
        adam.step()
        if i >= args.warmup:
            train_seconds += time.perf_counter() - start
    model.eval()
    eval_seconds = 0.0
    with torch.no_grad():
        for i in range(args.warmup + args.steps):
            ids, lengths, _ = batches[i % len(batches)]
            start = time.perf_counter()
            model(ids, lengths)
            if i >= args.warmup:
                eval_seconds += time.perf_counter() - start
    tokens = args.steps * batches[0][0].numel()
    print(json.dumps({"framework": "pytorch", "threads": args.threads, "torch": torch.__version__,
                      "train_tokens_per_s": tokens / train_seconds, "eval_tokens_per_s": tokens / eval_seconds}))


def parity(args):
    torch.set_num_threads(args.threads)
    with h5py.File(args.checkpoint, "r") as f:
        config = json.loads(f.attrs["config"])["model"]
        state = {name: torch.from_numpy(f["model"][name][()]) for name in f["model"]}
    model = ImdbClassifier(**config_of(config))
    model.load_state_dict(state)  # strict: the names must be torch's
    model.eval()
    with h5py.File(args.predictions, "r") as f:
        ids = torch.from_numpy(f["ids"][()])
        lengths = torch.from_numpy(f["lengths"][()])
        theirs = f["probabilities"][()]
    ours = []
    with torch.no_grad():
        for start in range(0, len(ids), 256):
            logits, _ = model(ids[start:start + 256], lengths[start:start + 256])
            ours.append(torch.sigmoid(logits).numpy())
    ours = np.concatenate(ours)
    same_label = float(np.mean((ours >= 0.5) == (theirs >= 0.5)))
    max_diff = float(np.max(np.abs(ours - theirs)))
    ok = same_label >= 0.999 and max_diff <= 1e-4
    print(f"parity: {len(ids)} reviews, identical labels {100 * same_label:.3f}%, "
          f"max |probability difference| {max_diff:.2e} -> {'PASS' if ok else 'FAIL'} "
          f"(needs >= 99.9% and <= 1e-4)")
    sys.exit(0 if ok else 1)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batches")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--checkpoint")
    p.add_argument("--predictions")
    args = p.parse_args()
    if args.checkpoint:
        parity(args)
    elif args.batches:
        speed(args)
    else:
        p.error("give --batches FILE (speed) or --checkpoint F --predictions P (parity)")


if __name__ == "__main__":
    main()
