"""The message router: what a chat message asks for, read the same way on every surface.

Answer picks are not here: they arrive as button payloads, never as text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from bot.domain.conversation import Place

Kind = Literal[
    "ask", "help", "quiz", "progress", "stop", "report", "reminders", "upload", "model", "web"
]


@dataclass(frozen=True)
class Intent:
    """What a message asks for. `text` is the question (ask), the topic (quiz; empty: all
    the material) or the period (report); `on` is the switch for reminders."""

    kind: Kind
    text: str = ""
    on: bool = False


# "report", "report 7", "report for the last 90 days"; "report a phishing mail?" is a question
_REPORT_PERIOD = re.compile(
    r"(?:(?:for|over)\s+)?(?:the\s+)?(?:last\s+|past\s+)?(?:\d{1,4}\s*(?:days?|d)?)?[.!]?",
    re.IGNORECASE,
)
# "quiz me on git" / "quiz about leave": "me" only as a word, so "quiz meetings" keeps it
_TOPIC_LEAD = re.compile(r"^(?:me\b\s*)?(?:(?:on|about)\b\s*)?", re.IGNORECASE)
STOP_WORDS = frozenset({"stop", "stop quiz", "stop the quiz", "quit", "end quiz"})
REMINDER_WORDS = {
    "reminders off": False,
    "stop reminders": False,
    "no reminders": False,
    "reminders on": True,
    "start reminders": True,
}


def route(text: str, place: Place) -> Intent:
    """A leading command word; in a DM also a stop or reminders phrase (in a channel these
    are questions like any other); else the whole text is a question, and nothing is help."""
    stripped = text.strip()
    if place.direct:
        phrase = " ".join(stripped.lower().split()).rstrip(".!")
        if phrase in STOP_WORDS:
            return Intent("stop")
        if phrase in REMINDER_WORDS:
            return Intent("reminders", on=REMINDER_WORDS[phrase])
    word, _, rest = stripped.partition(" ")
    lowered = word.lower().rstrip("?!.")
    rest = rest.strip()
    if lowered == "ask":
        return Intent("ask", rest) if rest else Intent("help")
    if lowered == "quiz":
        return Intent("quiz", topic_of(rest))
    if lowered == "report":
        return Intent("report", rest) if _REPORT_PERIOD.fullmatch(rest) else Intent("ask", stripped)
    if lowered == "progress":
        return Intent("progress")
    if lowered == "model" and rest.lower().rstrip("?!.") == "status":
        return Intent("model")  # admins: the adapter that answers (the learning loop)
    if lowered == "upload":
        return Intent("upload")
    if lowered == "web" and not rest:
        return Intent("web")  # a sign-in link to the web console ("web pages?" is a question)
    if lowered == "help":
        return Intent("help")
    return Intent("ask", stripped) if stripped else Intent("help")


def topic_of(text: str) -> str:
    """ "me on git branches" (after "quiz") -> "git branches"; "me" or "" -> no topic."""
    return _TOPIC_LEAD.sub("", text.strip(), count=1).strip()
