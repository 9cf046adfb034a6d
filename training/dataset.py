"""A training set built under the safety rules, versioned by its content, exported as JSONL."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from training.examples import EVERYONE, Example, FeedbackItem, Passage
from training.feedback import feedback_examples
from training.material import grounded_examples, refusal_examples
from training.scrub import Identities, scrubber_for

# Eight words in a row from restricted material, found in no public passage, are a leak;
# shorter runs are too generic to prove one ("is used to").
_SHINGLE = 8
_MARKER = re.compile(r"\s*\[\d{1,3}\]")


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
    restricted = _restricted_shingles(passages, public)
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


def _restricted_shingles(
    passages: Sequence[Passage], public: Sequence[Passage]
) -> frozenset[tuple[str, ...]]:
    shown = set(public)
    shared = {g for p in public for g in _shingles(p.text)}
    return frozenset(g for p in passages if p not in shown for g in _shingles(p.text)) - shared


def _shingles(text: str) -> set[tuple[str, ...]]:
    """Every run of _SHINGLE words (citation markers dropped): a quote anywhere shares them."""
    words = re.findall(r"\w+", _MARKER.sub("", text).lower())
    return {tuple(words[i : i + _SHINGLE]) for i in range(len(words) - _SHINGLE + 1)}


def _leaks(ex: Example, restricted: frozenset[tuple[str, ...]]) -> bool:
    # set lookups, not substring scans: linear in the dataset, whatever the restricted corpus
    return any(_shingles(t) & restricted for t in [c for _, c in ex.prompt] + [ex.completion])


def split(examples: Sequence[Example], heldout_share: float) -> tuple[list[Example], list[Example]]:
    """(train, held-out), by document: held-out questions are about material never trained on."""
    train: list[Example] = []
    heldout: list[Example] = []
    for ex in examples:
        key = ex.source or ex.prompt[-1][1]
        bucket = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % 1000
        (heldout if bucket < heldout_share * 1000 else train).append(ex)
    return train, heldout
