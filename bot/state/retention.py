"""The retention period, applied in the background by long-running bots."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bot.state.base import StateStore, StateUnavailable

logger = logging.getLogger(__name__)


async def purge_expired(
    store: StateStore,
    retention_days: float,
    *,
    note_state: Callable[..., None],
    vote_retention_days: float = 0,
) -> None:
    """Purge once what is older than the retention periods; never raises. `note_state` hears
    whether the store answered (the process logs outages once)."""
    try:
        gone = await store.purge(retention_days, vote_retention_days)
        note_state(reachable=True)
        if gone:
            logger.info("retention: removed %d expired records", gone)
    except StateUnavailable:
        note_state(reachable=False)
    except Exception:
        logger.exception("retention purge failed")


async def apply_retention(
    store: StateStore,
    retention_days: float,
    *,
    note_state: Callable[..., None],
    vote_retention_days: float = 0,
    every_s: float = 3600.0,
) -> None:
    """`purge_expired` now and then every `every_s`, until cancelled."""
    while True:
        await purge_expired(
            store,
            retention_days,
            note_state=note_state,
            vote_retention_days=vote_retention_days,
        )
        await asyncio.sleep(every_s)
