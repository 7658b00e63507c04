"""The IMDB attention classifier in PyTorch: the same model as examples/imdb (and the same parameter
names), used by the golden fixture, the speed benchmark and the parity check."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class AttentionPooling(nn.Module):
    """e_t = tanh(x_t . w + b_t), alpha = softmax_t(e), output = sum_t alpha_t x_t (the Keras layer)."""

    def __init__(self, features, max_len):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(features, 1).normal_(0.0, 0.05))
        self.bias = nn.Parameter(torch.zeros(max_len, 1))

    def forward(self, x, pad=None):
        e = torch.tanh(x @ self.weight + self.bias[: x.shape[1]]).squeeze(-1)  # (B, T)
        if pad is not None:
            e = e.masked_fill(pad, float("-inf"))
        alpha = torch.softmax(e, dim=1)
        return (alpha.unsqueeze(-1) * x).sum(1), alpha


class ImdbClassifier(nn.Module):
    def __init__(self, vocab_size=10000, maxlen=200, embed_dim=128, hidden=64, dropout=0.0, mask=False,
                 embed_dropout=0.0, lstm_dropout=0.0):
        super().__init__()
        self.mask = mask
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.embed_dropout = nn.Dropout(embed_dropout)
        self.lstm = nn.LSTM(embed_dim, hidden, batch_first=True, bidirectional=True)
        self.lstm_dropout = nn.Dropout(lstm_dropout)
        self.attention = AttentionPooling(2 * hidden, maxlen)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(2 * hidden, 1)

    def forward(self, ids, lengths=None):
        """ids (B, T) int64, lengths (B) (used with mask) -> logits (B), attention (B, T)."""
        x = self.embed_dropout(self.embedding(ids))
        steps = ids.shape[1]
        pad = None
        if self.mask:
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            h, _ = pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=steps)
            pad = torch.arange(steps).unsqueeze(0) >= lengths.unsqueeze(1)
        else:
            h, _ = self.lstm(x)
        pooled, alpha = self.attention(self.lstm_dropout(h), pad)
        return self.classifier(self.dropout(pooled)).squeeze(-1), alpha


def config_of(json_config):
    """ImdbClassifier keyword arguments from attograd's model config (checkpoint JSON)."""
    kwargs = {k: json_config[k] for k in ("vocab_size", "maxlen", "embed_dim", "hidden", "dropout", "mask")}
    kwargs.update({k: json_config.get(k, 0.0) for k in ("embed_dropout", "lstm_dropout")})  # absent before 0.2
    return kwargs
