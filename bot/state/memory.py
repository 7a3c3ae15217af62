"""`StateStore` in process memory, for one-shot runs and tests."""

from __future__ import annotations

import time
from typing import Any

from bot.state.base import CLAIM_TTL_S, RateDecision, Scope, Turn, Vote, clean_text, clean_vote


class MemoryStateStore:
    """`StateStore` in process memory: for one-shot runs (`career-bot ask`, `eval`) that must
    not touch, or wait for, a real store. Forgets everything when the process ends. Keeps text
    cleaned as the SQL store does (`clean_text`), so both read back the same."""

    def __init__(self, *, clock: Any = time.time) -> None:
        self._clock = clock
        self._turns: dict[str, list[tuple[str, Turn]]] = {}
        self._claims: dict[str, float] = {}
        self._windows: dict[tuple[str, int], int] = {}
        self._votes: dict[tuple[str, str, str], Vote] = {}
        #: (user id, question, abstained, when, platform, conversation id)
        self._asks: list[tuple[str, str, bool, float, str, str]] = []

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

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
    ) -> None:
        now = self._clock()
        conversation_id, user_id, question = map(clean_text, (conversation_id, user_id, question))
        if answer is not None:
            turn = Turn(question, clean_text(answer), clean_text(focus), clean_text(topic), now)
            self._turns.setdefault(conversation_id, []).append((user_id, turn))
        self._asks.append(
            (user_id, question, abstained, now, clean_text(platform), conversation_id)
        )

    async def recent_turns(self, conversation_id: str, limit: int, idle_s: float) -> list[Turn]:
        turns = [t for _, t in self._turns.get(clean_text(conversation_id), [])][-limit:]
        if not turns or self._clock() - turns[-1].created_at > idle_s:
            return []
        return turns

    async def reset_conversation(self, conversation_id: str) -> None:
        self._turns.pop(clean_text(conversation_id), None)

    async def claim(self, key: str, ttl_s: float = CLAIM_TTL_S) -> bool:
        now = self._clock()
        key = clean_text(key)[:300]
        if now - self._claims.get(key, -1e18) < ttl_s:
            return False
        self._claims[key] = now
        return True

    async def claimed(self, key: str, ttl_s: float = CLAIM_TTL_S) -> bool:
        return self._clock() - self._claims.get(clean_text(key)[:300], -1e18) < ttl_s

    async def hit_rate(self, user_key: str, limit: int, window_s: int = 60) -> RateDecision:
        now = self._clock()
        start = int(now // window_s) * window_s
        user_key = clean_text(user_key)
        count = self._windows.get((user_key, start), 0) + 1
        self._windows[(user_key, start)] = count
        return RateDecision(count <= limit, count, limit, max(0.0, start + window_s - now))

    async def record_vote(self, vote: Vote) -> None:
        vote = clean_vote(vote)
        self._votes[(vote.platform, vote.message_ref, vote.user_id)] = vote

    async def votes(self, since: float = 0.0, scope: Scope | None = None) -> list[Vote]:
        return [
            v
            for v in self._votes.values()
            if v.created_at >= since
            and (scope is None or scope.covers(v.platform, v.conversation_id))
        ]

    async def declined(self, since: float = 0.0, scope: Scope | None = None) -> list[str]:
        return [
            q
            for _, q, abstained, at, platform, conversation_id in self._asks
            if abstained
            and at >= since
            and (scope is None or scope.covers(platform, conversation_id))
        ]

    async def forget_user(self, user_id: str) -> int:
        user_id = clean_text(user_id)
        gone = 0
        for conv in list(self._turns):
            kept = [(u, t) for u, t in self._turns[conv] if u != user_id]
            gone += len(self._turns[conv]) - len(kept)
            self._turns[conv] = kept
        votes = [k for k, v in self._votes.items() if user_id in (v.user_id, v.asker_id)]
        for k in votes:
            del self._votes[k]
        asks = len(self._asks)
        self._asks = [a for a in self._asks if a[0] != user_id]
        return gone + len(votes) + asks - len(self._asks)

    async def purge(self, retention_days: float, vote_retention_days: float = 0) -> int:
        now = self._clock()
        cutoff = now - retention_days * 86400
        gone = 0
        if vote_retention_days:
            stale = [
                key
                for key, vote in self._votes.items()
                if vote.created_at < now - vote_retention_days * 86400
            ]
            for key in stale:
                del self._votes[key]
            gone += len(stale)
        for conv in list(self._turns):
            kept = [(u, t) for u, t in self._turns[conv] if t.created_at >= cutoff]
            gone += len(self._turns[conv]) - len(kept)
            self._turns[conv] = kept
        asks = len(self._asks)
        self._asks = [a for a in self._asks if a[3] >= cutoff]
        expired = [k for k, at in self._claims.items() if now - at >= CLAIM_TTL_S]
        for k in expired:
            del self._claims[k]
        return gone + asks - len(self._asks) + len(expired)
