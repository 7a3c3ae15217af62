"""What Slack sends, read into typed values: a person's message, a `/career` command, a click.

Pure functions, no I/O, tolerant of missing fields. The raw payloads go no further: the
listeners in `bot.chat.slack_app` act on these values, `bot.chat.slack_blocks` builds the
replies. Slack's ids make the conversation ids ("slack:team:channel:thread") and the
exactly-once keys ("slack:event:..", "slack:msg:..", "slack:cmd:..") the chat service keeps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.chat.outcomes import Feedback
from bot.chat.slack_blocks import ACTION_HELPFUL, plain_question

#: Message subtypes written by a person; everything else (edits, deletions, joins, bot
#: messages, ...) is ignored.
PERSON_SUBTYPES = frozenset({None, "file_share", "thread_broadcast", "me_message"})


@dataclass
class Target:
    """Where a reply goes and which conversation it belongs to."""

    team: str
    channel: str
    user: str
    conversation_id: str
    thread_ts: str | None  # None: top level (a DM)
    source_ts: str | None = None  # the user's message (for the progress reaction)
    is_dm: bool = False


@dataclass(frozen=True)
class PersonMessage:
    """A person's message in an event (`app_mention` or `message`), for the bot or not."""

    target: Target
    #: The question: the bot's mention removed, Slack's markup unwrapped.
    question: str
    #: A mention arrives twice (app_mention and message, different event ids, same
    #: channel+ts) and retries repeat the event id: both claims must be won.
    claims: tuple[str, ...]
    #: Said to the bot: a DM or a mention of it.
    addressed: bool
    #: In a channel thread: the claim key of the thread's first message, by which a
    #: follow-up is known to be in a thread the bot answered in.
    thread_key: str | None = None


def read_message(body: dict[str, Any], bot_user: str | None) -> PersonMessage | None:
    """The person's message an event carries; None for anything else (edits, joins, bot
    messages, the bot's own, an event missing its user, channel or ts)."""
    event = body.get("event") or {}
    if event.get("subtype") not in PERSON_SUBTYPES or event.get("bot_id"):
        return None
    user, channel, ts = event.get("user"), event.get("channel"), event.get("ts")
    if not (user and channel and ts) or user == bot_user:
        return None
    raw = event.get("text") or ""
    team = str(body.get("team_id") or event.get("team") or "T")
    thread_ts = event.get("thread_ts")
    event_id = body.get("event_id")
    claims = (*((f"slack:event:{event_id}",) if event_id else ()), f"slack:msg:{channel}:{ts}")
    question = plain_question(raw, bot_user)
    if event.get("channel_type") == "im":
        conv = f"slack:{team}:{channel}" + (f":{thread_ts}" if thread_ts else "")
        target = Target(team, channel, user, conv, thread_ts, ts, is_dm=True)
        return PersonMessage(target, question, claims, addressed=True)
    root = thread_ts or ts
    target = Target(team, channel, user, f"slack:{team}:{channel}:{root}", root, ts)
    mentioned = event.get("type") == "app_mention" or bool(bot_user and f"<@{bot_user}" in raw)
    thread_key = f"slack:msg:{channel}:{root}" if thread_ts else None
    return PersonMessage(target, question, claims, mentioned, thread_key)


@dataclass(frozen=True)
class CommandOrigin:
    """Who sent a `/career` command, and where."""

    team: str
    channel: str
    user: str
    #: The exactly-once key of the command (Slack's trigger id), when Slack sent one.
    claims: tuple[str, ...]


def read_command(body: dict[str, Any]) -> CommandOrigin:
    trigger = body.get("trigger_id")
    return CommandOrigin(
        team=str(body.get("team_id") or "T"),
        channel=str(body.get("channel_id") or ""),
        user=str(body.get("user_id") or ""),
        claims=(f"slack:cmd:{trigger}",) if trigger else (),
    )


@dataclass(frozen=True)
class VoteClick:
    """A click on a feedback button: the vote and the answer it rates."""

    rated: Feedback
    vote: int  # +1 helpful, -1 not helpful
    user: str
    channel: str
    #: "channel:ts" of the rated message.
    message_ref: str
    thread_ts: str | None
    #: Can the acknowledgement go through the click's response_url?
    respondable: bool


def read_click(body: dict[str, Any]) -> VoteClick:
    action = (body.get("actions") or [{}])[0]
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel = str((body.get("channel") or {}).get("id") or container.get("channel_id") or "")
    message_ts = str(container.get("message_ts") or message.get("ts") or "")
    return VoteClick(
        rated=Feedback.unpack(action.get("value") or ""),
        vote=1 if action.get("action_id") == ACTION_HELPFUL else -1,
        user=str((body.get("user") or {}).get("id") or ""),
        channel=channel,
        message_ref=f"{channel}:{message_ts}",
        thread_ts=message.get("thread_ts"),
        respondable=bool(body.get("response_url")),
    )
