"""BM25 keyword ranking with a tokenizer that keeps exact names whole."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN
from scipy import sparse

# Whole identifiers an employee types verbatim: options (--verbose, -n), dotted names
# (json.dumps, os.path.join, core.excludesFile) and hyphenated names (cherry-pick).
# Found in two steps (runs of word characters, dots and dashes, then a check of each
# run) because one regex with look-behinds is ten times slower on large corpora.
_SPAN = re.compile(r"-{0,2}\w[\w.-]*")
_OPTION = re.compile(r"--?[a-z][\w-]*")
_WORD = re.compile(r"\w\w+")
_STOP = frozenset(STOPWORDS_EN) | frozenset(
    "i me my we our you your he she they them it its is am are was were be been being "
    "have has had do does did doing can could should would will shall may might must "
    "how what which who whom whose when where why there here this that these those "
    "about into onto from with without than then so if or and but not no nor any all".split()
)
# Words that say "this is a question", not what it is about.
QUESTION_WORDS = frozenset(
    "way ways use using used make get set want need know tell explain mean means "
    "difference between happen happens example examples please thing things possible "
    "best right wrong work works option options command commands someone something "
    "does doing done instead".split()
)


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def _all_compounds(lowered: str) -> list[str]:
    """Every identifier occurrence (repeats kept: BM25 counts them)."""
    out = []
    for span in _SPAN.findall(lowered):
        span = span.rstrip(".-")
        if span.startswith("-"):
            if _OPTION.fullmatch(span):
                out.append(span)
        elif ("." in span or "-" in span) and len(span) > 1:
            out.append(span)
    return out


def compounds(text: str) -> list[str]:
    """The exact identifiers in a text (json.dumps, --verbose, cherry-pick), lower-cased."""
    return list(dict.fromkeys(_all_compounds(text.lower())))


def tokenize(text: str) -> list[str]:
    """Lower-cased tokens: each compound whole, then its parts, then stemmed words."""
    lowered = text.lower()
    tokens = _all_compounds(lowered)
    words = [w for w in _WORD.findall(lowered) if w not in _STOP]
    tokens.extend(_stemmer().stemWords(words))
    return tokens


def content_terms(text: str) -> dict[str, str]:
    """The question's topic words: index token -> the word as written (for the relevance check)."""
    lowered = text.lower()
    words = [
        w
        for w in _WORD.findall(lowered)
        if w not in _STOP and w not in QUESTION_WORDS and not w.isdigit() and len(w) > 2
    ]
    terms = {compound: compound for compound in compounds(lowered)}
    for word, stem in zip(words, _stemmer().stemWords(words), strict=True):
        terms.setdefault(stem, word)
    return terms


# Names as people write them: GitHub, GitLab (inner capitals), VPN, SVN (acronyms), or a
# capitalised word inside a sentence (Docker, Mercurial).
_NAME = re.compile(r"\b[A-Za-z]+[A-Z][A-Za-z]*\b|\b[A-Z][a-z]+\b")
_SENTENCE_START = re.compile(r"(?:^|[.!?:]\s+|\n\s*)[\"'(`]*$")


def named_terms(text: str) -> dict[str, str]:
    """Product, tool and place names in a question: index token -> the name as written."""
    names: dict[str, str] = {}
    for match in _NAME.finditer(text):
        word = match.group()
        if (
            word[0].isupper()
            and word[1:].islower()
            and _SENTENCE_START.search(text[: match.start()])
        ):
            continue  # an ordinary word that merely starts a sentence
        if word.lower() in _STOP or word.lower() in QUESTION_WORDS or len(word) < 2:
            continue
        names.setdefault(_stemmer().stemWord(word.lower()), word)
    return names


def top_scores(scores: np.ndarray | None, n: int) -> list[tuple[int, float]]:
    """The `n` best (row, score) pairs with a positive score, best first."""
    if scores is None:
        return []
    n = min(n, int(np.count_nonzero(scores)))
    if n <= 0:
        return []
    top = np.argpartition(-scores, n - 1)[:n]
    top = top[np.argsort(-scores[top], kind="stable")]
    return [(int(row), float(scores[row])) for row in top]


class Vocabulary:
    """Term ids, append-only, shared by a searcher's successive snapshots: a document's
    counted terms stay valid in every later snapshot, so a refresh counts only what
    changed."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._ids)

    def get(self, term: str) -> int | None:
        return self._ids.get(term)

    def add(self, term: str) -> int:
        found = self._ids.get(term)
        if found is None:
            found = self._ids[term] = len(self._ids)
        return found


@dataclass(frozen=True)
class TermCounts:
    """The terms of some rows (one document's chunks), counted once and kept."""

    lengths: np.ndarray  # tokens per row
    sizes: np.ndarray  # distinct terms per row
    terms: np.ndarray  # term ids, row after row
    counts: np.ndarray  # how often each term occurs in its row

    @classmethod
    def of(cls, token_lists: Sequence[list[str]], vocab: Vocabulary) -> TermCounts:
        terms: list[int] = []
        counts: list[int] = []
        sizes = []
        for tokens in token_lists:
            counted = Counter(tokens)
            terms.extend(vocab.add(t) for t in counted)
            counts.extend(counted.values())
            sizes.append(len(counted))
        return cls(
            np.array([len(t) for t in token_lists], dtype=np.float32),
            np.array(sizes, dtype=np.int64),
            np.array(terms, dtype=np.int64),
            np.array(counts, dtype=np.float32),
        )


class KeywordIndex:
    """An in-memory BM25 index over chunk texts, with per-audience row masks.

    BM25 as bm25s computes it by default (Lucene's variant: k1 1.5, b 0.75), scored at query
    time from a term-by-row matrix instead of precomputed per term: precomputed scores
    depend on every row (document frequencies, average length), so one changed document
    would mean recomputing them all; this matrix is merely stacked from each document's
    kept `TermCounts` (a refresh of a 20k-chunk index: ~0.1 s instead of ~1.8 s)."""

    K1 = 1.5
    B = 0.75

    def __init__(self, texts: Sequence[str], audiences: Sequence[Iterable[str]]) -> None:
        vocab = Vocabulary()
        self._build([TermCounts.of([tokenize(t) for t in texts], vocab)], audiences, vocab)

    @classmethod
    def from_counts(
        cls, parts: Sequence[TermCounts], audiences: Sequence[Iterable[str]], vocab: Vocabulary
    ) -> KeywordIndex:
        """An index over rows counted earlier, part after part (a refresh counts only the
        documents that changed)."""
        index = cls.__new__(cls)
        index._build(parts, audiences, vocab)
        return index

    def _build(
        self, parts: Sequence[TermCounts], audiences: Sequence[Iterable[str]], vocab: Vocabulary
    ) -> None:
        self._vocab = vocab
        parts = parts or [TermCounts.of([], vocab)]  # no rows: one empty part
        lengths = np.concatenate([p.lengths for p in parts])
        self.size = len(lengths)
        rows = np.repeat(np.arange(self.size), np.concatenate([p.sizes for p in parts]))
        matrix = sparse.csc_matrix(
            (
                np.concatenate([p.counts for p in parts]),
                (rows, np.concatenate([p.terms for p in parts])),
            ),
            shape=(self.size, len(vocab)),
            dtype=np.float32,
        )
        # Column t: the rows holding term t (ascending) and its count in each.
        self._starts, self._rows, self._tf = matrix.indptr, matrix.indices, matrix.data
        average = float(lengths.mean()) if self.size else 1.0
        self._norm = (self.K1 * ((1 - self.B) + self.B * lengths / average)).astype(np.float32)
        self._groups: dict[str, np.ndarray] = {}
        self._masks: dict[tuple[str, ...] | None, np.ndarray] = {}
        for row, groups in enumerate(audiences):
            for group in groups:
                mask = self._groups.setdefault(group, np.zeros(self.size, dtype=bool))
                mask[row] = True

    def _postings(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(rows, counts) of a term, None when no row holds it."""
        tid = self._vocab.get(term)
        if tid is None or tid + 1 >= len(self._starts):  # unknown, or newer than this index
            return None
        start, end = self._starts[tid], self._starts[tid + 1]
        if start == end:
            return None
        return self._rows[start:end], self._tf[start:end]

    def mask(self, audiences: Iterable[str] | None) -> np.ndarray:
        """Rows visible to a reader in any of `audiences` (None: every row); read-only."""
        key = None if audiences is None else tuple(sorted(set(audiences)))
        visible = self._masks.get(key)
        if visible is None:
            if key is None:
                visible = np.ones(self.size, dtype=bool)
            else:
                visible = np.zeros(self.size, dtype=bool)
                for group in key:
                    if group in self._groups:
                        visible |= self._groups[group]
            visible.flags.writeable = False
            if len(self._masks) < 64:  # a handful of audience sets are ever asked for
                self._masks[key] = visible
        return visible

    def scores(self, query: str, visible: np.ndarray) -> np.ndarray | None:
        """BM25 score of every row for `query`, 0 for rows not visible (None: no query
        token occurs in the index). A token repeated in the query counts again."""
        postings = [p for p in map(self._postings, tokenize(query)) if p is not None]
        if not postings:
            return None
        scores = np.zeros(self.size, dtype=np.float32)
        for rows, tf in postings:
            df = len(rows)
            idf = np.float32(math.log(1 + (self.size - df + 0.5) / (df + 0.5)))
            scores[rows] += idf * tf / (self._norm[rows] + tf)
        scores *= visible
        return scores

    def search(self, query: str, n: int, visible: np.ndarray) -> list[tuple[int, float]]:
        """Top `n` (row, score) pairs among visible rows with a positive score."""
        return top_scores(self.scores(query, visible), n)

    def exact(
        self, query: str, n: int, visible: np.ndarray, scores: np.ndarray | None = None
    ) -> list[int]:
        """Visible rows holding the query's exact identifiers: most identifiers first,
        then by BM25 score (`scores`, when the caller already has them)."""
        counts: dict[int, int] = {}
        for name in compounds(query):
            postings = self._postings(name)
            if postings is not None:
                rows = postings[0]
                for row in rows[visible[rows]]:
                    counts[int(row)] = counts.get(int(row), 0) + 1
        if not counts:
            return []
        if scores is None:
            scores = self.scores(query, visible)
        if scores is None:  # unreachable: the identifiers themselves are indexed tokens
            return []
        return sorted(counts, key=lambda row: (-counts[row], -scores[row], row))[:n]

    def rows_with(self, term: str, visible: np.ndarray) -> np.ndarray:
        """The visible rows holding a term."""
        postings = self._postings(term)
        if postings is None:
            return np.zeros(0, dtype=np.int64)
        rows = postings[0]
        return np.unique(rows[visible[rows]])

    def missing(self, terms: Iterable[str], visible: np.ndarray) -> list[str]:
        """Terms that occur in no visible row at all."""
        out = []
        for term in terms:
            postings = self._postings(term)
            if postings is None or not visible[postings[0]].any():
                out.append(term)
        return out


# Multi-word names: "Travel Desk Portal", or a phrase in quotes. A name is a unit: its words
# appearing apart in the material is not the name appearing.
_PHRASE = re.compile(r"\b[A-Z][\w-]*(?:[ \t]+[A-Z][\w-]*)+")
_QUOTED = re.compile(r"[\"“]([^\"”]{3,60})[\"”]")


def name_phrases(text: str) -> list[str]:
    """The question's multi-word names, each as written."""
    found = [m.group(1) for m in _QUOTED.finditer(text)]
    for match in _PHRASE.finditer(text):
        parts = match.group().split()
        if _SENTENCE_START.search(text[: match.start()]) and (
            parts[0].lower() in _STOP or parts[0].lower() in QUESTION_WORDS
        ):
            parts = parts[1:]  # "How Git Sync ..." -> "Git Sync"
        if len(parts) >= 2:
            found.append(" ".join(parts))
    return [p for p in dict.fromkeys(found) if len(_WORD.findall(p)) >= 2]


def stems_of(text: str) -> list[str]:
    """Every word of a text stemmed, stop words kept (a phrase is matched word for word)."""
    return list(_stemmer().stemWords(_WORD.findall(text.lower())))


def contains_phrase(text: str, phrase: str) -> bool:
    wanted = " " + " ".join(stems_of(phrase)) + " "
    return wanted in " " + " ".join(stems_of(text)) + " "


_PREFIXES = ("un", "re", "pre", "de", "dis", "non", "sub", "over", "mis", "co", "auto", "multi")
_SUFFIXES = ("able", "ible", "ation", "ition", "ment", "ness", "less", "ful", "ise", "ize", "er")


def word_forms(word: str) -> list[str]:
    """Index tokens a word may match a prefix or a suffix away (`reinstall` -> `install`,
    `configurable` -> `configur`), its own stem first."""
    lowered = word.lower()
    stemmer = _stemmer()
    forms = [stemmer.stemWord(lowered)]
    for prefix in _PREFIXES:
        rest = lowered[len(prefix) :].lstrip("-")
        if lowered.startswith(prefix) and len(rest) >= 4:
            forms.append(stemmer.stemWord(rest))
    for suffix in _SUFFIXES:
        rest = lowered[: -len(suffix)]
        if lowered.endswith(suffix) and len(rest) >= 4:
            forms.append(stemmer.stemWord(rest))
            forms.append(stemmer.stemWord(rest + "e"))
    return list(dict.fromkeys(forms))
