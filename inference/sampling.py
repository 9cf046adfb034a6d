"""Per-row sampling over a batch of logits: each request keeps its own parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SamplingParams:
    max_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    repetition_penalty: float = 1.0
    stop: tuple[str, ...] = ()


def penalise_repeats(logits: Any, row: int, seen: Any, penalty: float) -> None:
    """The CTRL repetition penalty (as transformers and vLLM apply it), in place."""
    scores = logits[row, seen]
    logits[row, seen] = scores.where(scores < 0, scores / penalty).where(
        scores >= 0, scores * penalty
    )


def sample_row(logits: Any, params: SamplingParams, generator: Any) -> int:
    """One token id from a row of logits: greedy at temperature 0, else top-p sampling."""
    import torch

    if params.temperature <= 0:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits.float() / params.temperature, dim=-1)
    if params.top_p < 1.0:
        ordered, order = torch.sort(probs, descending=True)
        # keep the smallest prefix whose mass reaches top_p (always at least one token)
        drop = ordered.cumsum(-1) - ordered > params.top_p
        ordered[drop] = 0.0
        probs = torch.zeros_like(probs).scatter_(-1, order, ordered)
    return int(torch.multinomial(probs, 1, generator=generator))
