"""The shared store hanging instead of refusing: state calls must still fail in seconds."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.state import StateUnavailable
from bot.state.sql import PG_TIMEOUT_S, SqlStateStore
from tests.replicas.replica_harness import NEEDS_POSTGRES, PrivatePostgres

pytestmark = NEEDS_POSTGRES


async def test_a_hung_postgres_fails_state_calls_in_seconds_and_claims_work_once_it_is_back(
    private_postgres: PrivatePostgres,
) -> None:
    store = SqlStateStore(private_postgres.url)
    await store.start()
    try:
        assert await store.claim("hung:before")
        private_postgres.freeze()
        try:
            started = time.monotonic()
            # A pooled connection (its pre-ping hangs) and a new one (its connect hangs).
            # (A call still waiting after 30 s fails the test with TimeoutError.)
            with pytest.raises(StateUnavailable):
                await asyncio.wait_for(store.claim("hung:during"), 30)
            with pytest.raises(StateUnavailable):
                await asyncio.wait_for(store.hit_rate("slack:U0HUNG", 10), 30)
            elapsed = time.monotonic() - started
        finally:
            private_postgres.thaw()
        assert elapsed < 4 * PG_TIMEOUT_S + 2, f"state calls took {elapsed:.1f} s"
        # Back by itself: the key claimed before is still taken, a new one is claimed once.
        assert not await store.claim("hung:before")
        assert await store.claim("hung:after")
        assert not await store.claim("hung:after")
    finally:
        await store.close()
