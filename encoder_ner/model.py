"""The tagger: a character encoder (BERT, or an embedding table), an optional BiLSTM, a linear layer, a CRF.

The CRF is ``torchcrf.CRF`` from the ``pytorch-crf`` package. Its transitions start with the moves BIO forbids
(``O``/start -> ``I-X``, ``B-X``/``I-X`` -> ``I-Y``) at -10000: gold never uses them, so their gradient stays zero
and Viterbi never picks them -- predictions are valid BIO. Training minimises the CRF negative log-likelihood
(mean over sentences); in eval mode the forward pass also returns the Viterbi tags (``tags``, padded with -100),
which is what ``Trainer.evaluate`` / ``predict`` collect.

Only the character positions enter the CRF: behind BERT, tokens ``1 .. n`` (``[CLS]`` and ``[SEP]`` are cut off);
for the BiLSTM-CRF, tokens ``0 .. n-1``.
"""

from __future__ import annotations

import torch
from torch import nn
from torchcrf import CRF

from .config import EncoderConfig
from .data import IGNORE, Encoding
from .tags import NUM_TAGS, TAGS, allowed_transition

FORBIDDEN = -10000.0


class CrfTagger(nn.Module):
    """``encoder`` is a ``BertModel`` or None (then a trainable character embedding of ``embedding_size``)."""

    def __init__(
        self,
        encoder: nn.Module | None = None,
        vocab_size: int = 0,
        embedding_size: int = 128,
        use_lstm: bool = False,
        lstm_hidden_size: int = 384,
        lstm_layers: int = 1,
        lstm_dropout: float = 0.5,
        dropout: float = 0.1,
        num_tags: int = NUM_TAGS,
    ):
        super().__init__()
        self.encoder = encoder
        if encoder is None:
            if vocab_size <= 0:
                raise ValueError("a character embedding needs vocab_size")
            self.embedding = nn.Embedding(vocab_size, embedding_size, padding_idx=0)
            features = embedding_size
            self.special_tokens = 0
        else:
            self.embedding = None
            features = encoder.config.hidden_size
            self.special_tokens = 2  # [CLS] ... [SEP]
        self.dropout = nn.Dropout(dropout)
        self.lstm = None
        if use_lstm:
            self.lstm = BiLSTM(features, lstm_hidden_size, lstm_layers, lstm_dropout)
            self.lstm_dropout = nn.Dropout(lstm_dropout)
            features = 2 * lstm_hidden_size
        self.classifier = nn.Linear(features, num_tags)
        self.crf = CRF(num_tags, batch_first=True)
        if num_tags == NUM_TAGS:
            forbid_bio_transitions(self.crf)

    def head_parameters(self) -> list[tuple[str, nn.Parameter]]:
        """Everything but the pretrained encoder (trained at the head learning rate)."""
        return [(n, p) for n, p in self.named_parameters() if not n.startswith("encoder.")]

    def emissions(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-character tag scores ``(batch, chars, tags)`` and the character mask ``(batch, chars)`` (bool)."""
        lengths = attention_mask.sum(dim=1) - self.special_tokens
        chars = int(lengths.max())
        if self.encoder is not None:
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            hidden = hidden[:, 1 : 1 + chars]
        else:
            hidden = self.embedding(input_ids[:, :chars])
        hidden = self.dropout(hidden)
        if self.lstm is not None:
            hidden = self.lstm_dropout(self.lstm(hidden, lengths))
        mask = torch.arange(chars, device=input_ids.device)[None, :] < lengths[:, None]
        return self.classifier(hidden).float(), mask

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        emissions, mask = self.emissions(input_ids, attention_mask)
        out: dict[str, torch.Tensor] = {}
        if labels is not None:
            tags = labels[:, : emissions.shape[1]].clamp(min=0)  # -100 padding sits under mask == False
            out["loss"] = -self.crf(emissions, tags, mask=mask, reduction="mean")
        if not self.training:
            # As wide as the input (not the longest sentence of this batch): replicas of a multi-GPU forward pass
            # then return tensors of one shape to gather.
            out["tags"] = self.decode(emissions, mask, width=input_ids.shape[1])
        return out

    @torch.no_grad()
    def decode(self, emissions: torch.Tensor, mask: torch.Tensor, width: int | None = None) -> torch.Tensor:
        """Viterbi tag ids ``(batch, width)``, -100 past each sentence's end."""
        best = self.crf.decode(emissions, mask=mask)
        shape = (mask.shape[0], max(width or 0, mask.shape[1]))
        tags = torch.full(shape, IGNORE, dtype=torch.long, device=emissions.device)
        for i, row in enumerate(best):
            tags[i, : len(row)] = torch.tensor(row, dtype=torch.long, device=emissions.device)
        return tags


def reverse_within(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each sequence of ``x`` (batch, time, features) within its length; the padding stays at the end.

    >>> reverse_within(torch.tensor([[1, 2, 3], [4, 5, 0]])[..., None], torch.tensor([3, 2]))[..., 0].tolist()
    [[3, 2, 1], [5, 4, 0]]
    """
    steps = torch.arange(x.shape[1], device=x.device)[None, :]
    lengths = lengths.to(x.device)[:, None]
    index = torch.where(steps < lengths, lengths - 1 - steps, steps)
    return x.gather(1, index[..., None].expand_as(x))


class BiLSTM(nn.Module):
    """A bidirectional LSTM over right-padded sequences, exact for every length: the backward direction reads each
    sentence reversed within its own length, so it never starts on padding -- what ``pack_padded_sequence`` gives,
    without its per-time-step batches, which are several times slower on CPU. ``dropout`` between layers."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0):
        super().__init__()
        sizes = [input_size] + [2 * hidden_size] * (num_layers - 1)
        self.forward_layers = nn.ModuleList(nn.LSTM(n, hidden_size, batch_first=True) for n in sizes)
        self.backward_layers = nn.ModuleList(nn.LSTM(n, hidden_size, batch_first=True) for n in sizes)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        for i, (fwd, bwd) in enumerate(zip(self.forward_layers, self.backward_layers, strict=True)):
            if i:
                x = self.dropout(x)
            ahead, _ = fwd(x)
            behind, _ = bwd(reverse_within(x, lengths))
            x = torch.cat([ahead, reverse_within(behind, lengths)], dim=-1)
        return x


def forbid_bio_transitions(crf: CRF) -> None:
    with torch.no_grad():
        for j, tag in enumerate(TAGS):
            if not allowed_transition(None, tag):
                crf.start_transitions[j] = FORBIDDEN
            for i, prev in enumerate(TAGS):
                if not allowed_transition(prev, tag):
                    crf.transitions[i, j] = FORBIDDEN


def build_model(cfg: EncoderConfig, encoding: Encoding, encoder: nn.Module | None = None) -> CrfTagger:
    """The tagger a configuration describes, on ``encoder`` (a BertModel) or on a character embedding table."""
    return CrfTagger(
        encoder=encoder,
        vocab_size=encoding.vocab_size,
        embedding_size=cfg.embedding_size,
        use_lstm=cfg.use_lstm,
        lstm_hidden_size=cfg.lstm_hidden_size,
        lstm_layers=cfg.lstm_layers,
        lstm_dropout=cfg.lstm_dropout,
        dropout=cfg.dropout,
    )
