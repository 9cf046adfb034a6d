"""The answer prompt exactly as the service builds it, so adapters learn what they will see.

training/ may not import bot/, so the prompt lives here as a copy; a unit test holds it equal
to bot/domain/answering.py (any drift fails CI), and PROMPT_VERSION changes with its text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from training.examples import Passage

SYSTEM_PROMPT = (
    "You are LearnLoop, a workplace training assistant. Answer the employee's question "
    "using only the numbered passages from the training material. Cite the passages you "
    "use with their numbers in square brackets, like [1] or [2]. Be brief and concrete: "
    "two to four sentences. If the passages do not answer the question, say that the "
    "training material does not cover it."
)
REFUSAL = "The training material does not cover that, so I won't guess."
PROMPT_VERSION = hashlib.sha256(SYSTEM_PROMPT.encode()).hexdigest()[:12]


def build_messages(question: str, passages: Sequence[Passage]) -> list[dict[str, str]]:
    """System prompt, the passages numbered from 1 in the given order, then the question."""
    body = "\n\n".join(
        f"[{n}] {p.title}{' › ' + p.section if p.section else ''}\n{p.text}"
        for n, p in enumerate(passages, start=1)
    )
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": f"Passages:\n{body}\n\nQuestion: {question}"},
    ]
