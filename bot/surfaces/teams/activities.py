"""Teams activity -> LearnLoop's core types: who asks, where, what, which files."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from botbuilder.schema import Activity, Attachment

from bot.adapters.teams.conversations import PersonalChat
from bot.domain.conversation import Actor, Place

PLATFORM = "teams"
FILE_INFO = "application/vnd.microsoft.teams.file.download.info"
THREAD_MARK = ";messageid="
_TAGS = re.compile(r"<[^>]+>")


def actor_of(activity: Activity) -> Actor:
    """The person, by AAD object id (what LEARNLOOP_ADMINS lists), in their tenant."""
    sender = activity.from_property
    user_id = (sender.aad_object_id or sender.id) if sender else ""
    return Actor(
        PLATFORM, user_id or "", tenant_of(activity), (sender.name or "") if sender else ""
    )


def tenant_of(activity: Activity) -> str:
    """Teams puts the tenant in channelData and in the conversation as `tenantId`
    (botbuilder's model maps `tenantID`, so that one lands in additional_properties)."""
    tenant = (activity.channel_data or {}).get("tenant") or {}
    conversation = activity.conversation
    extra = (getattr(conversation, "additional_properties", None) or {}) if conversation else {}
    found = (
        tenant.get("id")
        or (conversation.tenant_id if conversation else "")
        or extra.get("tenantId")
    )
    return str(found or "")


def place_of(activity: Activity) -> Place:
    """A channel post's conversation id ends in ";messageid=<root>": the channel is the
    part before it (its audiences apply), the thread the root message."""
    conversation = activity.conversation
    conversation_id = str(conversation.id) if conversation is not None else ""
    kind = (conversation.conversation_type if conversation is not None else "") or "personal"
    channel, _, root = conversation_id.partition(THREAD_MARK)
    if kind == "personal":
        return Place(PLATFORM, conversation_id, direct=True)
    if kind == "channel":
        return Place(PLATFORM, channel, root or activity.reply_to_id or activity.id or "")
    return Place(PLATFORM, conversation_id)  # a group chat: no threads


def personal_chat(activity: Activity) -> PersonalChat:
    """Where a DM to the sender goes (this 1:1 chat), and the time zone Teams reports."""
    reference = activity.get_conversation_reference()
    reference.activity_id = None  # new with every message; a DM is a new message anyway
    return PersonalChat(reference.serialize(), (activity.local_timezone or "").strip())


def mentions_bot(activity: Activity) -> bool:
    bot_id = activity.recipient.id if activity.recipient else None
    return any(_mentioned_id(e) == bot_id for e in activity.entities or ())


def _mentioned_id(entity: Any) -> str | None:
    if (getattr(entity, "type", "") or "").lower() != "mention":
        return None
    props = getattr(entity, "additional_properties", None) or {}
    return (props.get("mentioned") or {}).get("id")


def question_text(activity: Activity) -> str:
    """The message text without the bot's @mention (and any markup Teams added)."""
    text = activity.text or ""
    bot_id = activity.recipient.id if activity.recipient else None
    for entity in activity.entities or ():
        if _mentioned_id(entity) == bot_id:
            props = getattr(entity, "additional_properties", None) or {}
            name = (props.get("mentioned") or {}).get("name") or ""
            for mention in {props.get("text") or "", f"<at>{name}</at>" if name else ""}:
                if mention:
                    text = text.replace(mention, " ")
    # other people's mentions keep their names: only the markup goes
    return " ".join(html.unescape(_TAGS.sub(" ", text)).split())


@dataclass(frozen=True)
class SharedFile:
    name: str
    download_url: str


def shared_files(activity: Activity) -> list[SharedFile]:
    """Files a person attached in a 1:1 chat (Teams sends a short-lived download URL)."""
    files = []
    for attachment in activity.attachments or ():
        if isinstance(attachment, Attachment) and attachment.content_type == FILE_INFO:
            content = attachment.content or {}
            files.append(SharedFile(attachment.name or "file", str(content.get("downloadUrl", ""))))
    return files
