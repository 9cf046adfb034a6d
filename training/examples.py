"""The nouns of a training set: passages and feedback in, chat examples out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

EVERYONE = "everyone"


@dataclass(frozen=True)
class Passage:
    """A chunk of training material with who may see it and the document version it is from."""

    source: str
    title: str
    section: str
    text: str
    audiences: tuple[str, ...] = (EVERYONE,)
    doc_version: str = ""

    def visible_to(self, allowed: Sequence[str]) -> bool:
        return bool(set(self.audiences) & set(allowed))


@dataclass(frozen=True)
class FeedbackItem:
    """An answer with its 👍 or correction, as the store recorded it (training/ sees no bot/).

    `asker_audiences` empty means the answer predates audience recording: never trained on.
    """

    question: str
    answer: str
    rating: str  # up | down | correction
    passages: tuple[Passage, ...]
    correction: str = ""
    asker_audiences: tuple[str, ...] = ()
    place_public: bool = False  # answered where everyone could see it (a public channel)
    learner: str = ""
    answer_id: str = ""


@dataclass(frozen=True)
class Example:
    """One supervised example: the prompt messages and the reply the model should give."""

    prompt: tuple[tuple[str, str], ...]  # (role, content) pairs
    completion: str
    origin: str  # material | refusal | thumbs_up | correction
    source: str = ""
    keys: tuple[str, ...] = ()  # strings a good reply contains (held-out scoring)

    def messages(self) -> list[dict[str, str]]:
        return [{"role": r, "content": c} for r, c in self.prompt]

    def to_json(self) -> dict[str, object]:
        return {
            "prompt": self.messages(),
            "completion": [{"role": "assistant", "content": self.completion}],
            "origin": self.origin,
            "source": self.source,
            "keys": list(self.keys),
        }


def example(
    messages: Sequence[dict[str, str]],
    completion: str,
    origin: str,
    source: str = "",
    keys: Sequence[str] = (),
) -> Example:
    return Example(
        prompt=tuple((m["role"], m["content"]) for m in messages),
        completion=completion,
        origin=origin,
        source=source,
        keys=tuple(keys),
    )
