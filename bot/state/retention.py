"""The retention periods, applied now and then by whatever runs on a store (a bot, the console)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.state.base import StateStore, StateUnavailable

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Retention:
    """How long `store` keeps turns and question logs (`days`) and votes (`vote_days`, 0:
    kept); `note_state` hears whether the store answered (the process logs outages once)."""

    store: StateStore
    days: float
    vote_days: float
    note_state: Callable[..., None]

    async def purge(self) -> None:
        """Delete once what is older than the periods; never raises."""
        try:
            gone = await self.store.purge(self.days, self.vote_days)
            self.note_state(reachable=True)
            if gone:
                logger.info("retention: removed %d expired records", gone)
        except StateUnavailable:
            self.note_state(reachable=False)
        except Exception:
            logger.exception("retention purge failed")

    async def run(self, *, every_s: float = 3600.0, wait_first: bool = False) -> None:
        """`purge` now (or after `every_s` with `wait_first`) and every `every_s`, until
        cancelled."""
        if wait_first:
            await asyncio.sleep(every_s)
        while True:
            await self.purge()
            await asyncio.sleep(every_s)
