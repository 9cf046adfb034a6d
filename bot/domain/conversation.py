"""Chat rules shared by every surface: who is asking where, what they may see, and the
words each reply and error becomes (what a message asks for is `bot.domain.router`)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

EVERYONE = "everyone"


@dataclass(frozen=True)
class Actor:
    """A person on a platform ("slack" or "teams")."""

    platform: str
    user_id: str
    team_id: str = ""
    name: str = ""
    # the platform itself vouches for them (a Slack workspace admin or owner)
    platform_admin: bool = False

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.user_id}"


@dataclass(frozen=True)
class Place:
    """Where a message was posted; `thread` is the root of its thread (empty: none)."""

    platform: str
    channel: str
    thread: str = ""
    direct: bool = False  # a DM / personal chat: only the asker sees the answer

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.channel}"

    @property
    def thread_key(self) -> str:
        return f"{self.platform}:{self.channel}:{self.thread}"


def audiences_for(
    place: Place, channel_groups: Iterable[str], asker_groups: Iterable[str]
) -> tuple[str, ...]:
    """The material an answer may use. A channel answer is seen by the whole channel, so
    it uses only what the channel is allowed; a DM answer what the asker is allowed."""
    groups = set(asker_groups if place.direct else channel_groups)
    return tuple(sorted(groups | {EVERYONE}))


def is_admin(actor: Actor, admins: Collection[str]) -> bool:
    """`admins` holds "platform:user_id" keys (LEARNLOOP_ADMINS); an adapter may also
    vouch for a platform admin (`Actor.platform_admin`)."""
    return actor.platform_admin or actor.key in admins


REMINDERS_SET = {
    True: "Daily review reminders are on: I'll tell you when reviews are due.",
    False: "Daily review reminders are off. Say *reminders on* to have them back.",
}


HELP = (
    "I answer questions from your company's training material, with sources.\n"
    "• Ask me anything: mention me in a channel, or write to me here.\n"
    "• Reply in a thread where I answered to follow up.\n"
    "• *quiz* (or *quiz me on <topic>*): practise with questions from the material.\n"
    "• *progress*: see what you have learned and what to review.\n"
    "• *reminders off* / *reminders on*: a daily note when reviews are due.\n"
    "• Admins: share a file with me (PDF, Word, PowerPoint, HTML, Markdown, text) to add it.\n"
    "• Admins: *report* (or *report 7* for the last week): accuracy per topic, gaps, a chart.\n"
    "• *web*: a sign-in link to LearnLoop's web console (chat, and admins' material pages).\n"
    "• Rate answers with 👍 / 👎 or suggest a correction: it makes me better."
)

# "web": a one-time sign-in link, only in a DM (anyone in a channel could use it)
WEB_LINK = (
    "Your sign-in link to LearnLoop's web console: {url}\n"
    "It works once, for 10 minutes. Don't share it: it signs in as you."
)
WEB_IN_DM = "I send sign-in links to the web console only in a direct message: say *web* there."
WEB_NOT_SET_UP = "The web console is not set up here: an admin runs `learnloop web`."

# a surface built without the report service (the chat processes always have one)
REPORTS_IN_TERMINAL = "Reports in chat are not set up here: run `learnloop report` in a terminal."
# how a message ends whose answer stopped half-way because its process died
INTERRUPTED = "(This answer was interrupted — please ask again.)"
INTERRUPTED_AGAIN = "(This answer was interrupted — answering again below.)"
# a question whose answering died with its process is taken up again at most this often, so
# one that kills every process that answers it (a poison message) stops there
ANSWERED_AGAIN_AT_MOST = 2

# one place where error codes become words a person understands
FRIENDLY = {
    "model_unavailable": "I can't reach my language model right now. Please try again soon.",
    "index_unavailable": "I can't reach the training material right now. Please try again soon.",
    "store_unavailable": "My database is not reachable right now. Please try again soon.",
    "broker_unavailable": "I saved your request but couldn't queue it yet; it will be sent soon.",
    "not_allowed": "Only LearnLoop admins can do that.",
    "unsupported_upload": "I can't add that file.",
    "unknown_answer": "I couldn't find that answer any more; please ask again.",
    "stale_question": "That question is from an earlier quiz; here is where you are now.",
    "no_material": "I have no material to quiz you on yet (on that topic).",
    "rate_limited": "You asked for that too often; please try again in a few minutes.",
    "sign_in_refused": "That sign-in link is used or expired; ask me for a new one (say *web*).",
}
DEFAULT_FRIENDLY = "Something went wrong on my side. Please try again."


def friendly(code: str, detail: str = "") -> str:
    """The message a person sees for an error code (with its detail where it helps)."""
    base = FRIENDLY.get(code, DEFAULT_FRIENDLY)
    if detail and code in ("unsupported_upload", "broker_unavailable"):
        return f"{base} {detail}"
    return base
