"""The translation models of examples/translate in PyTorch: the same TransformerSeq2Seq and RnnSeq2Seq
(examples/translate/model.h), with attograd's parameter names so its checkpoints load strictly, the
same masks and the same places for dropout. Used by bench/torch/translate.py (speed, parity, train).

Both models take right-padded id batches as attograd's do: src (B, S) padded with PAD, src_lengths
(B) in [1, S], trg_in (B, T) = <sos> + target, padded with PAD. forward() gives teacher-forced logits
(B, T, trg_vocab); start() / step() / reorder() decode incrementally (step() equals log_softmax of
forward() at that position), which greedy() uses the way examples/translate/decode.cpp does.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

UNK, PAD, SOS, EOS = 0, 1, 2, 3  # the special ids, first in both vocabularies


def padding_mask(lengths, steps):
    """(B, S) True at positions t >= lengths[b] (model.cpp's padding_mask, as a torch bool mask)."""
    return torch.arange(steps).unsqueeze(0) >= lengths.unsqueeze(1)


def causal_mask(steps):
    """(T, T) True above the diagonal (generate_square_subsequent_mask)."""
    return torch.ones(steps, steps, dtype=torch.bool).triu(1)


class LearnedPositions(nn.Module):
    """attograd's LearnedPositionalEncoding: weight (max_len, d_model) ~ N(0, 0.02)."""

    def __init__(self, max_len, d_model):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(max_len, d_model).normal_(0.0, 0.02))

    def table(self):
        return self.weight


class SinusoidalPositions(nn.Module):
    """attograd's SinusoidalPositionalEncoding: a fixed table, not in the state dict."""

    def __init__(self, d_model, max_len):
        super().__init__()
        pos = torch.arange(max_len, dtype=torch.float64).unsqueeze(1)
        j = torch.arange(d_model)
        angle = pos * torch.pow(10000.0, -(j - j % 2).double() / d_model)
        pe = torch.where(j % 2 == 0, torch.sin(angle), torch.cos(angle)).float()
        self.register_buffer("pe", pe, persistent=False)

    def table(self):
        return self.pe


def _attend(q, k, v, heads, mask=None):
    """Scaled dot-product attention of projected q (N, Tq, E) over k, v (N, Tk, E), heads packed in
    the last dim, mask (N, Tk) True = padding -> (N, Tq, E) before out_proj, weights averaged over heads."""
    n, tq, e = q.shape
    tk, d = k.shape[1], e // heads
    q = q.view(n, tq, heads, d).transpose(1, 2)
    k = k.view(n, tk, heads, d).transpose(1, 2)
    v = v.view(n, tk, heads, d).transpose(1, 2)
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(d)
    if mask is not None:
        scores = scores.masked_fill(mask[:, None, None, :], float("-inf"))
    w = torch.softmax(scores, dim=-1)
    return (w @ v).transpose(1, 2).reshape(n, tq, e), w.mean(1)


class TransformerSeq2Seq(nn.Module):
    """Post-norm "Attention is all you need" with final encoder and decoder norms (torch.nn.Transformer's
    layout): embeddings * sqrt(d_model) + positions, then dropout; the encoder masks source padding, the
    decoder is causal and masks target padding (trg_in == PAD) and source padding in cross-attention."""

    def __init__(self, config):
        super().__init__()
        c = config
        self.config = c
        d = c["d_model"]
        self.src_embedding = nn.Embedding(c["src_vocab"], d, padding_idx=PAD)
        self.trg_embedding = nn.Embedding(c["trg_vocab"], d, padding_idx=PAD)
        with torch.no_grad():  # attograd's init: N(0, d^-1/2) with the <pad> row zero
            for e in (self.src_embedding, self.trg_embedding):
                e.weight.normal_(0.0, d ** -0.5)
                e.weight[PAD].zero_()
        if c["positions"] == "learned":
            self.src_positions = LearnedPositions(c["max_len"], d)
            self.trg_positions = LearnedPositions(c["max_len"], d)
        else:
            self.positions = SinusoidalPositions(d, c["max_len"])  # no parameters: nothing in the state dict
            self.src_positions = self.trg_positions = self.positions
        self.dropout = nn.Dropout(c["dropout"])
        enc = nn.TransformerEncoderLayer(d, c["heads"], c["feed_forward"], c["dropout"], batch_first=True)
        dec = nn.TransformerDecoderLayer(d, c["heads"], c["feed_forward"], c["dropout"], batch_first=True)
        # enable_nested_tensor=False: torch 1.13's eval fast path would zero the padded outputs.
        self.encoder = nn.TransformerEncoder(enc, c["encoder_layers"], nn.LayerNorm(d), enable_nested_tensor=False)
        self.decoder = nn.TransformerDecoder(dec, c["decoder_layers"], nn.LayerNorm(d))
        for stack in (self.encoder, self.decoder):
            for p in stack.parameters():
                if p.dim() > 1:
                    nn.init.xavier_uniform_(p)
        self.output = nn.Linear(d, c["trg_vocab"])
        if c.get("tie_output", False):  # one tensor under both names, as in attograd's checkpoints
            self.output.weight = self.trg_embedding.weight

    def max_steps(self):
        return self.config["max_len"]

    def embed(self, ids, embedding, positions, offset=0):
        """ids (B, T) -> dropout(embedding * sqrt(d) + positions[offset : offset + T]) (B, T, d)."""
        t = ids.shape[1]
        if offset + t > self.config["max_len"]:
            raise ValueError(f"TransformerSeq2Seq: positions {offset} .. {offset + t - 1} exceed max_len "
                             f"{self.config['max_len']}")
        x = embedding(ids)
        if self.config["scale_embeddings"]:
            x = x * math.sqrt(self.config["d_model"])
        return self.dropout(x + positions.table()[offset:offset + t])

    def encode(self, src, src_lengths):
        mask = padding_mask(src_lengths, src.shape[1])
        return self.encoder(self.embed(src, self.src_embedding, self.src_positions), src_key_padding_mask=mask)

    def forward(self, src, src_lengths, trg_in):
        """src (B, S), src_lengths (B), trg_in (B, T) -> logits (B, T, trg_vocab)."""
        memory = self.encode(src, src_lengths)
        y = self.decoder(self.embed(trg_in, self.trg_embedding, self.trg_positions), memory,
                         tgt_mask=causal_mask(trg_in.shape[1]), tgt_key_padding_mask=trg_in == PAD,
                         memory_key_padding_mask=padding_mask(src_lengths, src.shape[1]))
        return self.output(y)

    # ---- incremental decoding (model.cpp's TransformerSeq2Seq::start / step / reorder) ----

    def start(self, src, src_lengths):
        memory = self.encode(src, src_lengths)
        e = self.config["d_model"]
        state = {"steps": 0, "src_mask": padding_mask(src_lengths, src.shape[1]), "memory": [], "self": []}
        for layer in self.decoder.layers:
            a = layer.multihead_attn
            k, v = F.linear(memory, a.in_proj_weight[e:], a.in_proj_bias[e:]).split(e, dim=-1)
            state["memory"].append((k, v))
            state["self"].append(None)
        return state

    def step(self, state, last_tokens):
        """Feeds last_tokens (N) at position state["steps"] -> log-probabilities (N, trg_vocab)."""
        n, e, h = last_tokens.shape[0], self.config["d_model"], self.config["heads"]
        x = self.embed(last_tokens.view(n, 1), self.trg_embedding, self.trg_positions, state["steps"])
        weights = None
        for i, layer in enumerate(self.decoder.layers):
            sa, ca = layer.self_attn, layer.multihead_attn
            q, k, v = F.linear(x, sa.in_proj_weight, sa.in_proj_bias).split(e, dim=-1)
            if state["self"][i] is not None:
                k = torch.cat([state["self"][i][0], k], 1)
                v = torch.cat([state["self"][i][1], v], 1)
            state["self"][i] = (k, v)
            a, _ = _attend(q, k, v, h)
            x = layer.norm1(x + layer.dropout1(sa.out_proj(a)))
            q = F.linear(x, ca.in_proj_weight[:e], ca.in_proj_bias[:e])
            a, weights = _attend(q, *state["memory"][i], h, state["src_mask"])
            x = layer.norm2(x + layer.dropout2(ca.out_proj(a)))
            x = layer.norm3(x + layer.dropout3(layer.linear2(layer.dropout(layer.activation(layer.linear1(x))))))
        x = self.decoder.norm(x)
        state["steps"] += 1
        state["attention"] = weights[:, 0]
        return torch.log_softmax(self.output(x)[:, 0], dim=-1)

    def reorder(self, state, rows):
        """Keeps rows `rows` (a LongTensor) of the state, in that order."""
        state["src_mask"] = state["src_mask"][rows]
        state["memory"] = [(k[rows], v[rows]) for k, v in state["memory"]]
        state["self"] = [None if kv is None else (kv[0][rows], kv[1][rows]) for kv in state["self"]]


class AdditiveAttention(nn.Module):
    """attograd's AdditiveAttention: score = v^T tanh(W_q q + W_k k + b_k), softmax over the source
    (padding excluded), context = weights @ values."""

    def __init__(self, query_dim, key_dim, hidden):
        super().__init__()
        self.query_proj = nn.Linear(query_dim, hidden, bias=False)
        self.key_proj = nn.Linear(key_dim, hidden)
        self.v = nn.Linear(hidden, 1, bias=False)

    def attend(self, query, keys, values, mask):
        """query (B, Dq), projected keys (B, S, hidden), values (B, S, Dv), mask (B, S) True = pad
        -> context (B, Dv), weights (B, S)."""
        scores = self.v(torch.tanh(self.query_proj(query).unsqueeze(1) + keys)).squeeze(-1)
        w = torch.softmax(scores.masked_fill(mask, float("-inf")), dim=-1)
        return (w.unsqueeze(1) @ values).squeeze(1), w


class RnnSeq2Seq(nn.Module):
    """Bidirectional LSTM encoder (hidden / 2 per direction), decoder h0, c0 = tanh(Linear([final fwd;
    final rev])), then per step h, c = LSTMCell([emb(y_{t-1}); context_{t-1}]), context_t = attention(h),
    logits_t = output(dropout([h; context_t])); dropout on both embeddings (model.h's RnnSeq2Seq)."""

    def __init__(self, config):
        super().__init__()
        c = config
        self.config = c
        self.src_embedding = nn.Embedding(c["src_vocab"], c["embed"], padding_idx=PAD)
        self.encoder = nn.LSTM(c["embed"], c["hidden"] // 2, batch_first=True, bidirectional=True)
        self.init_h = nn.Linear(c["hidden"], c["hidden"])
        self.init_c = nn.Linear(c["hidden"], c["hidden"])
        self.trg_embedding = nn.Embedding(c["trg_vocab"], c["embed"], padding_idx=PAD)
        self.decoder = nn.LSTMCell(c["embed"] + c["hidden"], c["hidden"])
        self.attention = AdditiveAttention(c["hidden"], c["hidden"], c["hidden"])
        self.dropout = nn.Dropout(c["dropout"])
        self.output = nn.Linear(2 * c["hidden"], c["trg_vocab"])

    def max_steps(self):
        return 1 << 62

    def run_encoder(self, src, src_lengths):
        steps = src.shape[1]
        packed = pack_padded_sequence(self.dropout(self.src_embedding(src)), src_lengths.cpu(), batch_first=True,
                                      enforce_sorted=False)
        out, (h_n, c_n) = self.encoder(packed)
        states, _ = pad_packed_sequence(out, batch_first=True, total_length=steps)
        join = lambda s: s.transpose(0, 1).reshape(s.shape[1], -1)  # (2, B, H/2) -> (B, H), forward first
        return states, torch.tanh(self.init_h(join(h_n))), torch.tanh(self.init_c(join(c_n))), \
            padding_mask(src_lengths, steps)

    def encode(self, src, src_lengths):
        return self.run_encoder(src, src_lengths)[0]

    def forward(self, src, src_lengths, trg_in):
        states, h, c, mask = self.run_encoder(src, src_lengths)
        keys = self.attention.key_proj(states)
        inputs = self.dropout(self.trg_embedding(trg_in))
        context = states.new_zeros(src.shape[0], self.config["hidden"])
        outputs = []
        for t in range(trg_in.shape[1]):
            h, c = self.decoder(torch.cat([inputs[:, t], context], 1), (h, c))
            context, _ = self.attention.attend(h, keys, states, mask)
            outputs.append(torch.cat([h, context], 1))
        return self.output(self.dropout(torch.stack(outputs, 1)))

    def start(self, src, src_lengths):
        states, h, c, mask = self.run_encoder(src, src_lengths)
        return {"steps": 0, "states": states, "keys": self.attention.key_proj(states), "mask": mask, "h": h, "c": c,
                "context": states.new_zeros(src.shape[0], self.config["hidden"])}

    def step(self, s, last_tokens):
        x = torch.cat([self.dropout(self.trg_embedding(last_tokens)), s["context"]], 1)
        s["h"], s["c"] = self.decoder(x, (s["h"], s["c"]))
        s["context"], s["attention"] = self.attention.attend(s["h"], s["keys"], s["states"], s["mask"])
        s["steps"] += 1
        return torch.log_softmax(self.output(self.dropout(torch.cat([s["h"], s["context"]], 1))), dim=-1)

    def reorder(self, s, rows):
        for key in ("states", "keys", "mask", "h", "c", "context"):
            s[key] = s[key][rows]


def make_model(config):
    """The model of config["arch"] (attograd's TranslationConfig as a dict)."""
    return RnnSeq2Seq(config) if config["arch"] == "rnn" else TransformerSeq2Seq(config)


@torch.no_grad()
def greedy(model, src, src_lengths, max_len):
    """decode.cpp's greedy_translate: at each step the most likely token other than <pad> and <sos>
    (the first on ties), a sentence ends at its first <eos> (not returned) or after max_len steps;
    finished rows leave the batch. Returns one id list per sentence. Call in eval mode."""
    state = model.start(src, src_lengths)
    b = src.shape[0]
    out = [[] for _ in range(b)]
    sentence = list(range(b))
    last = torch.full((b,), SOS, dtype=torch.long)
    for t in range(max_len):
        logp = model.step(state, last)
        logp[:, PAD] = float("-inf")
        logp[:, SOS] = float("-inf")
        best = logp.argmax(-1).tolist()
        keep, nxt, still = [], [], []
        for r, s in enumerate(sentence):
            if best[r] == EOS:
                continue
            out[s].append(best[r])
            if t + 1 < max_len:
                keep.append(r)
                nxt.append(best[r])
                still.append(s)
        if not still:
            break
        if len(keep) != len(sentence):
            model.reorder(state, torch.tensor(keep, dtype=torch.long))
        sentence = still
        last = torch.tensor(nxt, dtype=torch.long)
    return out


def length_penalty(length, alpha):
    """GNMT's ((5 + length) / 6)^alpha; 1 for alpha 0 (decode.cpp's length_penalty)."""
    return 1.0 if alpha == 0 else ((5.0 + length) / 6.0) ** alpha


@torch.no_grad()
def beam_search(model, src, src_lengths, beam_size, alpha, max_len):
    """decode.cpp's beam_translate, batched over the sentences: every live hypothesis of every sentence
    is one row of a single model.step call. Per step and sentence, the candidates (live beam i, token v)
    with score + log p, <pad>, <sos> and -inf left out, are ranked by score (ties: lower beam, then lower
    token); walking the best 2k in that order, an <eos> ranked within the first k is kept as finished,
    and the first k others stay live. A sentence stops when it has k finished hypotheses whose
    normalized scores (score / length_penalty(steps, alpha)) all reach the best a live one could still
    get (score / length_penalty(max_len)), or at max_len, where its live ones end unfinished. The
    top 2k of each sentence come from one torch.topk over all sentences at once (scores in float64, as
    decode.cpp sums them). Returns the best hypothesis' ids per sentence. Call in eval mode."""
    k, b = beam_size, src.shape[0]
    state = model.start(src, src_lengths)
    live = [[([], 0.0)] for _ in range(b)]  # per sentence: (tokens, score) of its live beams, in row order
    finished = [[] for _ in range(b)]        # per sentence: (normalized, tokens)
    active = list(range(b))                  # sentences with rows in the state, in row order
    last = torch.full((b,), SOS, dtype=torch.long)
    bound = length_penalty(max_len, alpha)
    for t in range(max_len):
        logp = model.step(state, last).double()
        logp[:, PAD] = float("-inf")
        logp[:, SOS] = float("-inf")
        v = logp.shape[1]
        # (sentences, k, V) candidate scores, -inf where a sentence has fewer than k live beams
        cand = torch.full((len(active), k, v), float("-inf"), dtype=torch.float64)
        row = 0
        for i, s in enumerate(active):
            n = len(live[s])
            scores = torch.tensor([score for _, score in live[s]], dtype=torch.float64)
            cand[i, :n] = scores[:, None] + logp[row:row + n]
            row += n
        top_scores, top_index = cand.view(len(active), k * v).topk(min(2 * k, k * v), dim=1)
        top_scores, top_index = top_scores.tolist(), top_index.tolist()
        rows, nxt, still, base = [], [], [], 0
        for i, s in enumerate(active):
            ranked = sorted((-score, index) for score, index in zip(top_scores[i], top_index[i])
                            if score != float("-inf"))
            new_live, new_rows = [], []
            for rank, (neg, index) in enumerate(ranked):
                if len(new_live) == k and rank >= k:
                    break
                beam, token = divmod(index, v)
                eos = token == EOS
                if (eos and rank >= k) or (not eos and len(new_live) == k):
                    continue
                tokens = live[s][beam][0]
                if eos:
                    finished[s].append((-neg / length_penalty(len(tokens) + 1, alpha), tokens))
                else:
                    new_live.append((tokens + [token], -neg))
                    new_rows.append(base + beam)
            base += len(live[s])
            if t + 1 == max_len:  # out of steps: the live ones end here, unfinished
                finished[s] += [(score / length_penalty(len(tokens), alpha), tokens) for tokens, score in new_live]
                new_live, new_rows = [], []
            live[s] = new_live
            done = not new_live
            if not done and len(finished[s]) >= k:
                kth = sorted((n for n, _ in finished[s]), reverse=True)[k - 1]
                done = kth >= max(score for _, score in new_live) / bound
            if not done:
                rows += new_rows
                nxt += [tokens[-1] for tokens, _ in new_live]
                still.append(s)
        if not still:
            break
        model.reorder(state, torch.tensor(rows, dtype=torch.long))
        active = still
        last = torch.tensor(nxt, dtype=torch.long)
    # best normalized first, ties in the order found (decode.cpp sorts stably)
    return [max(enumerate(f), key=lambda e: (e[1][0], -e[0]))[1][1] if f else [] for f in finished]
