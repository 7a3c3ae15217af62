"""Gateway faults: the real discord.py client against the fake gateway asking it to reconnect
(op 7), dropping its socket, invalidating its session (op 9) and refusing a RESUME.

The bot runs with `reconnect=True`, as `bot.start` runs it in production. Every test checks
that the bot keeps answering and that no message is answered twice or lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from discord_harness import ask, guild_message, is_reply_to, replies_to, settle
from fake_discord import TOKEN, FakeDiscord, GatewayConnection, GatewaySession, RestCall

from bot.chat.discord_app import CareerBot
from core.settings import Settings

if TYPE_CHECKING:
    # Only for the annotation: at run time `conftest` is whichever conftest.py pytest
    # imported last (tests/server's when both directories are collected).
    from conftest import StartBot


@dataclass
class Connected:
    """A bot connected to the fake gateway: its session and the live connection."""

    bot: CareerBot
    session: GatewaySession
    live: GatewayConnection


@pytest.fixture
async def connected(
    start_bot: StartBot,
    discord_settings: Callable[..., Settings],
    advisor: Any,
    fake_discord: FakeDiscord,
) -> Connected:
    """The bot started with `reconnect=True`, as `bot.start` runs it in production."""
    bot: CareerBot = await start_bot(discord_settings(), advisor, reconnect=True)
    session, live = fake_discord.session, fake_discord.live
    assert session is not None
    assert live is not None
    return Connected(bot, session, live)


async def _reply(fake: FakeDiscord, message: dict[str, Any]) -> RestCall:
    """Wait for the bot's reply to `message` (dispatched earlier)."""
    return await fake.wait_for(lambda call: is_reply_to(call, message))


def _is_answer(call: RestCall) -> bool:
    """An answer card (embeds), not the plain-text apology."""
    return bool(call.json.get("embeds")) and not call.json.get("content")


async def _answered_once(fake: FakeDiscord, bot: CareerBot, *messages: dict[str, Any]) -> None:
    """Once the bot has read and handled everything sent so far (replays included), each
    message has exactly one reply, and it is an answer."""
    await settle(fake, bot)
    for message in messages:
        replies = replies_to(fake, message)
        assert len(replies) == 1, f"{message['content']!r} got {len(replies)} replies"
        assert _is_answer(replies[0])


def _resumed(connection: GatewayConnection) -> bool:
    return connection.opcode == "resume" and connection.live


async def test_after_op_7_the_bot_resumes_its_session_and_misses_nothing(
    connected: Connected, fake_discord: FakeDiscord
) -> None:
    bot, first, session = connected.bot, connected.live, connected.session

    # A question arrives, and Discord asks for a reconnect before the bot has answered it.
    in_flight = guild_message(fake_discord, "상담원으로 일하면 하루를 어떻게 보내나요?")
    fake_discord.remember(in_flight)
    await fake_discord.dispatch("MESSAGE_CREATE", in_flight)
    seen = session.seq
    await fake_discord.request_reconnect()
    # One more while the bot is reconnecting: it waits in the session for the RESUME.
    meanwhile = guild_message(fake_discord, "What does a quality assurance analyst check?")
    fake_discord.remember(meanwhile)
    await fake_discord.dispatch("MESSAGE_CREATE", meanwhile)

    resumed = await fake_discord.wait_connection(_resumed)
    assert len(fake_discord.identifies) == 1, "the bot identified again instead of resuming"
    assert fake_discord.resumes == [{"token": TOKEN, "session_id": session.id, "seq": seen}]
    assert resumed.path == "/resume"  # READY's resume_gateway_url, not DISCORD_GATEWAY_URL
    assert resumed.query["v"] == "10"
    assert fake_discord.replayed == [seen + 1]
    closed = await fake_discord.wait_connection(lambda c: c is first and c.closed)
    assert closed.close_code not in (1000, 1001), "a clean close would end the session"

    await _reply(fake_discord, in_flight)
    await _reply(fake_discord, meanwhile)
    after = guild_message(fake_discord, "팀 리더가 되면 무슨 일을 맡게 되나요?")
    await ask(fake_discord, after, measure=False)
    assert bot.ws.session_id == session.id
    assert bot.ws.sequence == session.seq
    await _answered_once(fake_discord, bot, in_flight, meanwhile, after)


async def test_after_a_dropped_socket_a_message_sent_meanwhile_is_replayed_and_answered_once(
    connected: Connected, fake_discord: FakeDiscord
) -> None:
    bot = connected.bot
    before = guild_message(fake_discord, "콜센터 매니저는 어떤 역량이 필요한가요?")
    await ask(fake_discord, before, measure=False)
    session, dropped = connected.session, connected.live
    seen = session.seq

    fake_discord.hold_connections()  # the bot may dial again, but gets no HELLO yet
    fake_discord.drop()
    await fake_discord.wait_connection(lambda c: c is not dropped and not c.closed)
    assert not bot.ws.open, "the bot did not notice the dropped socket"

    missed = guild_message(fake_discord, "Is working in a call center stressful?")
    fake_discord.remember(missed)
    await fake_discord.dispatch("MESSAGE_CREATE", missed)
    # Nothing reaches a disconnected bot: the dispatch is only kept, for a RESUME to replay.
    assert fake_discord.live is None
    assert replies_to(fake_discord, missed) == []
    fake_discord.release_connections()

    resumed = await fake_discord.wait_connection(_resumed)
    assert resumed.path == "/resume"
    assert len(fake_discord.identifies) == 1
    assert fake_discord.resumes == [{"token": TOKEN, "session_id": session.id, "seq": seen}]
    assert fake_discord.replayed == [seen + 1]  # only the missed message, not `before`
    await _reply(fake_discord, missed)
    assert bot.ws.session_id == session.id
    await _answered_once(fake_discord, bot, before, missed)


async def test_an_invalidated_session_is_identified_afresh_and_the_bot_still_answers(
    connected: Connected, fake_discord: FakeDiscord
) -> None:
    bot, old, first = connected.bot, connected.session, connected.live

    await fake_discord.invalidate_session()  # op 9, d=false: not resumable
    # discord.py waits 5 s before a non-initial IDENTIFY (its before_identify_hook).
    fresh = await fake_discord.wait_connection(
        lambda c: c.opcode == "identify" and c is not first and c.live, within=20
    )
    assert fake_discord.resumes == []
    assert len(fake_discord.identifies) == 2
    assert fresh.path == "/gateway"  # back to DISCORD_GATEWAY_URL
    assert first.close_code == 1000
    assert fake_discord.session is not None
    assert fake_discord.session.id != old.id
    assert bot.ws.session_id == fake_discord.session.id

    message = guild_message(fake_discord, "콜센터에서 승진하려면 어떻게 해야 하나요?")
    await ask(fake_discord, message, measure=False)
    await _answered_once(fake_discord, bot, message)


async def test_a_resume_the_gateway_no_longer_knows_falls_back_to_a_fresh_identify(
    connected: Connected, fake_discord: FakeDiscord
) -> None:
    bot, old = connected.bot, connected.session

    fake_discord.forget_session()
    fake_discord.drop()
    fresh = await fake_discord.wait_connection(
        lambda c: c.opcode == "identify" and c.session is not old and c.live, within=20
    )
    [resume] = fake_discord.resumes  # it tried to resume first, and was told op 9
    assert resume["session_id"] == old.id
    assert len(fake_discord.identifies) == 2
    # (discord.py identifies on the URL it last used, here the resume URL; Discord accepts that.)
    assert fresh.session is not None
    assert bot.ws.session_id == fresh.session.id

    message = guild_message(fake_discord, "What skills does a workforce planner need?")
    await ask(fake_discord, message, measure=False)
    await _answered_once(fake_discord, bot, message)
