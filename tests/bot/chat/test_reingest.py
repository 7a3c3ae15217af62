"""The admins' re-ingest: ingest through `run_ingest`, its lock held elsewhere said as busy."""

from __future__ import annotations

from typing import Any

import pytest

import ingest
from bot.advisor.knowledge import KnowledgeBase
from bot.chat.reingest import ReingestBusy, make_reingest
from core.settings import Settings


async def test_a_held_ingest_lock_is_busy_and_the_served_index_is_left_alone(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def held(*args: Any, **kwargs: Any) -> Any:
        raise ingest.IngestBusy("another ingest holds the lock")

    monkeypatch.setattr(ingest, "run_ingest", held)
    knowledge = KnowledgeBase(settings, "unused")
    with pytest.raises(ReingestBusy, match="another ingest"):
        await make_reingest(settings, knowledge)()
    assert knowledge.snapshot is None  # nothing was refreshed
