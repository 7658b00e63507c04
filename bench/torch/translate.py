#!/usr/bin/python3
"""PyTorch side of the translation comparisons (python3-torch from Debian, with libopenblas0-pthread).
Every mode starts from files attograd wrote; `translate train --export-batches FILE` writes the initial
model (an eval-only checkpoint), the training recipe and the next training batches as training makes them.

Speed, on the exported batches (training tokens/s = non-pad source + target ids per second, as
`translate train` counts them), and decoding of the test split (64 sentences per batch, as
`translate eval`; greedy and beam search, --beams 1,5) with the model of --decode-checkpoint
(default: the batches file's), and the process's peak RSS:
    /usr/bin/python3 bench/torch/translate.py speed --batches FILE --threads 1 [--warmup 5 --steps 30]
        [--beams 1,5] [--hyps-out PREFIX]
prints one JSON line.

Parity of greedy decoding, with an attograd checkpoint and the hypotheses attograd decoded with it
(translate eval --checkpoint F --split test_2016_flickr --output H):
    /usr/bin/python3 bench/torch/translate.py parity --checkpoint F --hyps H [--split test_2016_flickr]
PASS when >= 99% of the sentences are identical.

Parity of the teacher-forced pass (eval mode, so no dropout): logits, label-smoothed loss and the
gradient norm on the first exported batches against what bench/translate_speed --logits L wrote:
    /usr/bin/python3 bench/torch/translate.py logits --batches FILE --logits L

Training on the identical batch stream and recipe from attograd's initial weights (export every
epoch: --export-steps -1 --epochs E), writing attograd checkpoints that `translate eval` scores:
    /usr/bin/python3 bench/torch/translate.py train --batches FILE --out runs/torch/last.h5 [--init-from F]
also writes runs/torch/epoch<N>.h5 at each epoch's end, to pick the best with translate eval --split val.
"""
import argparse
import gzip
import json
import math
import os
import resource
import sys
import time

import h5py
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from translate_model import PAD, EOS, beam_search, greedy, make_model  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# ---- files attograd wrote -----------------------------------------------------------------------

def load_checkpoint(path):
    """An attograd checkpoint (or batches file) -> (run config dict, model in eval mode, src vocab, trg vocab)."""
    with h5py.File(path, "r") as f:
        run = json.loads(f.attrs["config"])
        state = {name: torch.from_numpy(f["model"][name][()]) for name in f["model"]}
        vocab = {k: [t.decode("utf-8") if isinstance(t, bytes) else t for t in f["vocab"][k][()]]
                 for k in ("src", "trg")}
    model = make_model(run["model"])
    model.load_state_dict(state)  # strict: attograd's names are this model's
    return run, model.eval(), vocab["src"], vocab["trg"]


def batch_at(f, s, tokens):
    """Batch s of an export as (src, src_lengths, trg_in, trg_out, tokens); tokens = f["tokens"][()]."""
    g = f[f"batches/{s}"]
    return tuple(torch.from_numpy(g[k][()]) for k in ("src", "src_lengths", "trg_in", "trg_out")) + (int(tokens[s]),)


def load_batches(f, count):
    """The first `count` batches of an export."""
    tokens = f["tokens"][()]
    return [batch_at(f, s, tokens) for s in range(count)]


def data_dir(flag, lang):
    """--data alone when given, else $ATTOGRAD_DATA, then shared/data beside the source tree; each or its
    multi30k/ (attograd/data/data_path.h, without its user data folder: bench/ runs in the tree)."""
    tried = []
    bases = (flag,) if flag else (os.environ.get("ATTOGRAD_DATA"), os.path.join(ROOT, "..", "shared", "data"))
    for base in bases:
        if not base:
            continue
        for d in (base, os.path.join(base, "multi30k")):
            tried.append(d)
            if any(os.path.exists(os.path.join(d, f"train.lc.norm.tok.{lang}{gz}")) for gz in ("", ".gz")):
                return d
    sys.exit(f"translate.py: no Multi30k (train.lc.norm.tok.{lang}[.gz]) in {', '.join(tried)}; pass --data DIR")


def read_split(directory, split, lang):
    """Lines of <split>.lc.norm.tok.<lang>[.gz] split on ASCII whitespace, as attograd/data/parallel_corpus.cpp."""
    path = os.path.join(directory, f"{split}.lc.norm.tok.{lang}")
    if os.path.exists(path + ".gz"):
        with gzip.open(path + ".gz", "rb") as f:
            text = f.read()
    else:
        with open(path, "rb") as f:
            text = f.read()
    lines = text.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [[w.decode("utf-8") for w in line.rstrip(b"\r").split()] for line in lines]


def translate_sentences(model, src_vocab, trg_vocab, sources, batch=64, beam=1):
    """evaluate.cpp's translate_sentences: sources as ids + <eos> (at most max_len ids for the
    transformer), sorted by length (stable), decoded `batch` at a time with max_len = min(model's,
    2 x the batch's longest source + 10), greedily (beam 1) or by beam search (length penalty 0.6).
    Returns (target words per sentence in input order, decoding steps counted as words + 1 per
    sentence)."""
    index = {w: i for i, w in enumerate(src_vocab)}
    limit = model.config["max_len"] if model.config["arch"] == "transformer" else 100000
    ids = [[index.get(w, 0) for w in words[:max(0, limit - 1)]] + [EOS] for words in sources]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    out, generated = [None] * len(ids), 0
    for begin in range(0, len(ids), batch):
        rows = order[begin:begin + batch]
        longest = max(len(ids[r]) for r in rows)
        src = torch.full((len(rows), longest), PAD, dtype=torch.long)
        for i, r in enumerate(rows):
            src[i, :len(ids[r])] = torch.tensor(ids[r])
        lengths = torch.tensor([len(ids[r]) for r in rows])
        max_len = min(model.max_steps(), 2 * longest + 10)
        decoded = beam_search(model, src, lengths, beam, 0.6, max_len) if beam > 1 else greedy(model, src, lengths, max_len)
        for r, tokens in zip(rows, decoded):
            out[r] = [trg_vocab[t] for t in tokens]
            generated += len(tokens) + 1
    return out, generated


def peak_rss_mb():
    """This process's peak resident set size in MiB (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---- the training recipe ------------------------------------------------------------------------

def make_optimizer(model, recipe):
    """torch's twin of train.cpp's optimizer and schedule, from the export's recipe."""
    if recipe["optimizer"] != "Adam":
        sys.exit(f"translate.py: optimizer {recipe['optimizer']} is not supported")
    adam = torch.optim.Adam(model.parameters(), lr=recipe["lr"], betas=(recipe["beta1"], recipe["beta2"]),
                            eps=recipe["eps"], amsgrad=bool(recipe["amsgrad"]))
    start, w = recipe["scheduler_step"], recipe["warmup"]
    if recipe["schedule"] == "InverseSqrt":  # attograd/optim/schedule.cpp: min(s / w, sqrt(w / s))
        factor = lambda s: (s + start) / w if s + start <= w else math.sqrt(w / (s + start))  # noqa: E731
    elif recipe["schedule"] == "WarmupLinear":  # attograd/optim/schedule.cpp: s / w, then (total - s) / (total - w)
        total = recipe["total_steps"]
        factor = lambda s: ((s + start) / w if s + start < w  # noqa: E731
                            else max(0.0, (total - s - start) / (total - w)))
    elif recipe["schedule"] == "ConstantLR":
        factor = lambda s: 1.0  # noqa: E731
    else:
        sys.exit(f"translate.py: schedule {recipe['schedule']} is not supported")
    return adam, torch.optim.lr_scheduler.LambdaLR(adam, factor)


def loss_of(model, batch, recipe, reduction="mean"):
    src, src_lengths, trg_in, trg_out, _ = batch
    logits = model(src, src_lengths, trg_in)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), trg_out.reshape(-1),
                           ignore_index=recipe["ignore_index"], label_smoothing=recipe["label_smoothing"],
                           reduction=reduction)
    return logits, loss


def train_step(model, batch, adam, schedule, recipe):
    """One step of train.cpp: forward, label-smoothed cross-entropy without padding, backward, clip, Adam, schedule."""
    _, loss = loss_of(model, batch, recipe)
    adam.zero_grad()
    loss.backward()
    if recipe["clip"] > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), recipe["clip"])
    adam.step()
    schedule.step()
    return loss.item()


# ---- modes --------------------------------------------------------------------------------------

def speed(args):
    torch.set_num_threads(args.threads)
    with h5py.File(args.batches, "r") as f:
        recipe = json.loads(f.attrs["recipe"])
        batches = load_batches(f, min(int(f.attrs["steps"]), args.warmup + args.steps))
    if not batches:
        sys.exit(f"translate.py: {args.batches} holds no batches")
    run, model, src_vocab, trg_vocab = load_checkpoint(args.batches)
    torch.manual_seed(recipe["seed"])
    model.train()
    adam, schedule = make_optimizer(model, recipe)
    train_seconds, tokens = 0.0, 0
    for i in range(args.warmup + args.steps if args.steps > 0 else 0):
        batch = batches[i % len(batches)]
        start = time.perf_counter()
        train_step(model, batch, adam, schedule, recipe)
        if i >= args.warmup:
            train_seconds += time.perf_counter() - start
            tokens += batch[4]

    training_rss = peak_rss_mb()  # loading and the training steps
    decodes = []
    beams = [int(b) for b in args.beams.split(",") if b]
    if beams:
        run, model, src_vocab, trg_vocab = load_checkpoint(args.decode_checkpoint or args.batches)
        langs = run.get("languages", {"src": "de", "trg": "en"})
        sources = read_split(data_dir(args.data, langs["src"]), args.split, langs["src"])
        if args.sentences > 0:
            sources = sources[:args.sentences]
    for beam in beams:
        start = time.perf_counter()
        words, generated = translate_sentences(model, src_vocab, trg_vocab, sources, beam=beam)
        seconds = time.perf_counter() - start
        decodes.append({"beam": beam, "sentences": len(sources), "seconds": seconds, "generated_tokens": generated,
                        "sentences_per_s": len(sources) / seconds, "tokens_per_s": generated / seconds})
        if args.hyps_out:
            with open(f"{args.hyps_out}.beam{beam}.txt", "w", encoding="utf-8") as f:
                f.write("".join(" ".join(w) + "\n" for w in words))
    print(json.dumps({"framework": "pytorch", "threads": args.threads, "torch": torch.__version__,
                      "train_tokens_per_s": tokens / train_seconds if train_seconds > 0 else 0.0,
                      "train_steps": args.steps, "train_seconds": train_seconds, "decode": decodes,
                      "training_peak_rss_mb": training_rss, "peak_rss_mb": peak_rss_mb()}))


def parity(args):
    torch.set_num_threads(args.threads)
    run, model, src_vocab, trg_vocab = load_checkpoint(args.checkpoint)
    langs = run.get("languages", {"src": "de", "trg": "en"})
    sources = read_split(data_dir(args.data, langs["src"]), args.split, langs["src"])
    start = time.perf_counter()
    ours = [" ".join(words) for words in translate_sentences(model, src_vocab, trg_vocab, sources)[0]]
    seconds = time.perf_counter() - start
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in ours))
    if not args.hyps:
        print(f"greedy-decoded {len(ours)} {args.split} sentences in {seconds:.1f} s; give --hyps H to compare")
        return
    with open(args.hyps, "rb") as f:
        theirs = f.read().decode("utf-8").split("\n")
    if theirs and theirs[-1] == "":
        theirs.pop()
    if len(theirs) != len(ours):
        sys.exit(f"parity: {args.hyps} has {len(theirs)} lines, the {args.split} split {len(ours)}")
    differ = [i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b]
    same = 1 - len(differ) / len(ours)
    for i in differ[:args.show]:
        print(f"  line {i + 1}:\n    attograd: {theirs[i]}\n    pytorch:  {ours[i]}")
    ok = same >= 0.99
    print(f"parity: {len(ours)} {args.split} sentences, greedy, identical {100 * same:.2f}% "
          f"({len(differ)} differ) -> {'PASS' if ok else 'FAIL'} (needs >= 99%)")
    sys.exit(0 if ok else 1)


def logits(args):
    torch.set_num_threads(args.threads)
    with h5py.File(args.logits, "r") as f:
        checkpoint = f.attrs["checkpoint"]
        checkpoint = checkpoint.decode() if isinstance(checkpoint, bytes) else checkpoint
        losses, norms = f["loss"][()], f["grad_norm"][()]
        theirs = [(f[f"logits/{s}"][()], float(losses[s]), float(norms[s])) for s in range(int(f.attrs["batches"]))]
    with h5py.File(args.batches, "r") as f:
        recipe = json.loads(f.attrs["recipe"])
        batches = load_batches(f, len(theirs))
    _, model, _, _ = load_checkpoint(checkpoint or args.batches)
    model.eval()  # no dropout, as translate_speed --logits
    worst_logit, worst_loss, worst_norm = 0.0, 0.0, 0.0
    for s, (batch, (their_logits, their_loss, their_norm)) in enumerate(zip(batches, theirs)):
        model.zero_grad()
        out, loss = loss_of(model, batch, recipe)
        loss.backward()
        # in double, as attograd's clip_grad_norm_ sums (torch's float32 norms of 6M-element gradients are
        # off by up to 1e-3 relative)
        norm = math.sqrt(sum(float(p.grad.double().square().sum()) for p in model.parameters()))
        diff = float(np.max(np.abs(out.detach().numpy() - their_logits)))
        worst_logit = max(worst_logit, diff)
        worst_loss = max(worst_loss, abs(loss.item() - their_loss) / abs(their_loss))
        worst_norm = max(worst_norm, abs(norm - their_norm) / their_norm)
        print(f"  batch {s}: {tuple(batch[0].shape)} src, {tuple(batch[2].shape)} trg: max |logit diff| {diff:.2e}, "
              f"loss {loss.item():.6f} vs {their_loss:.6f}, grad norm {norm:.6f} vs {their_norm:.6f}")
    ok = worst_logit <= 1e-4 and worst_loss <= 1e-5 and worst_norm <= 1e-4
    print(f"logits: {len(theirs)} batches, max |logit diff| {worst_logit:.2e}, loss rel diff {worst_loss:.1e}, "
          f"grad norm rel diff {worst_norm:.1e} -> {'PASS' if ok else 'FAIL'} (needs <= 1e-4, 1e-5, 1e-4)")
    sys.exit(0 if ok else 1)


def save_checkpoint(path, model, init_from, note):
    """An attograd checkpoint: root attrs and /vocab of `init_from` (config, vocabularies), /model from
    the torch model (float32), written to path.tmp and renamed."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with h5py.File(init_from, "r") as src, h5py.File(path + ".tmp", "w") as f:
        run = json.loads(src.attrs["config"])
        run["pytorch"] = note
        f.attrs["format_version"] = src.attrs["format_version"]
        f.attrs["config"] = json.dumps(run)
        src.copy("vocab", f)
        for name, value in model.state_dict().items():
            f.create_dataset(f"model/{name}", data=value.detach().float().numpy())
    os.replace(path + ".tmp", path)


def train(args):
    torch.set_num_threads(args.threads)
    init_from = args.init_from or args.batches
    with h5py.File(args.batches, "r") as f:
        recipe = json.loads(f.attrs["recipe"])
        steps = int(f.attrs["steps"]) if args.max_steps < 0 else min(args.max_steps, int(f.attrs["steps"]))
        epoch_ends = [int(e) for e in f["epoch_ends"][()]]
        tokens = f["tokens"][()]
    _, model, _, _ = load_checkpoint(init_from)
    torch.manual_seed(recipe["seed"])
    model.train()
    adam, schedule = make_optimizer(model, recipe)
    out_dir = os.path.dirname(os.path.abspath(args.out))
    loss_sum, seen, seconds, epoch = 0.0, 0, 0.0, 0
    with h5py.File(args.batches, "r") as f:
        for s in range(steps):
            batch = batch_at(f, s, tokens)
            start = time.perf_counter()
            loss = train_step(model, batch, adam, schedule, recipe)
            seconds += time.perf_counter() - start
            target = int((batch[3] != PAD).sum())
            loss_sum, seen = loss_sum + loss * target, seen + target
            if (s + 1) % args.log_every == 0 or s + 1 == steps:
                eta = seconds / (s + 1) * (steps - s - 1)
                print(f"step {s + 1}/{steps}: loss {loss_sum / seen:.4f}, lr {schedule.get_last_lr()[0]:.2e}, "
                      f"{tokens[:s + 1].sum() / seconds:,.0f} tok/s, ETA {eta // 3600:.0f}:{eta % 3600 // 60:02.0f}:"
                      f"{eta % 60:02.0f}", flush=True)
            if epoch < len(epoch_ends) and s + 1 == epoch_ends[epoch]:
                epoch += 1
                path = os.path.join(out_dir, f"epoch{epoch}.h5")
                save_checkpoint(path, model, init_from, {"torch": torch.__version__, "steps": s + 1, "epoch": epoch})
                print(f"epoch {epoch}: train loss {loss_sum / seen:.4f}; wrote {path}", flush=True)
                loss_sum, seen = 0.0, 0
    save_checkpoint(args.out, model, init_from, {"torch": torch.__version__, "steps": steps, "epoch": epoch})
    print(f"wrote {args.out} after {steps} steps ({seconds:.0f} s in steps); score it with "
          f"translate eval --checkpoint {args.out}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    modes = p.add_subparsers(dest="mode", required=True)
    s = modes.add_parser("speed", help="training, greedy and beam search decoding speed")
    s.add_argument("--batches", required=True, help="written by translate train --export-batches")
    s.add_argument("--threads", type=int, default=1)
    s.add_argument("--warmup", type=int, default=5)
    s.add_argument("--steps", type=int, default=30)
    s.add_argument("--decode-checkpoint", default="", help="model to decode with (default: the batches file's)")
    s.add_argument("--split", default="test_2016_flickr")
    s.add_argument("--sentences", type=int, default=0, help="decode the first N sentences (0: all)")
    s.add_argument("--beams", default="1", help="beam sizes to decode with, comma-separated (1: greedy; empty: none)")
    s.add_argument("--hyps-out", default="", help="write each decode's hypotheses to PREFIX.beam<K>.txt")
    s.add_argument("--data", default="")
    s = modes.add_parser("parity", help="greedy decoding against attograd's hypotheses")
    s.add_argument("--checkpoint", required=True)
    s.add_argument("--hyps", default="", help="translate eval --output of the same checkpoint and split")
    s.add_argument("--split", default="test_2016_flickr")
    s.add_argument("--output", default="", help="write PyTorch's hypotheses here")
    s.add_argument("--show", type=int, default=5, help="print this many differing lines")
    s.add_argument("--threads", type=int, default=1)
    s.add_argument("--data", default="")
    s = modes.add_parser("logits", help="teacher-forced logits, loss and gradient norm against attograd's")
    s.add_argument("--batches", required=True)
    s.add_argument("--logits", required=True, help="written by bench/translate_speed --logits")
    s.add_argument("--threads", type=int, default=1)
    s = modes.add_parser("train", help="train on the exported batch stream, write attograd checkpoints")
    s.add_argument("--batches", required=True, help="an export of whole epochs (--export-steps -1)")
    s.add_argument("--init-from", default="", help="attograd checkpoint to start from (default: the batches file's)")
    s.add_argument("--out", required=True, help="the final checkpoint; epoch<N>.h5 go beside it")
    s.add_argument("--max-steps", type=int, default=-1)
    s.add_argument("--log-every", type=int, default=50)
    s.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    {"speed": speed, "parity": parity, "logits": logits, "train": train}[args.mode](args)


if __name__ == "__main__":
    main()
