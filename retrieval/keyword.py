"""BM25 keyword ranking with a tokenizer that keeps exact names whole."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN

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


class KeywordIndex:
    """An in-memory BM25 index over chunk texts, with per-audience row masks."""

    def __init__(self, texts: Sequence[str], audiences: Sequence[Iterable[str]]) -> None:
        self._build([tokenize(t) for t in texts], audiences)

    @classmethod
    def from_tokens(
        cls, token_lists: Sequence[list[str]], audiences: Sequence[Iterable[str]]
    ) -> KeywordIndex:
        """An index over texts tokenized earlier (a refresh re-tokenizes only what changed)."""
        index = cls.__new__(cls)
        index._build(token_lists, audiences)
        return index

    def _build(self, token_lists: Sequence[list[str]], audiences: Sequence[Iterable[str]]) -> None:
        self.size = len(token_lists)
        self._bm25 = bm25s.BM25()
        if self.size:
            self._bm25.index(token_lists, show_progress=False)
        postings: dict[str, list[int]] = {}
        for row, tokens in enumerate(token_lists):
            for token in set(tokens):
                postings.setdefault(token, []).append(row)
        self._postings = {t: np.asarray(rows, dtype=np.int64) for t, rows in postings.items()}
        self._groups: dict[str, np.ndarray] = {}
        self._masks: dict[tuple[str, ...] | None, np.ndarray] = {}
        for row, groups in enumerate(audiences):
            for group in groups:
                mask = self._groups.setdefault(group, np.zeros(self.size, dtype=bool))
                mask[row] = True

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
        token occurs in the index)."""
        tokens = [t for t in tokenize(query) if t in self._postings]
        if not tokens or not self.size:
            return None
        return self._bm25.get_scores(tokens, weight_mask=visible)

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
            rows = self._postings.get(name)
            if rows is not None:
                for row in rows[visible[rows]]:
                    counts[int(row)] = counts.get(int(row), 0) + 1
        if not counts:
            return []
        if scores is None:
            scores = self.scores(query, visible)
        if scores is None:  # unreachable: the identifiers themselves are indexed tokens
            return []
        return sorted(counts, key=lambda row: (-counts[row], -scores[row], row))[:n]

    def missing(self, terms: Iterable[str], visible: np.ndarray) -> list[str]:
        """Terms that occur in no visible row at all."""
        out = []
        for term in terms:
            rows = self._postings.get(term)
            if rows is None or not visible[rows].any():
                out.append(term)
        return out
