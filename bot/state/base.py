"""What the bot remembers: conversation turns, claimed events, rate-limit windows, feedback.

This module is the interface (`StateStore`) and the records it holds; `bot.state.memory` is an
in-memory implementation for one-shot runs and `bot.state.sql.SqlStateStore` the persistent one, through SQLAlchemy's async
engine: SQLite under DATA_DIR for one process, PostgreSQL (`STATE_URL=postgresql+asyncpg://...`)
shared by several replicas. Every write that decides something between replicas (claiming an
event, counting a rate-limit window) is a single atomic statement there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Protocol

#: Bumped with every change to the stored tables; `SqlStateStore.start` migrates older ones.
SCHEMA_VERSION = 3
CLAIM_TTL_S = 24 * 3600


class StateUnavailable(RuntimeError):
    """The store cannot be reached; callers degrade instead of failing the user."""


class StateRejected(RuntimeError):
    """The store is up but refused one record (its data, not the store's health): that record
    is lost, nothing else is. The message names the error's kind only, never the text."""


#: Control characters (C0 but newline and tab, DEL, C1): PostgreSQL refuses NUL in text, and
#: the rest is what a terminal acts on instead of showing when an admin reads them back.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Text as a store keeps it: control characters but newline and tab removed, a surrogate
    with no partner replaced by U+FFFD (UTF-8 cannot encode it), a split pair joined."""
    if _SURROGATE.search(text):
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return _CONTROL.sub("", text)


@dataclass(frozen=True)
class Turn:
    question: str
    answer: str
    focus: str
    topic: str
    created_at: float


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    count: int
    limit: int
    retry_after_s: float


@dataclass(frozen=True)
class Vote:
    platform: str
    message_ref: str
    user_id: str
    vote: int
    question: str
    answer: str
    chunk_ids: list[str]
    created_at: float
    #: The documents the answer cited ("title › section"), kept so the admins' report can name
    #: them after a re-ingest has replaced the chunks.
    sources: list[str] = field(default_factory=list)
    #: Who asked the question the vote rates (the voter may be someone else): `forget_user`
    #: of the asker removes the vote too, since it holds their question. "" when unknown.
    asker_id: str = ""
    #: The conversation the vote was cast in (the platform's id for that place and voter), so
    #: a report can be limited to one workspace; "" for votes stored before schema 3.
    conversation_id: str = ""


@dataclass(frozen=True)
class Scope:
    """Which records one admin's report covers: one platform's and, with `workspace`, only
    those from that workspace (a Discord guild's id, a Slack team's).

    A conversation id starts with "<platform>:<workspace>:", so the workspace's records are
    the ones whose conversation id starts with `prefix`. Records stored before they kept their
    conversation id (schema 3) have none: a platform's admin sees them, a workspace's does not.
    """

    platform: str
    workspace: str | None = None

    @property
    def prefix(self) -> str | None:
        """What the conversation ids of the workspace's records start with, or None."""
        return None if self.workspace is None else f"{self.platform}:{self.workspace}:"

    def covers(self, platform: str, conversation_id: str) -> bool:
        """Does the scope hold a record of `platform` asked in `conversation_id`?"""
        prefix = self.prefix
        return platform == self.platform and (prefix is None or conversation_id.startswith(prefix))


def clean_vote(vote: Vote) -> Vote:
    """`vote` with every text in it cleaned (`clean_text`)."""
    return replace(
        vote,
        platform=clean_text(vote.platform),
        message_ref=clean_text(vote.message_ref),
        user_id=clean_text(vote.user_id),
        question=clean_text(vote.question),
        answer=clean_text(vote.answer),
        chunk_ids=[clean_text(c) for c in vote.chunk_ids],
        sources=[clean_text(s) for s in vote.sources],
        asker_id=clean_text(vote.asker_id),
        conversation_id=clean_text(vote.conversation_id),
    )


class StateStore(Protocol):
    """What the advisor and the adapters need from shared state. A call raises
    `StateUnavailable` when the store cannot be reached, `StateRejected` when it refuses the
    one record written."""

    async def start(self) -> None: ...
    async def close(self) -> None: ...
    async def recent_turns(self, conversation_id: str, limit: int, idle_s: float) -> list[Turn]: ...
    async def record_exchange(
        self,
        conversation_id: str,
        user_id: str,
        platform: str,
        question: str,
        answer: str | None,
        *,
        focus: str = "",
        topic: str = "",
        abstained: bool = False,
        kind: str = "answer",
    ) -> None: ...
    async def reset_conversation(self, conversation_id: str) -> None: ...
    async def claim(self, key: str, ttl_s: float = CLAIM_TTL_S) -> bool: ...
    async def claimed(self, key: str, ttl_s: float = CLAIM_TTL_S) -> bool: ...
    async def hit_rate(self, user_key: str, limit: int, window_s: int = 60) -> RateDecision: ...
    async def record_vote(self, vote: Vote) -> None: ...
    async def votes(self, since: float = 0.0, scope: Scope | None = None) -> list[Vote]: ...
    async def declined(self, since: float = 0.0, scope: Scope | None = None) -> list[str]: ...
    async def forget_user(self, user_id: str) -> int: ...
    async def purge(self, retention_days: float, vote_retention_days: float = 0) -> int: ...
