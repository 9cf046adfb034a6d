"""Quiz items grounded in the material: the rules that make an item fair, and a generator
that always yields fair items (cloze questions on a passage's key terms)."""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

import Stemmer

OPTIONS = 4

_WORD = re.compile(r"[a-z0-9][a-z0-9'-]*")
_STOP = frozenset(
    "a an and are as at be by can do does for from has have how i if in into is it its of on "
    "or that the their then there these this to was what when where which who why will with "
    "you your not no yes all any more most other some such than too very".split()
)
# key terms worth asking about: command-line options, hyphenated commands, dotted names,
# CamelCase or capitalised names, and long words
_TERM = re.compile(
    r"(?<![\w-])(--?[a-z][\w-]*|[a-z]+(?:-[a-z]+)+|[a-z]+(?:\.[a-z_]+)+|[A-Z][a-z]+[A-Z]\w*|[A-Z]{2,}|[a-z]{9,})(?![\w-])"
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z`'\"(])|\n+")


EVERYONE = "everyone"


def visible(audience: Iterable[str], groups: Iterable[str]) -> bool:
    """Material for `audience` may be seen by someone in `groups`."""
    audience = set(audience)
    return EVERYONE in audience or bool(audience & set(groups))


def covers(outer: Iterable[str], inner: Iterable[str]) -> bool:
    """Everyone who may see `inner` material may also see `outer` material."""
    outer, inner = set(outer), set(inner)
    return EVERYONE in outer or (EVERYONE not in inner and inner <= outer)


@dataclass(frozen=True)
class Origin:
    """A document version that part of a quiz item came from, and its audience then."""

    doc_id: str
    version: str
    audience: tuple[str, ...]


@dataclass(frozen=True)
class Live:
    """What the catalog says about a document now."""

    version: str
    audience: tuple[str, ...]


@dataclass(frozen=True)
class Passage:
    """A piece of material a question may be asked about."""

    text: str
    source: str
    section: str
    version: str = ""
    audience: tuple[str, ...] = (EVERYONE,)
    doc_id: str = ""  # the catalog's id of its document; the source name when not given

    @property
    def origin(self) -> Origin:
        return Origin(self.doc_id or self.source, self.version, self.audience)


@dataclass(frozen=True)
class Term:
    """A key term of the material and the passage it was seen in (a distractor's origin)."""

    text: str
    origin: Origin


@dataclass(frozen=True)
class QuizItem:
    question: str
    options: tuple[str, ...]
    correct: int
    explanation: str
    passage: Passage
    origin: str = "cloze"  # "model" or "cloze"
    id: str = field(default="")
    # every document version the item's text came from, its passage's first; empty for an
    # item banked before provenance was kept (re-checked before it is served)
    sources: tuple[Origin, ...] = ()

    @property
    def audiences(self) -> tuple[tuple[str, ...], ...]:
        """The audiences a viewer must each belong to: one per document it came from."""
        return tuple(dict.fromkeys(o.audience for o in self.sources))

    def __post_init__(self) -> None:
        if not self.id:
            digest = hashlib.sha256(
                "\x1f".join((self.question, *self.options, self.passage.source)).encode()
            ).hexdigest()[:16]
            object.__setattr__(self, "id", digest)


def words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1}


def _norm(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def supported(option: str, passage: str) -> bool:
    """The passage states the option: as a phrase, or every content word of it appears."""
    said, option_words = _norm(passage), words(option)
    if _norm(option) and f" {_norm(option)} " in f" {said} ":
        return True
    return bool(option_words) and option_words <= words(passage)


def problems(item: QuizItem) -> list[str]:
    """Why an item is unfair or broken; empty when it may be asked."""
    found: list[str] = []
    options = [o.strip() for o in item.options]
    if len(options) != OPTIONS:
        found.append(f"{len(options)} options, not {OPTIONS}")
    if any(not o for o in options):
        found.append("an empty option")
    if len({_norm(o) for o in options}) != len(options):
        found.append("options repeat")
    if not 0 <= item.correct < len(options):
        return [*found, "the correct index is out of range"]
    if not item.question.strip():
        found.append("an empty question")
    answer = options[item.correct]
    if not supported(answer, item.passage.text):
        found.append("the passage does not support the correct option")
    for i, option in enumerate(options):
        if i != item.correct and option and supported(option, item.passage.text):
            found.append(f"the passage also supports option {i + 1}")
    if _norm(answer) and f" {_norm(answer)} " in f" {_norm(item.question)} ":
        found.append("the question gives the answer away")
    elif _gives_away(answer, item.question):
        found.append("the question gives the answer away by a word or its stem")
    if any(o and not _content(o) for o in options):
        found.append("an option is not a content phrase")
    if len({_shape(o) for o in options if o}) > 1:
        found.append("options are not of one kind")
    elif _shape(answer) == "phrase" and not _similar_lengths(options):
        found.append("options differ too much in length")
    if any(_nonsense(o) for o in options):
        found.append("an option is nonsense")
    return found


# The longest content word that is still too short to be a quiz answer on its own ("on" and
# "it" are stop words; "ok" is not, but is no answer either).
_MIN_CONTENT = 3
_IDENTIFIER = re.compile(
    r"^(--?[\w][\w-]*|[\w]+(?:[-._/][\w]+)+|[a-z]+[A-Z]\w*|[A-Z][a-z]+[A-Z]\w*)$"
)
_NUMBER = re.compile(r"^[$€£]?\d[\d,.]*\s*(%|[a-zA-Z]{1,8})?$")


@cache
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")  # the Snowball stemmer the keyword index uses too


def _stems(text: str) -> set[str]:
    """Stems of the words of `text` and of the pieces of its joined words (`git-stash`)."""
    pieces = set(words(text))
    pieces |= {p for w in list(pieces) for p in re.split(r"[-_.]", w) if len(p) > 1}
    return set(_stemmer().stemWords(sorted(pieces - _STOP)))


def _content(option: str) -> bool:
    """A phrase worth asking for: an identifier, a number, or words not all stop words."""
    if _shape(option) in ("identifier", "number"):
        return True
    return any(len(w) >= _MIN_CONTENT for w in words(option))


def _gives_away(answer: str, question: str) -> bool:
    """The question holds the answer: an identifier as a whole token, or every content word
    of the answer by its stem (`stashes` gives away `stash`)."""
    if _shape(answer) == "identifier":
        tokens = re.findall(r"[\w][\w.-]*[\w]|\w", question.lower().replace("--", " --"))
        return answer.lower().lstrip("-") in {t.lstrip("-") for t in tokens}
    wanted = _stems(answer)
    return bool(wanted) and wanted <= _stems(question)


def _shape(option: str) -> str:
    """An option's kind: the options of one item are all identifiers, all numbers, all single
    words or all phrases, so none stands out by its form."""
    option = option.strip()
    if _NUMBER.match(option):
        return "number"
    if " " not in option and _IDENTIFIER.match(option):
        return "identifier"
    return "word" if " " not in option else "phrase"


def _similar_lengths(options: Sequence[str]) -> bool:
    lengths = [len(o.strip()) for o in options if o.strip()]
    return not lengths or max(lengths) <= 3 * min(lengths)


def _nonsense(option: str) -> bool:
    """A long chain of joined pieces or one endless token: generated noise, not material."""
    parts = re.split(r"[-_.]", option.strip().lstrip("-"))
    longest = max((len(t) for t in option.split()), default=0)
    return len(parts) > 5 or longest > 40


@dataclass(frozen=True)
class _Term:
    text: str
    kind: str


def _kind(term: str) -> str:
    if term.startswith("-"):
        return "option"
    if "-" in term:
        return "command"
    if "." in term:
        return "dotted"
    if term[:1].isupper():
        return "name"
    return "word"


def _prefix(term: str) -> str:
    return re.split(r"[-.]", term.lstrip("-"), maxsplit=1)[0].lower()


def key_terms(text: str) -> list[_Term]:
    seen: dict[str, _Term] = {}
    for match in _TERM.finditer(text):
        term = match.group(1)
        seen.setdefault(term.lower(), _Term(term, _kind(term)))
    return list(seen.values())


def cloze_items(
    passage: Passage, vocabulary: Sequence[Term], limit: int = 1, seed: int = 0
) -> list[QuizItem]:
    """Fill-in-the-blank items on the passage's key terms; distractors are terms of the same
    kind from elsewhere in the material that this passage does not contain, taken only from
    material that everyone who may see the passage may also see."""
    pool: dict[str, list[str]] = {}
    origins: dict[str, Origin] = {}
    for word in vocabulary:
        if covers(word.origin.audience, passage.audience):
            pool.setdefault(_kind(word.text), []).append(word.text)
            origins.setdefault(word.text, word.origin)
    items: list[QuizItem] = []
    for sentence in _sentences(passage.text):
        for term in key_terms(sentence):
            others = [
                t
                for t in dict.fromkeys(pool.get(term.kind, ()))
                if t.lower() != term.text.lower() and not supported(t, passage.text)
            ]
            if len(others) < OPTIONS - 1:
                continue
            rng = random.Random(f"{seed}:{passage.source}:{term.text}")  # noqa: S311 - not security
            # the closest look-alikes first: git-add is better confused with git-commit
            # than with fast-forward
            alike = sorted(t for t in others if _prefix(t) == _prefix(term.text))
            pick = alike if len(alike) >= OPTIONS - 1 else sorted(others)
            options = [term.text, *rng.sample(pick, OPTIONS - 1)]
            rng.shuffle(options)
            blanked = re.sub(
                rf"(?<![\w-]){re.escape(term.text)}(?![\w-])", "_____", sentence, count=1
            )
            where = passage.section or passage.source
            item = QuizItem(
                question=f"Fill in the blank ({where}): {blanked}",
                options=tuple(options),
                correct=options.index(term.text),
                explanation=f"The material says: “{sentence.strip()}”",
                passage=passage,
                sources=_distinct(passage.origin, *(origins[o] for o in options if o != term.text)),
            )
            if not problems(item):
                items.append(item)
                break  # one item per sentence
        if len(items) >= limit:
            break
    return items


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text) if 30 <= len(s.strip()) <= 300]


def _distinct(*origins: Origin) -> tuple[Origin, ...]:
    return tuple(dict.fromkeys(origins))


def vocabulary_of(passages: Iterable[Passage]) -> list[Term]:
    """Every key term in the material with where it was seen, in first-seen order (the
    distractor pool). A term seen in several documents is kept once per audience, so a
    passage finds it in material its own audience may see."""
    terms: dict[tuple[str, tuple[str, ...]], Term] = {}
    for passage in passages:
        for term in key_terms(passage.text):
            key = (term.text.lower(), passage.audience)
            terms.setdefault(key, Term(term.text, passage.origin))
    return list(terms.values())


def provenance(item: QuizItem, material: Iterable[Passage]) -> tuple[Origin, ...]:
    """Where a banked item's text came from, re-established from the material: its passage
    (as the catalog has it now), and for each distractor of a cloze item a passage that
    everyone who may see that passage may also see. Empty when any part cannot be placed."""
    material = list(material)
    same = (p for p in material if p.source == item.passage.source and p.text == item.passage.text)
    own = next(same, item.passage).origin
    if item.origin == "model":
        return (own,)  # the model saw this passage and nothing else
    sources = [own]
    covering = [p for p in material if covers(p.audience, own.audience)]
    for n, option in enumerate(item.options):
        if n == item.correct:
            continue
        found = next((p for p in covering if supported(option, p.text)), None)
        if found is None:
            return ()
        sources.append(found.origin)
    return _distinct(*sources)


def servable(
    item: QuizItem,
    groups: Iterable[str],
    live: Mapping[str, Live],
    still_there: Callable[[Passage], bool],
) -> bool:
    """May this item be shown to someone in `groups` now? Every document it came from must
    still be in the catalog and visible to them (as it was when the item was made, and as it
    is now), and its passage must still be in its document's current version.
    `still_there` is asked only when that version changed since the item was made."""
    groups = set(groups) | {EVERYONE}
    if not item.sources or not all(visible(a, groups) for a in item.audiences):
        return False
    for n, source in enumerate(item.sources):
        now = live.get(source.doc_id)
        if now is None or not visible(now.audience, groups):
            return False
        if n == 0 and now.version != source.version and not still_there(item.passage):
            return False
    return True


def grade(item: QuizItem, picked: int) -> bool:
    return picked == item.correct


def rating_for(correct: bool, seconds: float) -> str:
    """FSRS rating from the answer: wrong is Again; right is Easy when quick, Hard when slow."""
    if not correct:
        return "again"
    if seconds <= 8:
        return "easy"
    if seconds >= 40:
        return "hard"
    return "good"


@dataclass(frozen=True)
class Session:
    """A quiz in a DM: its questions in order, where the learner is, and the score."""

    id: str
    learner_id: str
    items: tuple[str, ...]
    position: int = 0
    correct: int = 0
    status: str = "active"  # active | finished | stopped
    asked_at: datetime | None = None

    @property
    def current(self) -> str | None:
        active = self.status == "active" and self.position < len(self.items)
        return self.items[self.position] if active else None


@dataclass(frozen=True)
class Attempt:
    item_id: str
    source: str
    section: str
    correct: bool
    at: datetime


@dataclass(frozen=True)
class TopicProgress:
    source: str
    section: str
    seen: int
    correct: int

    @property
    def mastery(self) -> float:
        """Share right, shrunk towards 0 while there is little evidence (two virtual misses)."""
        return self.correct / (self.seen + 2)


def topic_progress(
    attempts: Iterable[Attempt], topics: Iterable[tuple[str, str]]
) -> list[TopicProgress]:
    """Per-topic history, in material order; topics never quizzed appear with nothing seen."""
    seen: dict[tuple[str, str], list[bool]] = {t: [] for t in topics}
    for attempt in sorted(attempts, key=lambda a: a.at):
        seen.setdefault((attempt.source, attempt.section), []).append(attempt.correct)
    return [
        TopicProgress(source, section, len(results), sum(results))
        for (source, section), results in seen.items()
    ]


def plan(
    progress: Sequence[TopicProgress], limit: int = 5, mastered: float = 0.6
) -> list[TopicProgress]:
    """What to learn next: weak topics first (weakest first), then unseen ones in material order."""
    weak = sorted((t for t in progress if t.seen and t.mastery < mastered), key=lambda t: t.mastery)
    unseen = [t for t in progress if not t.seen]
    return (weak + unseen)[:limit]
