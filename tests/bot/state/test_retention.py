"""The retention loop: purges on start, keeps going through outages, logs them through its owner."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.state import MemoryStateStore, StateUnavailable
from bot.state.retention import Retention


class FlakyStore(MemoryStateStore):
    """Down for the first purge, up afterwards; counts the purges."""

    def __init__(self) -> None:
        super().__init__()
        self.purges = 0
        self.second = asyncio.Event()

    async def purge(self, retention_days: float, vote_retention_days: float = 0) -> int:
        self.purges += 1
        if self.purges == 1:
            raise StateUnavailable("down")
        self.second.set()
        return await super().purge(retention_days, vote_retention_days)


async def test_retention_purges_and_reports_outages_to_its_owner() -> None:
    store = FlakyStore()
    heard: list[bool] = []

    def note_state(**kwargs: Any) -> None:
        heard.append(kwargs["reachable"])

    task = asyncio.create_task(Retention(store, 30, 0, note_state).run(every_s=0))
    await asyncio.wait_for(store.second.wait(), 10)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert heard[:2] == [False, True]
    assert store.purges >= 2
