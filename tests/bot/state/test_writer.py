"""Turns written behind the answer: a read waits for them, an outage is logged once."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from bot.state import MemoryStateStore, StateUnavailable
from bot.state.writer import TurnWriter


class SlowStore(MemoryStateStore):
    """Writes take a while, so a read right after one would miss it without waiting."""

    async def record_exchange(self, *args: Any, **kwargs: Any) -> None:
        await asyncio.sleep(0.05)
        await super().record_exchange(*args, **kwargs)


class DownStore(MemoryStateStore):
    async def recent_turns(self, *args: Any, **kwargs: Any) -> Any:
        raise StateUnavailable("down")

    async def record_exchange(self, *args: Any, **kwargs: Any) -> None:
        raise StateUnavailable("down")


async def test_a_read_right_after_a_write_finds_the_turn() -> None:
    writer = TurnWriter(SlowStore(), turns=4, idle_s=3600)
    writer.record("c1", "U1", "slack", "팀 리더는?", "답", focus="team leader")
    [turn] = await writer.recent("c1")
    assert (turn.question, turn.focus) == ("팀 리더는?", "team leader")
    writer.record("c1", "U1", "slack", "그 역할의 기술은?", None, abstained=True)
    await writer.flush()
    await writer.reset("c1")
    assert await writer.recent("c1") == []


async def test_an_outage_is_logged_once_and_its_end_once(caplog: pytest.LogCaptureFixture) -> None:
    writer = TurnWriter(DownStore(), turns=4, idle_s=3600)
    writer.record("c1", "U1", "slack", "q", "a")
    assert await writer.recent("c1") == []  # answers go on without memory
    writer.note_state(reachable=False)
    writer.note_state(reachable=True)
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert [m.split(":")[0] for m in messages] == [
        "state store unreachable",
        "state store reachable again",
    ]
