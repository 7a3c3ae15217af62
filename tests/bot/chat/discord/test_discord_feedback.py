"""Helpful / not helpful buttons: votes stored with the answer, also after a restart."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from discord_harness import ask, asking, guild_message, is_followup, reply_of
from fake_discord import CHANNEL_ID, EPHEMERAL, GUILD_ID, USER_A, USER_B, FakeDiscord

from bot.advisor.advisor import build_advisor
from bot.chat.discord_app import CareerBot
from bot.chat.discord_embeds import VOTE_DOWN_ID, VOTE_UP_ID, unescape
from bot.state.sql import SqlStateStore
from core.settings import Settings


async def click(
    fake: FakeDiscord, message: dict[str, Any], custom_id: str, *, user_id: str = USER_A
) -> dict[str, Any]:
    """A button click on `message` (as Discord holds it); returns the callback body."""
    data = fake.interaction("interaction_component", message=message)
    data["data"]["custom_id"] = custom_id
    data["member"]["user"]["id"] = user_id
    start = len(fake.calls)
    await fake.dispatch("INTERACTION_CREATE", data)
    callback = await fake.wait_for(lambda c: c.path.endswith("/callback"), after=start)
    assert callback.path == f"/interactions/{data['id']}/{data['token']}/callback"
    body: dict[str, Any] = callback.json
    return body


async def test_votes_are_stored_with_question_answer_and_chunks(
    career_bot: CareerBot, fake_discord: FakeDiscord, advisor: Any
) -> None:
    call = await ask(fake_discord, guild_message(fake_discord, "팀 리더는 어떤 일을 하나요?"))
    answer = reply_of(call)

    ack = await click(fake_discord, answer, VOTE_UP_ID)
    assert ack["type"] == 4
    assert ack["data"]["flags"] == EPHEMERAL
    assert ack["data"]["content"].startswith("피드백 고마워요!")
    await click(fake_discord, answer, VOTE_DOWN_ID, user_id=USER_B)
    await click(fake_discord, answer, VOTE_DOWN_ID)  # changes USER_A's mind

    votes = sorted(await advisor.memory.store.votes(), key=lambda v: v.user_id)
    assert [(v.user_id, v.vote) for v in votes] == [(USER_A, -1), (USER_B, -1)]
    # Both rate USER_A's question: forgetting USER_A takes USER_B's vote too.
    assert [v.asker_id for v in votes] == [USER_A, USER_A]
    vote = votes[0]
    embed = call.json["embeds"][0]
    assert vote.platform == "discord"
    assert vote.message_ref == answer["id"]
    assert vote.question == "팀 리더는 어떤 일을 하나요?"
    assert vote.answer == unescape(embed["description"])
    assert "[1]" in vote.answer
    assert vote.chunk_ids == embed["footer"]["text"].removeprefix("근거 조각: ").split()
    assert all(len(c) == 24 for c in vote.chunk_ids)
    # Where it was cast: a guild admin's report holds the votes of that guild only.
    assert vote.conversation_id == f"discord:{GUILD_ID}:{CHANNEL_ID}:{USER_A}"
    # Only the persistent view is kept: per-answer copies do not pile up in memory.
    assert len(career_bot.persistent_views) == 1


async def test_buttons_keep_working_after_a_restart(
    start_bot: Callable[..., Any],
    discord_settings: Callable[..., Settings],
    advisor: Any,
    fake_discord: FakeDiscord,
) -> None:
    settings = discord_settings()
    first = await start_bot(settings, advisor)
    call = await ask(fake_discord, guild_message(fake_discord, "콜센터에서 일하는 것의 장단점은?"))
    answer = reply_of(call)
    await first.close()

    # A new process: new bot, new advisor and state store; only the message is left.
    reborn = await build_advisor(settings, warm=False)
    try:
        await start_bot(settings, reborn)
        ack = await click(fake_discord, answer, VOTE_UP_ID, user_id=USER_B)
        assert ack["data"]["content"].startswith("피드백 고마워요!")
    finally:
        await reborn.close()

    store = SqlStateStore(settings.state_database_url)
    [vote] = await store.votes()
    await store.close()
    assert (vote.user_id, vote.vote, vote.message_ref) == (USER_B, 1, answer["id"])
    assert vote.question == "콜센터에서 일하는 것의 장단점은?"
    assert "장점" in vote.answer
    assert vote.chunk_ids
    assert len(fake_discord.identifies) == 2


async def test_a_vote_on_a_slash_command_answer_knows_who_asked(
    career_bot: CareerBot, fake_discord: FakeDiscord, advisor: Any
) -> None:
    data = asking(fake_discord, "팀 리더는 어떤 일을 하나요?")
    data["member"]["user"]["id"] = USER_B
    start = len(fake_discord.calls)
    await fake_discord.dispatch("INTERACTION_CREATE", data)
    followup = await fake_discord.wait_for(is_followup(data), after=start)
    await click(fake_discord, reply_of(followup), VOTE_DOWN_ID, user_id=USER_A)
    (vote,) = await advisor.memory.store.votes()
    assert (vote.user_id, vote.asker_id) == (USER_A, USER_B)
