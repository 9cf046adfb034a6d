"""Text into quotable units (sentences, list items, code blocks) and the facts a unit states.

Hand-written rather than a sentence-boundary library (pysbd, syntok): those split prose
well but cut code blocks, command lines and list items apart, which are exactly the units
an answer about tools must keep whole.
"""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer
from bm25s.stopwords import STOPWORDS_EN

_FENCE = re.compile(r"^\s*(```|~~~)")
_ITEM = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+")
_INDENTED = re.compile(r"^(?: {4}|\t)\S")
# A command line as HTML <pre> blocks leave it (indentation stripped): a prompt, or a
# lower-case tool name followed by arguments and no sentence punctuation at the end.
_COMMAND_LINE = re.compile(r"^(?:\$ |> )|^[a-z][\w.-]*(?: +\S+)+$")
_INLINE_CODE = re.compile(r"`[^`\n]+`")
_CITATION = re.compile(r"\s*\[(\d{1,3})\]")
_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[`$]?[A-Z0-9\x00])")
_ABBREVIATIONS = frozenset(
    "e.g i.e etc vs cf approx fig no nr mr mrs ms dr st inc ltd jr sr dept min max".split()
)
_NEGATIONS = frozenset(
    "not no never cannot none nothing neither nor nobody nowhere without".split()
)
_NUMBER_WORDS = {
    w: str(n)
    for n, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve".split()
    )
    if w != "one"  # "inspect one with ..." is a pronoun far more often than a count
} | {
    "fifteen": "15",
    "twenty": "20",
    "thirty": "30",
    "forty": "40",
    "fifty": "50",
    "sixty": "60",
    "ninety": "90",
    "hundred": "100",
    "once": "1",
    "twice": "2",
    "half": "0.5",
    # ordinals are positions, not counts: "the third day" is not "3 days"
    "second": "2nd",
    "third": "3rd",
    "fourth": "4th",
    "fifth": "5th",
}
_NUMBER = re.compile(r"(?<![\w.-])\d+(?:[.,:]\d+)*%?(?!\d)(?!(?:st|nd|rd|th)\b)")
_ORDINAL = re.compile(r"(?<![\w.-])(\d+)(?:st|nd|rd|th)\b", re.IGNORECASE)
_SUFFIX = {1: "st", 2: "nd", 3: "rd"}
_WORD = re.compile(r"[a-z][a-z'-]*[a-z]|[a-z]")
# Identifiers an employee types verbatim: options, dotted/underscored/slashed names.
_OPTION = re.compile(r"(?<![\w-])--?[a-zA-Z][\w-]*")
_IDENTIFIER = re.compile(r"\b\w+(?:[._/]\w+)+\b")
_CAMEL = re.compile(r"\b[a-z]+[A-Z]\w*\b|\b[A-Z]\w*[A-Z]\w*\b")
_CAPITALISED = re.compile(r"\b[A-Z][a-z]+\b")
# Command-line tools whose subcommand is part of the name (`git revert` is not `git reset`).
_TOOLS = (
    "git|gh|pip|npm|yarn|docker|kubectl|helm|ssh|scp|sudo|apt|brew|aws|gcloud|az|make|"
    "curl|openvpn|wg|vault|terraform|pytest|python|poetry|uv|systemctl|journalctl"
)
_COMMAND = re.compile(rf"\b(?:{_TOOLS})\s+[a-z][\w-]*")
_SENTENCE_START = re.compile(r"(?:^|[.!?:]\s+|\n\s*)[\"'(`*_]*$")
_STOP = frozenset(STOPWORDS_EN) | frozenset(
    "i me my we our you your it its is am are was were be been being have has had do does "
    "did can could should would will shall may might must how what which who when where "
    "why there here this that these those also just so then than into onto from with".split()
)
_PREFIXES = ("un", "re", "pre", "de", "dis", "non", "sub", "over", "mis", "co")


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def strip_citations(text: str) -> tuple[str, tuple[int, ...]]:
    """The text without its [n] markers, and the numbers it cited (first appearance order)."""
    cited = tuple(dict.fromkeys(int(n) for n in _CITATION.findall(text)))
    return _CITATION.sub("", text).strip(), cited


def is_code(unit: str) -> bool:
    """A fenced block or a bare command line: compared verbatim, never paraphrased."""
    first = unit.lstrip().split("\n", 1)[0]
    return bool(_FENCE.match(first) or _INDENTED.match(unit) or _command_line(first))


def _command_line(line: str) -> bool:
    stripped = line.strip()
    if not stripped or stripped[-1] in ".!?:,;":
        return False
    return bool(_COMMAND_LINE.match(stripped)) and len(stripped.split()) <= 12


def split_units(text: str) -> list[str]:
    """Whole sentences, list items and code blocks, in order; none is ever cut inside."""
    units: list[str] = []
    paragraph: list[str] = []
    code: list[str] = []
    item: list[str] | None = None

    def flush_prose() -> None:
        nonlocal item
        if item is not None:
            units.append(" ".join(item))
            item = None
        if paragraph:
            units.extend(split_sentences(" ".join(paragraph)))
            paragraph.clear()

    def flush_code() -> None:
        if code:
            units.append("\n".join(code))
            code.clear()

    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if _FENCE.match(line):
            flush_prose()
            flush_code()
            block = [line]
            i += 1
            while i < len(lines) and not _FENCE.match(lines[i]):
                block.append(lines[i])
                i += 1
            if i < len(lines):
                block.append(lines[i])
            units.append("\n".join(block).strip())
        elif not line.strip():
            flush_prose()
            flush_code()
        elif item is None and not paragraph and (_INDENTED.match(line) or _command_line(line)):
            code.append(line.rstrip())
        elif _ITEM.match(line):
            flush_prose()
            flush_code()
            item = [line.strip()]
        elif item is not None and line[:1].isspace():
            item.append(line.strip())  # an item continued on an indented line
        else:
            flush_code()
            if item is not None:
                flush_prose()
            paragraph.append(line.strip())
        i += 1
    flush_prose()
    flush_code()
    return _reattach_citations([u for u in units if u.strip()])


def split_sentences(paragraph: str) -> list[str]:
    """One paragraph of prose into sentences; inline `code` and abbreviations never end one."""
    spans: list[str] = []

    def hide(match: re.Match[str]) -> str:
        spans.append(match.group())
        return f"\x00{len(spans) - 1}\x00"

    hidden = _INLINE_CODE.sub(hide, paragraph)
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(hidden):
        before = hidden[start : match.start()].rstrip("\"')]")
        last = before.rsplit(None, 1)[-1] if before.split() else ""
        word = last.rstrip(".").lower()
        if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
            continue
        sentences.append(hidden[start : match.start()].strip())
        start = match.end()
    sentences.append(hidden[start:].strip())
    restore = re.compile(r"\x00(\d+)\x00")
    return [restore.sub(lambda m: spans[int(m.group(1))], s) for s in sentences if s]


def _reattach_citations(units: list[str]) -> list[str]:
    """`... done. [2] Next ...` puts the marker after the boundary: give it back."""
    out: list[str] = []
    for unit in units:
        lead = re.match(r"^(?:\s*\[\d{1,3}\])+", unit)
        if lead and out:
            out[-1] += lead.group()
            unit = unit[lead.end() :].strip()
            if not unit:
                continue
        out.append(unit)
    return out


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def content_stems(text: str) -> frozenset[str]:
    """Stems of the words that carry meaning, plus options and identifiers whole."""
    lowered = text.lower()
    kept = [w.strip("'") for w in _WORD.findall(lowered)]
    kept = [w for w in kept if w not in _STOP and w not in _NEGATIONS and len(w) > 1]
    stems = set(_stemmer().stemWords(kept))
    stems.update(o.lower() for o in _OPTION.findall(text))
    stems.update(i.lower() for i in _IDENTIFIER.findall(text) if not i.isdigit())
    return frozenset(stems)


def numbers(text: str) -> frozenset[str]:
    """Quantities stated (digits or number words), normalised: 'three' and '3' are one,
    'fourth' and '4th' are one, and neither of those is '4'."""
    plain = _strip_markers(text)
    found = {n.rstrip(".,:").replace(",", "") for n in _NUMBER.findall(plain)}
    found.update(_ordinal(int(n)) for n in _ORDINAL.findall(plain))
    found.update(_NUMBER_WORDS[w] for w in words(text) if w in _NUMBER_WORDS)
    return frozenset(found)


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else _SUFFIX.get(n % 10, 'th')}"


def negated(text: str) -> bool:
    """Whether the unit says something is not so (odd counts of negation are not tracked)."""
    # An aside in brackets ("clean (no modifications)") does not negate the claim itself,
    # nor does an option's name (--[no-]verify, --no-edit).
    text = re.sub(r"\([^)]*\)|(?<![\w-])--?\[?[\w\[\]-]+", "", text)
    lowered = text.lower()
    return "n't" in lowered or "n’t" in lowered or any(w in _NEGATIONS for w in words(text))


def exact_names(text: str) -> frozenset[str]:
    """Options (case kept: -x is not -X) and identifiers: facts that must match to the letter."""
    text = _INLINE_CODE.sub(lambda m: m.group().strip("`"), _strip_markers(text))
    found = set(_OPTION.findall(text))
    found.update(m.lower() for m in _IDENTIFIER.findall(text) if not _NUMBER.fullmatch(m))
    return frozenset(found)


def names(text: str) -> frozenset[str]:
    """Every name: exact ones, commands (`git revert`) and proper names (lower-cased)."""
    found = set(exact_names(text))
    text = _INLINE_CODE.sub(lambda m: m.group().strip("`"), _strip_markers(text))
    found.update(re.sub(r"\s+", " ", m.lower()) for m in _COMMAND.findall(text))
    found.update(m.lower() for m in _CAMEL.findall(text))
    for match in _CAPITALISED.finditer(text):
        word = match.group()
        if _SENTENCE_START.search(text[: match.start()]) or word.lower() in _STOP:
            continue  # an ordinary word that merely starts a sentence
        found.add(word.lower())
    return frozenset(found)


def _strip_markers(text: str) -> str:
    return _ITEM.sub("", _CITATION.sub("", text), count=1)


def name_units(text: str) -> list[str]:
    """Multi-word names (`Expense Portal`, "travel desk" in quotes), each kept as one unit."""
    units: list[str] = [m.strip("\"'“”") for m in re.findall(r"[\"“][^\"”]{3,60}[\"”]", text)]
    for match in re.finditer(r"\b[A-Z][\w-]*(?:\s+[A-Z][\w-]*)+", text):
        parts = match.group().split()
        if _SENTENCE_START.search(text[: match.start()]) and parts[0].lower() in _STOP:
            parts = parts[1:]  # "How Git Sync ..." -> "Git Sync"
        if len(parts) >= 2:
            units.append(" ".join(parts))
    return [u for u in dict.fromkeys(units) if len(u.split()) >= 2]


def stem_sequence(text: str) -> tuple[str, ...]:
    return tuple(_stemmer().stemWords(words(text)))


def missing_units(question: str, material: list[str]) -> list[str]:
    """The question's multi-word names whose words never appear together, in order, in the
    material (each word may appear elsewhere: that is not the name)."""
    missing = []
    sequences = [" " + " ".join(stem_sequence(m)) + " " for m in material]
    for unit in name_units(question):
        wanted = " " + " ".join(stem_sequence(unit)) + " "
        if not any(wanted in seq for seq in sequences):
            missing.append(unit)
    return missing


def word_forms(word: str) -> frozenset[str]:
    """Stems a word may match in the material: its own and, a common prefix away, its base's
    (`reinstall` finds `install`; `unstaged` finds `stage`)."""
    lowered = word.lower()
    forms = {_stemmer().stemWord(lowered)}
    for prefix in _PREFIXES:
        rest = lowered[len(prefix) :].lstrip("-")
        if lowered.startswith(prefix) and len(rest) >= 4:
            forms.add(_stemmer().stemWord(rest))
    return frozenset(forms)
