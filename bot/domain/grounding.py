"""Grounding rules: quotes that answer a question, and which model sentences a passage backs.

Pure functions over passages and one embedding call per answer. Similarity alone is not
enough (a changed number or option scores ~0.95 against the original), and word overlap
alone misses paraphrase; so a sentence needs both, and its numbers, negation and names
must also agree with the passage sentence that backs it.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Protocol

import numpy as np

from bot.domain.sentences import (
    content_stems,
    exact_names,
    is_code,
    names,
    negated,
    numbers,
    split_units,
    strip_citations,
)


class SentenceEmbedder(Protocol):
    """Normalised vectors, one row per text (retrieval.embedding.Embedder is one)."""

    def embed(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray:
        """The question's vector: search has just computed it, so this is a cache hit."""
        ...


class RememberingEmbedder:
    """Remembers passage-sentence vectors across answers (the same passages come back for
    related questions), so an answer embeds only its new sentences. Bounded, oldest out."""

    def __init__(self, inner: SentenceEmbedder, size: int = 8192, learn: bool = True) -> None:
        self.inner = inner
        self.size = size
        self.learn = learn  # False: remember only what `warm` was given
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()

    def warm(self, texts: list[str]) -> None:
        todo = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if todo:
            self._vectors.update(zip(todo, self.inner.embed(todo), strict=True))
        while len(self._vectors) > self.size:
            self._vectors.popitem(last=False)

    def embed(self, texts: list[str]) -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        fresh = dict(zip(todo, self.inner.embed(todo), strict=True)) if todo else {}
        out = np.stack([self._vectors[t] if t in self._vectors else fresh[t] for t in texts])
        for text in texts:
            if text in self._vectors:
                self._vectors.move_to_end(text)
        if self.learn and fresh:
            self._vectors.update(fresh)
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)


class PassageLike(Protocol):
    """A retrieved passage as the answer layer holds it (bot's `Source` is one)."""

    @property
    def source(self) -> str: ...

    @property
    def section(self) -> str: ...

    @property
    def text(self) -> str: ...


@dataclass(frozen=True)
class GroundingPolicy:
    """Thresholds of the sentence checker (scripts/calibrate_grounding.py fits them)."""

    min_overlap: float = 0.65  # weighted share of the sentence's content words the passage has
    min_similarity: float = 0.8  # cosine of the two sentences' embeddings
    max_quotes: int = 3
    # Each embedded sentence costs ~5-15 ms on a busy CPU: embed only the lexically best.
    quote_candidates: int = 6  # sentences embedded for quoting, best by word overlap
    check_candidates: int = 3  # passage windows compared per model sentence
    quote_redundancy: float = 0.85  # a quote this similar to a picked one adds nothing


@dataclass(frozen=True)
class Quote:
    text: str
    passage: int  # index into the passages given
    source: str
    section: str
    score: float


@dataclass(frozen=True)
class Verdict:
    """The check of one model sentence; `passage` is the index of the passage backing it."""

    sentence: str  # as the model wrote it, citations removed
    supported: bool
    reason: str  # "supported", "overlap", "similarity", "number", "negation", "name", "empty"
    passage: int | None = None
    evidence: str = ""
    cited: tuple[int, ...] = ()  # the [n] the model wrote
    overlap: float = 0.0
    similarity: float = 0.0


@dataclass(frozen=True)
class _Unit:
    text: str
    passage: int
    stems: frozenset[str]
    position: int  # order within its passage
    parts: tuple[str, ...] = ()  # the sentences of a window of two
    lead: str = ""  # the unit just before, in the same passage


def passage_units(passages: Sequence[PassageLike]) -> list[_Unit]:
    units = []
    for p, passage in enumerate(passages):
        for position, text in enumerate(split_units(passage.text)):
            units.append(_Unit(text, p, content_stems(text), position))
    return units


# ---- quotes ----------------------------------------------------------------------------


def pick_quotes(
    question: str,
    passages: Sequence[PassageLike],
    embedder: SentenceEmbedder,
    policy: GroundingPolicy = GroundingPolicy(),
) -> tuple[Quote, ...]:
    """The 1-3 passage sentences that best answer the question, verbatim and diverse."""
    units = [u for u in passage_units(passages) if u.stems]
    if not units:
        return ()
    wanted = content_stems(question)
    weights = _idf(units)
    total = sum(weights.get(t, 1.0) for t in wanted) or 1.0
    lexical = [sum(weights.get(t, 1.0) for t in wanted & u.stems) / total for u in units]
    order = sorted(range(len(units)), key=lambda i: (-lexical[i], i))[: policy.quote_candidates]
    asked = embedder.embed_query(question)
    vectors = np.vstack([asked, embedder.embed([_for_embedding(units[i].text) for i in order])])
    similarity = vectors[1:] @ vectors[0]
    # Meaning counts more than shared words: the asker rarely uses the material's terms.
    scored = sorted(
        ((0.6 * float(similarity[j]) + 0.4 * lexical[i], j, i) for j, i in enumerate(order)),
        reverse=True,
    )
    picked: list[tuple[float, int, int]] = []
    picked_texts: list[str] = []
    for score, j, i in scored:
        if len(picked) == policy.max_quotes or score < 0.6 * scored[0][0]:
            break
        text = _with_code(units[i], units)
        if any(text in q or q in text for q in picked_texts):
            continue  # the command a picked lead-in already carries, or the lead-in itself
        if any(
            float(vectors[1 + j] @ vectors[1 + k]) > policy.quote_redundancy for _, k, _ in picked
        ):
            continue
        picked.append((score, j, i))
        picked_texts.append(text)
    return tuple(_merge_neighbours([(score, units[i]) for score, _, i in picked], units, passages))


def _merge_neighbours(
    picked: list[tuple[float, _Unit]], units: list[_Unit], passages: Sequence[PassageLike]
) -> list[Quote]:
    """Picked sentences that follow each other in a passage read as one quote, in order
    ("Do not rewrite history. Open a merge request that reverts it ...")."""
    runs: list[list[tuple[float, _Unit]]] = []
    for score, unit in sorted(picked, key=lambda p: (p[1].passage, p[1].position)):
        last = runs[-1][-1][1] if runs else None
        if last and last.passage == unit.passage and last.position + 1 == unit.position:
            runs[-1].append((score, unit))
        else:
            runs.append([(score, unit)])
    quotes = []
    for run in runs:
        first = run[0][1]
        text = " ".join(_with_code(unit, units) for _, unit in run)
        passage = passages[first.passage]
        score = max(score for score, _ in run)
        quotes.append(Quote(text, first.passage, passage.source, passage.section, score))
    return sorted(quotes, key=lambda q: -q.score)


def _with_code(unit: _Unit, units: list[_Unit]) -> str:
    """A lead-in ending in ':' is quoted with the command it introduces."""
    if not unit.text.rstrip().endswith(":"):
        return unit.text
    follower = [u for u in units if u.passage == unit.passage and u.position == unit.position + 1]
    return (
        f"{unit.text}\n{follower[0].text}" if follower and is_code(follower[0].text) else unit.text
    )


def _idf(units: Sequence[_Unit]) -> dict[str, float]:
    counts: dict[str, int] = {}
    for unit in units:
        for stem in unit.stems:
            counts[stem] = counts.get(stem, 0) + 1
    return {t: math.log(1 + len(units) / c) for t, c in counts.items()}


def _for_embedding(text: str) -> str:
    return re.sub(r"^\s*(```|~~~)\w*|(```|~~~)\s*$", "", text, flags=re.M).strip()


# ---- the sentence checker ------------------------------------------------------------


def check_answer(
    answer: str,
    passages: Sequence[PassageLike],
    embedder: SentenceEmbedder,
    policy: GroundingPolicy = GroundingPolicy(),
) -> list[Verdict]:
    """A verdict for each sentence of the model's answer, with one embedding call in all."""
    return check_sentences(split_units(answer), passages, embedder, policy)


def check_sentences(
    sentences: Sequence[str],
    passages: Sequence[PassageLike],
    embedder: SentenceEmbedder,
    policy: GroundingPolicy = GroundingPolicy(),
) -> list[Verdict]:
    units = passage_units(passages)
    windows = _windows(units)
    weights = _idf(units)
    # A word no passage has weighs most: it is what the model added.
    unknown = math.log(1 + 2 * max(len(units), 1))
    plans: list[tuple[str, tuple[int, ...], frozenset[str], list[_Candidate]]] = []
    needed: dict[str, int] = {}
    for raw in sentences:
        text, cited = strip_citations(raw)
        stems = content_stems(text)
        candidates: list[_Candidate] = []
        if stems:
            total = sum(weights.get(t, unknown) for t in stems)
            for w, window in enumerate(windows):
                overlap = sum(weights.get(t, unknown) for t in stems & window.stems) / total
                if overlap >= policy.min_overlap:
                    reason = _disagreement(text, window, passages[window.passage])
                    candidates.append(_Candidate(w, overlap, reason))
            # Facts are checked before meaning: only windows that may still back the
            # sentence are worth an embedding.
            candidates.sort(key=lambda c: (c.reason is not None, -c.overlap))
            candidates = candidates[: policy.check_candidates]
            for c in candidates:
                if c.reason is None:
                    for part in _parts(windows[c.window]):
                        needed.setdefault(_for_embedding(part), len(needed))
            if any(c.reason is None for c in candidates):
                needed.setdefault(_for_embedding(text), len(needed))
        plans.append((text, cited, stems, candidates))
    vectors = embedder.embed(list(needed)) if needed else np.zeros((0, 1), dtype=np.float32)
    verdicts = []
    for text, cited, stems, candidates in plans:
        if not stems:
            verdicts.append(_code_verdict(text, cited, units))
        elif not candidates:
            verdicts.append(Verdict(text, False, "overlap", cited=cited))
        else:
            mine = vectors[needed[_for_embedding(text)]] if _for_embedding(text) in needed else None
            verdicts.append(_best(text, cited, candidates, windows, vectors, needed, mine, policy))
    return verdicts


@dataclass(frozen=True)
class _Candidate:
    window: int
    overlap: float
    reason: str | None  # the fact the sentence changes, if any


def _best(
    text: str,
    cited: tuple[int, ...],
    candidates: list[_Candidate],
    windows: list[_Unit],
    vectors: np.ndarray,
    needed: dict[str, int],
    mine: np.ndarray | None,
    policy: GroundingPolicy,
) -> Verdict:
    """The backing window that passes every test; a passage the model cited wins ties."""
    tried = []
    for c in candidates:
        window = windows[c.window]
        similarity = 0.0
        reason = c.reason
        if reason is None and mine is not None:
            # the window as a whole, or the one sentence of it that says the same
            similarity = max(float(v @ mine) for v in _part_vectors(window, vectors, needed))
            reason = "similarity" if similarity < policy.min_similarity else "supported"
        bonus = 0.05 if window.passage + 1 in cited else 0.0
        ok = reason == "supported"
        tried.append(
            (ok, c.overlap + similarity + bonus, reason or "", c.window, c.overlap, similarity)
        )
    ok, _, reason, w, overlap, similarity = max(tried)
    window = windows[w]
    return Verdict(
        text, ok, reason, window.passage if ok else None, window.text, cited, overlap, similarity
    )


def _disagreement(sentence: str, window: _Unit, passage: PassageLike) -> str | None:
    """The first fact the sentence changes: a number, the polarity, or a name.

    Options and identifiers must be in the backing sentences themselves; a command or a
    product may be named anywhere in the passage, its section or its page's name."""
    evidence = window.text
    if not numbers(sentence) <= numbers(evidence):
        return "number"
    if negated(sentence) != negated(_closest(sentence, window.parts or (evidence,))):
        return "negation"
    before = f"{window.lead}\n{evidence}"  # a definition names its option a line earlier
    if not all(_mentions(before, name) for name in exact_names(sentence)):
        return "name"
    context = f"{passage.text}\n{passage.section}\n{re.sub(r'[-_.]', ' ', passage.source)}"
    if not all(_mentions(context, name) for name in names(sentence)):
        return "name"
    return None


def _closest(sentence: str, parts: Sequence[str]) -> str:
    """The part of a window that shares most words with the sentence: its polarity counts."""
    stems = content_stems(sentence)
    return max(parts, key=lambda part: len(stems & content_stems(part)))


def _mentions(text: str, name: str) -> bool:
    """A whole-name match: `-n` is not inside `--no-verify`; options keep their case;
    `git reset` is also `git-reset`."""
    body = r"[\s-]+".join(re.escape(part) for part in name.split())
    pattern = rf"(?<![\w-]){body}(?![\w-])"
    return re.search(pattern, text, flags=0 if name.startswith("-") else re.IGNORECASE) is not None


def _parts(window: _Unit) -> tuple[str, ...]:
    return window.parts or (window.text,)


def _part_vectors(window: _Unit, vectors: np.ndarray, needed: dict[str, int]) -> list[np.ndarray]:
    """Each sentence's vector and, for a window of two, their mean: each sentence is embedded
    once, however many windows hold it (embedding cost grows with the tokens embedded)."""
    parts = [vectors[needed[_for_embedding(p)]] for p in _parts(window)]
    if len(parts) == 1:
        return parts
    mean = np.sum(parts, axis=0)
    norm = float(np.linalg.norm(mean))
    return [*parts, mean / norm if norm else mean]


def passage_texts(passages: Sequence[PassageLike]) -> list[str]:
    """Every text quoting or checking may embed for these passages: embed them ahead (at
    ingestion, or once per process) and an answer embeds only the model's sentences."""
    return list(dict.fromkeys(_for_embedding(u.text) for u in passage_units(passages)))


def _windows(units: list[_Unit]) -> list[_Unit]:
    """Each sentence alone and with its successor: models often merge two into one."""
    leads = {(b.passage, b.position): a.text for a, b in pairwise(units) if a.passage == b.passage}
    out = [replace(u, lead=leads.get((u.passage, u.position), "")) for u in units]
    for a, b in pairwise(units):
        if a.passage == b.passage:
            text = f"{a.text} {b.text}"
            lead = leads.get((a.passage, a.position), "")
            out.append(
                _Unit(text, a.passage, a.stems | b.stems, a.position, (a.text, b.text), lead)
            )
    return out


def _code_verdict(text: str, cited: tuple[int, ...], units: list[_Unit]) -> Verdict:
    """Code and other word-less lines are backed only by a passage holding them verbatim."""
    squeezed = _squeeze(text)
    if is_code(text) and squeezed:
        for unit in units:
            if squeezed in _squeeze(unit.text):
                return Verdict(text, True, "supported", unit.passage, unit.text, cited, 1.0, 1.0)
    return Verdict(text, False, "empty", cited=cited)


def _squeeze(text: str) -> str:
    return re.sub(r"\s+|```\w*|~~~", "", text)


def supported_text(verdicts: Sequence[Verdict]) -> str:
    """The supported sentences, each citing (as [n], from 1) the passage that backs it."""
    return " ".join(
        f"{v.sentence} [{v.passage + 1}]" for v in verdicts if v.supported and v.passage is not None
    )
