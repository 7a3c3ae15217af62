"""What the chat service and the surfaces speak in: the commands a text asks for, a message as
a surface received it, and the typed outcomes the service returns for the surface to render.

Types only, and the vote's compact form (`Feedback.pack`): the rules are `service.py`'s, the
words `phrases.py`'s.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.advisor.models import Answer

#: Answer kinds a user can rate: real answers and declines (a "not helpful" decline tells the
#: admins what the documents are missing). Errors, help and empty questions are not rated.
RATED_KINDS = frozenset({"answer", "out_of_scope"})

Platform = Literal["slack", "discord", "console"]


@dataclass(frozen=True)
class RateLimited:
    """The user asked too often: told to wait `seconds` (at least one)."""

    seconds: int
    limit: int
    #: The language the notice is said in (set by `handle_message`).
    language: str = "ko"


@dataclass(frozen=True)
class ReingestDone:
    summary: dict[str, Any]


@dataclass(frozen=True)
class ReingestFailed:
    ref: str


@dataclass(frozen=True)
class ReingestRefused:
    """Another process (a CLI ingest) held the ingest lock."""


ReingestOutcome = ReingestDone | ReingestFailed | ReingestRefused


@dataclass(frozen=True)
class ReportReady:
    text: str


@dataclass(frozen=True)
class ReportFailed:
    ref: str


@dataclass(frozen=True)
class VoteRecorded:
    vote: int


@dataclass(frozen=True)
class VoteFailed:
    ref: str


@dataclass(frozen=True)
class Feedback:
    """What a vote stores about the answer it rates. The answer carries it (a Slack button's
    value, a Discord message's embeds), so a click needs no lookup, also after a restart;
    each platform encodes it within its own limits (`pack` fits it into a length)."""

    question: str
    answer: str
    chunk_ids: list[str] = field(default_factory=list)
    #: The answer's language, which the thanks for the vote is said in.
    language: str = "ko"
    #: Who asked the question (the voter may be someone else); "" when unknown.
    asker: str = ""

    @classmethod
    def of(cls, question: str, answer: Answer, asker: str = "") -> Feedback:
        return cls(question, answer.text, list(answer.chunk_ids), answer.language, asker)

    def pack(self, limit: int) -> str:
        """The vote's data in at most `limit` characters (a platform's button value).

        JSON with the language, the cited chunk ids, the question and the answer text, the
        texts shortened so the whole value stays within `limit`.
        """
        data: dict[str, Any] = {
            "l": self.language,
            "u": self.asker[:64],
            "c": self.chunk_ids[:20],
            "q": self.question[:500],
            "a": self.answer,
        }
        value = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        while len(value) > limit:
            over = len(value) - limit
            if not data["a"] and not data["q"]:  # only the chunk ids are left to shorten
                data["c"] = data["c"][:-1]
            else:
                key = "a" if len(data["a"]) > 200 or not data["q"] else "q"
                data[key] = data[key][: max(0, len(data[key]) - over - 8)]
            value = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        return value

    @classmethod
    def unpack(cls, value: str) -> Feedback:
        """The inverse of `pack`; tolerant of values from older versions, or any text."""
        try:
            data = json.loads(value)
        except (TypeError, ValueError, RecursionError):  # RecursionError: "[[[[..." nested deep
            data = {}
        if not isinstance(data, dict):
            data = {}
        chunks = data.get("c")
        return cls(
            question=str(data.get("q") or ""),
            answer=str(data.get("a") or ""),
            chunk_ids=[str(c) for c in chunks] if isinstance(chunks, list) else [],
            language=str(data["l"]) if data.get("l") in ("ko", "en") else "ko",
            asker=str(data.get("u") or "")[:64],
        )


# -- commands, typed -----------------------------------------------------------------------
@dataclass(frozen=True)
class Help:
    """What the bot can answer and how to ask."""


@dataclass(frozen=True)
class Reingest:
    """Re-index the documents (admins)."""


@dataclass(frozen=True)
class ReportRequest:
    """The admins' report of the last `period_s` seconds; None when `value` is no period."""

    period_s: float | None
    value: str


@dataclass(frozen=True)
class Ask:
    """A question for the advisor."""

    question: str


Command = Help | Reingest | ReportRequest | Ask


# -- answering a message, typed --------------------------------------------------------------
@dataclass(frozen=True)
class Incoming:
    """A message for the advisor as a surface received it, the platform's details translated."""

    platform: Platform
    user_id: str
    conversation_id: str
    #: The question, the bot's mention and the platform's markup removed.
    text: str
    #: Exactly-once keys; every one must be won (a Slack mention comes as two events).
    claims: tuple[str, ...] = ()
    #: The user's locale, for the language of a reply to a text with no words.
    locale: object = None
    #: What the logs call answering it ("answering", "/career") and where it was.
    action: str = "answering"
    where: str = ""


@dataclass(frozen=True)
class Duplicate:
    """Another replica, or an earlier delivery of the same event, handles it."""


@dataclass(frozen=True)
class Empty:
    """Only the bot's mention, no question."""

    language: str


@dataclass(frozen=True)
class HelpAsked:
    """A help word ("help", "도움말"): what the bot can answer, not a decline."""

    language: str


@dataclass(frozen=True)
class Answered:
    """The advisor's answer (its turn already stored) and its career-path picture."""

    answer: Answer
    question: str
    picture: Picture | None = None
    #: Who asked (the platform's user id): a vote on the answer remembers it.
    asker: str = ""

    @property
    def ratable(self) -> bool:
        """Does the answer get the helpful / not helpful buttons?"""
        return self.answer.kind in RATED_KINDS


@dataclass(frozen=True)
class Failed:
    """Answering failed: logged with `ref`, which the apology shows."""

    ref: str
    language: str


#: What a message gets a reply for.
Replied = RateLimited | Empty | HelpAsked | Answered | Failed
MessageOutcome = Duplicate | Replied
#: Renders an outcome as the platform's reply and sends it.
SendReply = Callable[[Replied], Awaitable[None]]
#: What a surface shows, in the reply's language, while the advisor works (a reaction,
#: "typing…", a deferral). It may yield the conversation the answer belongs to when showing
#: the work makes one (Slack's "working…" message starts a thread), else None.
Working = Callable[[str], AbstractAsyncContextManager[str | None]]


# -- admin commands, run ---------------------------------------------------------------------
@dataclass(frozen=True)
class Refused:
    """Someone who is no admin asked for an admin `command` ("reingest", "report")."""

    command: str
    platform: Platform


@dataclass(frozen=True)
class ReingestStarted:
    """A re-ingest runs in the background; its outcome is announced when it ends."""


@dataclass(frozen=True)
class ReingestRunning:
    """Another re-ingest is running: nothing was started."""


AdminOutcome = (
    Duplicate
    | Refused
    | ReingestStarted
    | ReingestRunning
    | ReportRequest
    | ReportReady
    | ReportFailed
)


@dataclass(frozen=True)
class Picture:
    name: str
    data: bytes
