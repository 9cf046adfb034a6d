"""SFT examples from answers people marked 👍 and from admins' corrections."""

from __future__ import annotations

from collections.abc import Sequence

from training.examples import Example, FeedbackItem, example
from training.prompt import build_messages


def usable(item: FeedbackItem, allowed: Sequence[str]) -> bool:
    """Trainable only if recorded with its context, seen publicly, and from allowed material."""
    if item.rating not in ("up", "correction") or not item.asker_audiences:
        return False
    if not item.place_public or not set(item.asker_audiences) <= set(allowed):
        return False
    return bool(item.passages) and all(p.visible_to(allowed) for p in item.passages)


def feedback_examples(items: Sequence[FeedbackItem], allowed: Sequence[str]) -> list[Example]:
    """The prompt the answer had, and the answer (or the admin's correction) as the reply."""
    out: list[Example] = []
    for item in items:
        if not usable(item, allowed):
            continue
        reply = item.correction if item.rating == "correction" else item.answer
        if not reply.strip():
            continue
        origin = "correction" if item.rating == "correction" else "thumbs_up"
        source = item.passages[0].source if item.passages else ""
        out.append(
            example(build_messages(item.question, item.passages), reply.strip(), origin, source)
        )
    return out
