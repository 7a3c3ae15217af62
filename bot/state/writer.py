"""Conversation memory written behind the answer, and the one outage log of a process.

The advisor hands each turn to a `TurnWriter` after composing its answer; the write runs in
the background. A later read of the same conversation waits for it, and a surface that
several replicas serve waits for it (`recorded`) before posting, so a follow-up finds the turn
wherever it lands. Whoever sees the store go down or come back tells the writer
(`note_state`): the process logs one warning per outage and one when it is over. A record the
store refuses (`StateRejected`: its data, not an outage) is logged as an error of its own.
"""

from __future__ import annotations

import asyncio
import logging

from bot.state.base import StateRejected, StateStore, StateUnavailable, Turn

logger = logging.getLogger(__name__)


class TurnWriter:
    """Reads and write-behind writes of conversation turns over one state store."""

    def __init__(self, store: StateStore, *, turns: int, idle_s: float) -> None:
        """`turns` is how many recent turns a read returns, `idle_s` how long a conversation
        may rest before it is forgotten."""
        self.store = store
        self._turns = turns
        self._idle_s = idle_s
        self._down = False
        self._pending: dict[str, asyncio.Task[None]] = {}

    async def recent(self, conversation_id: str) -> list[Turn]:
        """The conversation's recent turns, after its pending write; none when the store is down."""
        await self.recorded(conversation_id)
        try:
            turns = await self.store.recent_turns(conversation_id, self._turns, self._idle_s)
        except StateUnavailable:
            self.note_state(reachable=False)
            return []
        self.note_state(reachable=True)
        return turns

    def record(
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
        """Store one exchange in the background; a failure is logged, never raised."""

        async def write() -> None:
            try:
                await self.store.record_exchange(
                    conversation_id,
                    user_id,
                    platform,
                    question,
                    answer,
                    focus=focus,
                    topic=topic,
                    abstained=abstained,
                    kind=kind,
                )
            except StateUnavailable:
                self.note_state(reachable=False)
            except StateRejected as exc:
                logger.error("could not store the conversation turn: %s", exc)
            except Exception:
                logger.exception("could not store the conversation turn")
            finally:
                if self._pending.get(conversation_id) is task:
                    del self._pending[conversation_id]

        task = asyncio.create_task(write())
        self._pending[conversation_id] = task

    async def recorded(self, conversation_id: str) -> None:
        """Wait until the conversation's latest turn is stored (or its write has failed)."""
        pending = self._pending.get(conversation_id)
        if pending is not None:
            await asyncio.gather(pending, return_exceptions=True)

    async def reset(self, conversation_id: str) -> None:
        """Forget the conversation (after its pending write, which would bring it back)."""
        await self.recorded(conversation_id)
        try:
            await self.store.reset_conversation(conversation_id)
        except StateUnavailable:
            self.note_state(reachable=False)

    async def flush(self) -> None:
        """Wait for every write still in flight (shutdown, tests)."""
        if self._pending:
            await asyncio.gather(*list(self._pending.values()), return_exceptions=True)

    async def close(self) -> None:
        """Finish pending writes, then release the state store."""
        await self.flush()
        await self.store.close()

    def note_state(self, *, reachable: bool) -> None:
        """The store answered (`reachable`) or did not: log the outage and its end once."""
        if reachable and self._down:
            logger.warning("state store reachable again: memory and de-duplication restored")
        elif not reachable and not self._down:
            logger.warning(
                "state store unreachable: answering without conversation memory, "
                "de-duplication or rate limits until it is back"
            )
        self._down = not reachable
