#!/usr/bin/python3
"""PyTorch side of the IMDB comparisons (python3-torch from Debian, with libopenblas0-pthread).

Speed, on the batches attograd exported (imdb train --export-batches FILE):
    /usr/bin/python3 bench/torch/imdb.py --batches FILE --threads 1 [--warmup 5 --steps 30]
prints one JSON line with training and inference tokens/s (tokens = batch x maxlen per step) and the
peak RSS after training (loading and the training steps).

Parity, with an attograd checkpoint and the predictions attograd made with it
(imdb eval --checkpoint F --predictions P):
    /usr/bin/python3 bench/torch/imdb.py --checkpoint F --predictions P
loads the checkpoint into the PyTorch model through h5py and compares labels and probabilities.

The whole recipe in PyTorch, on the identical data, from attograd's initial weights
(imdb train --seed S [--mask] --export-batches FILE --export-steps -1 exports every epoch's batches
and the validation and test sets):
    /usr/bin/python3 bench/torch/imdb.py train --batches FILE [--threads 1]
trains epoch by epoch with the exported recipe (Adam or AdamW, weight decay, clip, the learning-rate
schedule, early stopping; the model config's dropouts, with torch's own masks), reports validation
accuracy after each, and evaluates the epoch with the best validation accuracy on the test set once.
"""
import argparse
import json
import math
import os
import resource
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
    training_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB: loading and training
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
                      "train_tokens_per_s": tokens / train_seconds, "eval_tokens_per_s": tokens / eval_seconds,
                      "training_peak_rss_mb": training_rss}))


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


def accuracy_and_loss(model, f, name):
    ids = torch.from_numpy(f[f"{name}/ids"][()])
    lengths = torch.from_numpy(f[f"{name}/lengths"][()])
    labels = torch.from_numpy(f[f"{name}/labels"][()])
    model.eval()
    logits = []
    with torch.no_grad():
        for start in range(0, len(ids), 256):
            logits.append(model(ids[start:start + 256], lengths[start:start + 256])[0])
    model.train()
    logits = torch.cat(logits)
    loss = float(torch.nn.functional.binary_cross_entropy_with_logits(logits, labels))
    return float(((logits > 0) == (labels > 0.5)).float().mean()), loss


def scheduler_of(optimizer, recipe, total):
    """attograd's schedules (attograd/optim/schedule.h) from PyTorch's own schedulers, so the two
    are checked against each other rather than copied: a linear warmup from 0 over `warmup` steps,
    then a constant rate, a linear decay to 0 at step `total`, or a half cosine down to 0."""
    w, kind = recipe.get("warmup", 0), recipe.get("schedule", "constant")
    lr_scheduler = torch.optim.lr_scheduler
    if kind == "constant":
        return lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)
    if kind == "linear":
        decay = lr_scheduler.LinearLR(optimizer, start_factor=1.0, end_factor=0.0, total_iters=total - w)
    else:
        decay = lr_scheduler.CosineAnnealingLR(optimizer, T_max=total - w, eta_min=0.0)
    if w == 0:
        return decay
    warmup = lr_scheduler.LambdaLR(optimizer, lambda s: s / w)  # LinearLR cannot start from 0
    return lr_scheduler.SequentialLR(optimizer, [warmup, decay], milestones=[w])


def optimizer_of(model, recipe):
    """Adam (L2 weight decay) or AdamW with attograd's no-decay set (nn::no_weight_decay): the
    embedding and every parameter whose last name part starts or ends with "bias"."""
    lr, wd = recipe["lr"], recipe["weight_decay"]
    if recipe["optimizer"] == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=wd)

    def exempt(name):
        last = name.split(".")[-1]
        return name.startswith("embedding.") or last.startswith("bias") or last.endswith("bias")
    decay = [p for n, p in model.named_parameters() if not exempt(n)]
    no_decay = [p for n, p in model.named_parameters() if exempt(n)]
    return torch.optim.AdamW([{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}], lr=lr)


def train(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)  # dropout masks: torch's own generator, not attograd's
    f = h5py.File(args.batches, "r")
    if "epoch_ends" not in f:
        sys.exit(f"{args.batches}: not a full export (imdb train ... --export-batches F --export-steps -1)")
    config = json.loads(f.attrs["config"])
    recipe = json.loads(f.attrs["recipe"])
    model = ImdbClassifier(**config_of(config))
    model.load_state_dict({name: torch.from_numpy(f["model"][name][()]) for name in f["model"]})
    model.train()
    optimizer = optimizer_of(model, recipe)
    ends = [int(e) for e in f["epoch_ends"][()]]
    schedule = scheduler_of(optimizer, recipe, ends[-1])
    loss_fn = torch.nn.BCEWithLogitsLoss()
    patience, min_delta = recipe.get("patience", 0), recipe.get("min_delta", 0.0)
    best = (-1.0, 0, None)
    stopper_best, waited = -math.inf, 0
    step = 0
    for epoch, end in enumerate(ends, start=1):
        start = time.perf_counter()
        loss_sum = 0.0
        for s in range(step, end):
            batch = f[f"batches/{s}"]
            ids, lengths = torch.from_numpy(batch["ids"][()]), torch.from_numpy(batch["lengths"][()])
            labels = torch.from_numpy(batch["labels"][()])
            logits, _ = model(ids, lengths)
            loss = loss_fn(logits, labels)
            optimizer.zero_grad()
            loss.backward()
            if recipe["clip"] > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), recipe["clip"])
            optimizer.step()
            schedule.step()
            loss_sum += float(loss)
        val_accuracy, val_loss = accuracy_and_loss(model, f, "val")
        print(f"epoch {epoch}: train loss {loss_sum / (end - step):.4f}, val loss {val_loss:.4f} "
              f"acc {100 * val_accuracy:.2f}% ({time.perf_counter() - start:.0f} s)", flush=True)
        if val_accuracy > best[0]:
            best = (val_accuracy, epoch, {k: v.clone() for k, v in model.state_dict().items()})
        step = end
        # Early stopping as attograd's EarlyStopping: patience epochs without a gain above min_delta.
        if val_accuracy > stopper_best + min_delta:
            stopper_best, waited = val_accuracy, 0
        else:
            waited += 1
            if patience > 0 and waited >= patience:
                print(f"stopped early after epoch {epoch}")
                break
    model.load_state_dict(best[2])
    test_accuracy, test_loss = accuracy_and_loss(model, f, "test")
    print(f"summary: best val accuracy {100 * best[0]:.2f}% (epoch {best[1]}), "
          f"test accuracy {100 * test_accuracy:.2f}% (loss {test_loss:.4f}) on {len(f['test/labels'])} reviews")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", nargs="?", choices=("train",), help="train: the whole recipe (see above)")
    p.add_argument("--batches")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1, help="train: torch's seed (its dropout masks)")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--checkpoint")
    p.add_argument("--predictions")
    args = p.parse_args()
    if args.mode == "train":
        train(args)
    elif args.checkpoint:
        parity(args)
    elif args.batches:
        speed(args)
    else:
        p.error("give --batches FILE (speed) or --checkpoint F --predictions P (parity)")


if __name__ == "__main__":
    main()
