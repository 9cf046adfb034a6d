"""Grounded examples from the material itself: questions about a passage, answered by it."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from training.examples import Example, Passage, example
from training.prompt import REFUSAL, build_messages
from training.sentences import definitions, heading, key_terms, sentences, with_citation

# Questions no workplace training material is expected to answer; each is used only when
# none of its distinctive words occurs anywhere in the material (so never a covered topic).
OFF_TOPIC = (
    "What's the weather going to be like in Lisbon tomorrow?",
    "Who won the football world cup in 1998?",
    "Can you recommend a good recipe for banana bread?",
    "What is the capital city of Australia?",
    "How many moons does Jupiter have?",
    "What time does the cafeteria open on Saturdays?",
    "Which stocks should I buy this quarter?",
    "How do I renew my passport?",
    "What is the best hiking trail near Denver?",
    "Who painted the ceiling of the Sistine Chapel?",
    "How long should I boil an egg for a runny yolk?",
    "What are the lyrics of the national anthem of Brazil?",
)


def question_answers(passage: Passage) -> list[tuple[str, list[str]]]:
    """(question, the passage's sentences that answer it) from headings, definitions, terms."""
    pairs: list[tuple[str, list[str]]] = []
    where = passage.title or passage.source
    for term, explanation in definitions(passage.text):
        if term.startswith("-"):
            pairs.append((f"What does the {term} option do in {where}?", explanation))
        else:
            pairs.append((f"What is {term}?", explanation))
    said = sentences(passage.text)
    for term in key_terms(passage.text):
        about = [s for s in said if term in s][:2]
        if about and not any(term == t for t, _ in definitions(passage.text)):
            pairs.append((f"What does the material say about {term}?", about))
    topic = heading(passage.section)
    if topic and said:
        pairs.append((f"What should I know about {topic} in {where}?", said[:2]))
    return [(q, a) for q, a in pairs if a]


def grounded_examples(
    passages: Sequence[Passage], seed: int = 0, per_prompt: int = 3, per_passage: int = 2
) -> list[Example]:
    """Each passage's questions with distractor passages; the answer cites the right number."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible shuffle, not a secret
    out: list[Example] = []
    for target in passages:
        for question, answer in question_answers(target)[:per_passage]:
            shown = _distractors(passages, target, per_prompt - 1, rng)
            shown.insert(rng.randrange(len(shown) + 1), target)
            n = shown.index(target) + 1
            reply = " ".join(with_citation(s, n) for s in answer)
            messages = build_messages(question, shown)
            keys = key_string(question, answer)
            out.append(example(messages, reply, "material", target.source, keys))
    return out


def refusal_examples(
    passages: Sequence[Passage], count: int, seed: int = 0, per_prompt: int = 3
) -> list[Example]:
    """Out-of-material questions shown real passages, answered with the service's refusal."""
    rng = random.Random(seed + 1)  # noqa: S311 - a reproducible shuffle
    corpus = " ".join(p.text for p in passages).lower()
    usable = [q for q in OFF_TOPIC if not any(w in corpus for w in _distinctive(q))]
    out: list[Example] = []
    for k in range(min(count, len(usable))):
        shown = rng.sample(list(passages), min(per_prompt, len(passages)))
        out.append(example(build_messages(usable[k], shown), REFUSAL, "refusal"))
    return out


def _distractors(
    passages: Sequence[Passage], target: Passage, count: int, rng: random.Random
) -> list[Passage]:
    """Up to `count` other passages, from other documents when there are any (drawn, not
    filtered, so a large corpus costs the same per example)."""
    picked: list[Passage] = []
    for _ in range(count * 20):
        if len(picked) == count:
            break
        other = passages[rng.randrange(len(passages))]
        if other != target and other not in picked and other.source != target.source:
            picked.append(other)
    if len(picked) < count:  # one document only: passages from the same one will do
        rest = [p for p in passages if p != target and p not in picked]
        picked += rest[: count - len(picked)]
    return picked


def key_string(question: str, answer: Sequence[str]) -> tuple[str, ...]:
    """The longest word of the answer the question does not already say: the fact to hold."""
    asked = question.lower()
    words = [w for w in re.findall(r"[\w-]{5,}", answer[0]) if w.lower() not in asked]
    return (max(words, key=len),) if words else ()


def _distinctive(question: str) -> list[str]:
    return [w for w in re.findall(r"[a-z]+", question.lower()) if len(w) >= 5]
