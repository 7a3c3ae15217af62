"""The retention period, applied in the background by long-running bots."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bot.state.base import StateStore, StateUnavailable

logger = logging.getLogger(__name__)


async def apply_retention(
    store: StateStore,
    retention_days: float,
    *,
    note_state: Callable[..., None],
    every_s: float = 3600.0,
) -> None:
    """Purge what is older than `retention_days` now and then every `every_s`, until
    cancelled. `note_state` hears whether the store answered (the process logs outages once)."""
    while True:
        try:
            gone = await store.purge(retention_days)
            note_state(reachable=True)
            if gone:
                logger.info("retention: removed %d expired records", gone)
        except StateUnavailable:
            note_state(reachable=False)
        except Exception:
            logger.exception("retention purge failed")
        await asyncio.sleep(every_s)
