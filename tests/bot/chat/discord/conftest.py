"""Fixtures: a fake Discord on 127.0.0.1 and the real discord.py bot connected to it."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from discord_harness import LATENCIES_MS, DownStore
from fake_discord import GUILD_ID, TOKEN, FakeDiscord

from bot.chat.discord_app import CareerBot, build_discord_bot
from bot.chat.service import ChatService, build_chat_service
from bot.state.sql import SqlStateStore
from core.settings import Settings

StartBot = Callable[..., Awaitable[CareerBot]]


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    """The fake; afterwards, checks that nothing the bot sent could ping anyone."""
    fake = FakeDiscord(token=TOKEN)
    await fake.start()
    yield fake
    await fake.close()
    for call in fake.message_calls():
        assert call.message_body.get("allowed_mentions") == {"parse": []}, (
            f"{call.method} {call.path} sent allowed_mentions "
            f"{call.message_body.get('allowed_mentions')!r}"
        )


#: A frozen "now" 15 s before the end of a one-minute rate-limit window.
FROZEN_NOW = 1_750_000_005.0


@pytest.fixture
async def frozen_state(advisor: Any, settings: Settings) -> AsyncIterator[SqlStateStore]:
    """The advisor's state store with a frozen clock, so rate-limit windows are exact."""
    store = SqlStateStore(settings.state_database_url, clock=lambda: FROZEN_NOW)
    await store.start()
    real, advisor.memory.store = advisor.memory.store, store
    yield store
    advisor.memory.store = real
    await store.close()


@pytest.fixture
def down_state(advisor: Any) -> Iterator[DownStore]:
    """The advisor's state store unreachable: every call raises StateUnavailable."""
    down = DownStore()
    real, advisor.memory.store = advisor.memory.store, down
    yield down
    advisor.memory.store = real


@pytest.fixture
def discord_settings(
    settings_factory: Callable[..., Settings], fake_discord: FakeDiscord
) -> Callable[..., Settings]:
    """Settings pointing the bot at the fake, syncing commands to the test guild."""

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "discord_token": TOKEN,
            "discord_api_base_url": fake_discord.api_base_url,
            "discord_gateway_url": fake_discord.gateway_url,
            "discord_guild_ids": GUILD_ID,
        } | overrides
        return settings_factory(**values)

    return build


@pytest.fixture
async def start_bot() -> AsyncIterator[StartBot]:
    """Start real `CareerBot`s against the fake: log in (REST), connect (gateway), ready.

    `reconnect=True` connects as `bot.start` does in production (reconnecting after any
    error); by default a failed connection ends the bot, so a test fails fast.
    """
    running: list[tuple[CareerBot, asyncio.Task[None]]] = []

    async def start(
        settings: Settings,
        advisor: Any,
        *,
        reconnect: bool = False,
        chat: ChatService | None = None,
    ) -> CareerBot:
        """`advisor` is a real one, whose index the chat service gets as in production,
        unless `chat` (a stand-in's service) is given."""
        if chat is None:
            knowledge, embedder = advisor.knowledge, advisor.retriever.embedder
            chat = build_chat_service(settings, advisor, knowledge=knowledge, embedder=embedder)
        bot = build_discord_bot(settings, advisor, chat=chat, guild_ready_timeout=0.05)
        await bot.login(TOKEN)
        task = asyncio.create_task(bot.connect(reconnect=reconnect))
        running.append((bot, task))
        ready = asyncio.create_task(bot.wait_until_ready())
        done, _ = await asyncio.wait({task, ready}, timeout=15, return_when="FIRST_COMPLETED")
        if task in done:
            ready.cancel()
            task.result()
        assert ready in done, "the bot did not become ready"
        return bot

    yield start
    for bot, task in running:
        await bot.close()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(task, 5)


@pytest.fixture
async def career_bot(
    start_bot: StartBot, discord_settings: Callable[..., Settings], advisor: Any
) -> CareerBot:
    """The bot with a real advisor over the session index."""
    return await start_bot(discord_settings(), advisor)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if LATENCIES_MS:
        terminalreporter.write_line(
            f"discord: MESSAGE_CREATE -> reply POST, median "
            f"{statistics.median(LATENCIES_MS):.1f} ms (n={len(LATENCIES_MS)}, "
            f"max {max(LATENCIES_MS):.1f} ms)"
        )
