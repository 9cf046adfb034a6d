"""A training set built under the safety rules, versioned by its content, exported as JSONL."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from training.examples import EVERYONE, Example, FeedbackItem, Passage
from training.feedback import feedback_examples
from training.material import grounded_examples, refusal_examples
from training.scrub import Identities, scrubber_for
from training.sentences import sentences

# A restricted sentence shorter than this is too generic to prove a leak ("Be verbose.").
_LEAK_MIN_CHARS = 40


@dataclass(frozen=True)
class Dataset:
    examples: tuple[Example, ...]
    version: str  # content hash: the same examples always give the same version

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for ex in self.examples:
            out[ex.origin] = out.get(ex.origin, 0) + 1
        return out


@dataclass(frozen=True)
class BuildOptions:
    allowed_audiences: tuple[str, ...] = (EVERYONE,)
    per_prompt: int = 3  # passages shown with each question (the service shows up to 4)
    per_passage: int = 2  # grounded questions made from each passage
    refusal_share: float = 0.15  # out-of-material examples, as a share of grounded ones
    seed: int = 0


DEFAULTS = BuildOptions()
NOBODY = Identities()


def build_dataset(
    passages: Sequence[Passage],
    feedback: Sequence[FeedbackItem] = (),
    identities: Identities = NOBODY,
    options: BuildOptions = DEFAULTS,
) -> Dataset:
    """Material and feedback examples: restricted material left out, identities scrubbed."""
    allowed = options.allowed_audiences
    public = [p for p in passages if p.visible_to(allowed)]
    grounded = grounded_examples(public, options.seed, options.per_prompt, options.per_passage)
    refusals = refusal_examples(
        public, round(len(grounded) * options.refusal_share), options.seed, options.per_prompt
    )
    learned = feedback_examples(feedback, allowed)
    scrub = scrubber_for(identities, (p.text for p in passages))
    restricted = _restricted_sentences(passages, public)
    kept = []
    for ex in (*grounded, *refusals, *learned):
        clean = replace(
            ex,
            prompt=tuple((role, scrub(text)) for role, text in ex.prompt),
            completion=scrub(ex.completion),
        )
        # a feedback answer may quote material its passages list does not show: drop it
        if not _leaks(clean, restricted):
            kept.append(clean)
    return Dataset(tuple(kept), content_hash(kept))


def content_hash(examples: Sequence[Example]) -> str:
    digest = hashlib.sha256()
    for ex in examples:
        digest.update(json.dumps(ex.to_json(), sort_keys=True, ensure_ascii=False).encode())
        digest.update(b"\n")
    return digest.hexdigest()[:16]


def export_jsonl(dataset: Dataset, folder: Path) -> Path:
    """Write `dataset-<version>.jsonl` (one example a line, readable by an admin); atomic."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"dataset-{dataset.version}.jsonl"
    staging = path.with_suffix(".jsonl.tmp")
    with staging.open("w", encoding="utf-8") as out:
        for ex in dataset.examples:
            out.write(json.dumps(ex.to_json(), ensure_ascii=False) + "\n")
    staging.replace(path)
    return path


def _restricted_sentences(passages: Sequence[Passage], public: Sequence[Passage]) -> frozenset[str]:
    shown = set(public)
    shared = {s for p in public for s in sentences(p.text)}
    return frozenset(
        s
        for p in passages
        if p not in shown
        for s in sentences(p.text)
        if len(s) >= _LEAK_MIN_CHARS and s not in shared
    )


def _leaks(ex: Example, restricted: frozenset[str]) -> bool:
    text = " ".join(c for _, c in ex.prompt) + " " + ex.completion
    flat = " ".join(text.split())
    return any(s in flat for s in restricted)


def split(examples: Sequence[Example], heldout_share: float) -> tuple[list[Example], list[Example]]:
    """(train, held-out), by document: held-out questions are about material never trained on."""
    train: list[Example] = []
    heldout: list[Example] = []
    for ex in examples:
        key = ex.source or ex.prompt[-1][1]
        bucket = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % 1000
        (heldout if bucket < heldout_share * 1000 else train).append(ex)
    return train, heldout
