"""Mentions, DMs, threads and follow-ups through the real discord.py client and a fake Discord."""

from __future__ import annotations

import json
import logging
import statistics
from collections.abc import Callable
from typing import Any

import pytest
from discord_harness import (
    LATENCIES_MS,
    DownStore,
    FailingAdvisor,
    PaddedAdvisor,
    ask,
    custom_ids,
    guild_message,
    raw_mass_mention,
    reply_message,
    reply_of,
    settle,
    text_of,
    user,
)
from fake_discord import (
    BOT_ID,
    CHANNEL_ID,
    DM_CHANNEL_ID,
    GUILD_ID,
    THREAD_ID,
    TOKEN,
    USER_A,
    USER_B,
    FakeDiscord,
)

from bot.chat.discord_app import CareerBot
from bot.chat.discord_embeds import (
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    FIELD_VALUE_LIMIT,
    VOTE_DOWN_ID,
    VOTE_UP_ID,
    unescape,
)
from bot.chat.service import build_chat_service
from bot.state.sql import SqlStateStore
from core.settings import Settings

ZWJ = "\u200d"


def embed_size(embed: dict[str, Any]) -> int:
    """Characters Discord counts towards the 6,000 limit."""
    return (
        len(embed.get("title", ""))
        + len(embed.get("description", ""))
        + sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", []))
        + len((embed.get("footer") or {}).get("text", ""))
        + len((embed.get("author") or {}).get("name", ""))
    )


async def test_mention_gets_a_reply_with_embed_sources_and_buttons(
    career_bot: CareerBot, fake_discord: FakeDiscord
) -> None:
    message = guild_message(fake_discord, "팀 리더는 어떤 일을 하나요?")
    call = await ask(fake_discord, message)

    body = call.json
    assert body["message_reference"] == {
        "type": 0,
        "message_id": int(message["id"]),
        "channel_id": int(CHANNEL_ID),
        "guild_id": int(GUILD_ID),
        "fail_if_not_exists": False,
    }
    assert body["allowed_mentions"] == {"parse": []}
    assert not body.get("content")
    [embed] = body["embeds"]
    assert "팀 리더" in embed["description"]
    assert "[1]" in embed["description"]
    assert embed["author"]["name"] == "팀 리더는 어떤 일을 하나요?"
    [sources] = embed["fields"]
    assert sources["name"] == "출처"
    assert sources["value"].startswith("[1]")
    assert "콜센터의 가장 높은 직책은 무엇입니까? — 팀 리더" in sources["value"]
    assert embed["footer"]["text"].startswith("근거 조각: ")
    assert custom_ids(body) == [VOTE_UP_ID, VOTE_DOWN_ID]
    # typing was shown first, in the same channel
    paths = [(c.method, c.path) for c in fake_discord.calls]
    typing = paths.index(("POST", f"/channels/{CHANNEL_ID}/typing"))
    assert typing < paths.index(("POST", f"/channels/{CHANNEL_ID}/messages"))


async def test_gateway_identify_asks_for_the_needed_intents(
    career_bot: CareerBot, fake_discord: FakeDiscord
) -> None:
    [identify] = fake_discord.identifies
    # guilds (1 << 0) | guild_messages (1 << 9) | dm_messages (1 << 12) | message_content (1 << 15)
    assert identify["intents"] == 37377
    assert fake_discord.connections[0].query["v"] == "10"


async def test_dm_is_answered_and_remembered_per_channel_and_user(
    career_bot: CareerBot, fake_discord: FakeDiscord, advisor: Any
) -> None:
    message = fake_discord.message_create("message_create_dm")
    call = await ask(fake_discord, message)

    assert call.path == f"/channels/{DM_CHANNEL_ID}/messages"
    assert call.json["message_reference"]["message_id"] == int(message["id"])
    assert "guild_id" not in call.json["message_reference"]
    assert "장점" in text_of(call.json)
    await advisor.memory.flush()  # the turn is written after the reply is sent
    conversation = f"discord:dm:{DM_CHANNEL_ID}:{USER_B}"  # "dm" where a guild would be
    turns = await advisor.memory.store.recent_turns(conversation, 5, 3600)
    assert [t.question for t in turns] == ["콜센터에서 일하는 것의 장단점은?"]


async def test_follow_up_by_replying_to_the_bot_continues_the_conversation(
    career_bot: CareerBot, fake_discord: FakeDiscord
) -> None:
    first = await ask(fake_discord, guild_message(fake_discord, "팀 리더는 어떤 일을 하나요?"))
    answer = reply_of(first)

    follow = await ask(
        fake_discord, reply_message(fake_discord, answer, "그 역할에 필요한 기술은?")
    )
    said = text_of(follow.json)
    assert "업무 및 서비스 지식" in said or "멀티태스킹" in said
    assert "팀 리더" in said

    # Another user in the same channel is a different conversation: no team-leader carry-over.
    other = await ask(
        fake_discord, guild_message(fake_discord, "그 역할에 필요한 기술은?", author=USER_B)
    )
    assert text_of(other.json) != said


async def test_thread_is_its_own_conversation(
    career_bot: CareerBot, fake_discord: FakeDiscord, advisor: Any
) -> None:
    call = await ask(
        fake_discord, guild_message(fake_discord, "콜센터 직책 목록", channel=THREAD_ID)
    )
    assert call.path == f"/channels/{THREAD_ID}/messages"
    await advisor.memory.flush()  # the turn is written after the reply is sent
    store = advisor.memory.store
    assert await store.recent_turns(f"discord:{GUILD_ID}:{THREAD_ID}:{USER_A}", 5, 3600)
    assert not await store.recent_turns(f"discord:{GUILD_ID}:{CHANNEL_ID}:{USER_A}", 5, 3600)


async def test_mention_only_gets_help_not_silence(
    career_bot: CareerBot, fake_discord: FakeDiscord
) -> None:
    message = guild_message(fake_discord, "")
    message["content"] = f"<@!{BOT_ID}>"
    call = await ask(fake_discord, message)
    said = text_of(call.json)
    assert "콜센터 경력 도우미" in said
    assert "/career ask" in said
    assert not custom_ids(call.json)


async def test_same_message_delivered_twice_is_answered_once(
    career_bot: CareerBot, fake_discord: FakeDiscord
) -> None:
    message = guild_message(fake_discord, "콜센터에서 일하는 것의 장단점은?")
    await ask(fake_discord, message)
    start = len(fake_discord.calls)
    await fake_discord.dispatch("MESSAGE_CREATE", message)  # a replay (or a second replica)
    await settle(fake_discord, career_bot)
    assert not fake_discord.message_calls(start)


async def test_own_other_bot_webhook_and_unaddressed_messages_are_ignored(
    career_bot: CareerBot, fake_discord: FakeDiscord
) -> None:
    own = guild_message(fake_discord, "팀 리더는 어떤 일을 하나요?")
    own["author"] = user(BOT_ID, "career-advisor", bot=True)
    other_bot = guild_message(fake_discord, "팀 리더는 어떤 일을 하나요?")
    other_bot["author"] = user("1011223344556677889", "OtherBot", bot=True)
    webhook = guild_message(fake_discord, "팀 리더는 어떤 일을 하나요?")
    webhook["webhook_id"] = "1190000000000000001"
    webhook["author"] = user("1190000000000000001", "Captain Hook", bot=True)
    chatter = guild_message(fake_discord, "점심 뭐 먹지?", mention=False)
    everyone = guild_message(fake_discord, "@everyone 회의 시작합니다", mention=False)
    everyone["mention_everyone"] = True
    start = len(fake_discord.calls)
    for message in (own, other_bot, webhook, chatter, everyone):
        await fake_discord.dispatch("MESSAGE_CREATE", message)
    await settle(fake_discord, career_bot)
    assert fake_discord.calls[start:] == []


async def test_mass_mentions_in_the_question_never_ping(
    career_bot: CareerBot, fake_discord: FakeDiscord
) -> None:
    message = guild_message(
        fake_discord, "@everyone @here <@&1120345678901234581> 콜센터에서 일하는 것의 장단점은?"
    )
    message["mention_everyone"] = True
    call = await ask(fake_discord, message)
    assert call.json["allowed_mentions"] == {"parse": []}
    assert not raw_mass_mention(call.json)
    author = call.json["embeds"][0]["author"]["name"]
    assert f"@{ZWJ}everyone @{ZWJ}here" in author
    assert "<@&" not in author


async def test_rate_limit_gets_a_polite_reply_with_the_wait(
    start_bot: Callable[..., Any],
    discord_settings: Callable[..., Settings],
    advisor: Any,
    frozen_state: SqlStateStore,
    fake_discord: FakeDiscord,
) -> None:
    # The frozen clock keeps all questions in one window, 15 s before it ends.
    await start_bot(discord_settings(rate_limit_per_minute=1), advisor)

    first = await ask(fake_discord, guild_message(fake_discord, "콜센터 직책 목록"))
    assert first.json["embeds"]
    second = await ask(
        fake_discord, guild_message(fake_discord, "콜센터에서 일하는 것의 장단점은?")
    )
    assert second.json["content"] == "질문이 너무 많아요. 15초 후에 다시 물어봐 주세요."
    assert second.json["message_reference"]["message_id"]
    assert not second.json.get("embeds")
    # Another user is not limited.
    third = await ask(fake_discord, guild_message(fake_discord, "콜센터 직책 목록", author=USER_B))
    assert third.json["embeds"]


async def test_advisor_failure_gets_an_apology_with_a_reference(
    start_bot: Callable[..., Any],
    discord_settings: Callable[..., Settings],
    advisor: Any,
    fake_discord: FakeDiscord,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = discord_settings()
    failing = FailingAdvisor(settings, advisor.memory.store)
    await start_bot(settings, failing, chat=build_chat_service(settings, failing))
    with caplog.at_level(logging.ERROR, logger="bot.chat.discord_app"):
        call = await ask(fake_discord, guild_message(fake_discord, "팀 리더는 어떤 일을 하나요?"))

    content = call.json["content"]
    assert content.startswith("죄송해요, 답변을 만드는 중에 문제가 생겼어요. (참조 번호: ")
    ref = content.rsplit(": ", 1)[1].rstrip(")")
    assert len(ref) == 8
    assert "exploded" not in content
    assert "/srv" not in content
    logged = [r for r in caplog.records if ref in r.getMessage()]
    assert logged
    assert "exploded" in str(logged[0].exc_info[1])


async def test_long_answer_is_split_within_discord_limits(
    start_bot: Callable[..., Any],
    discord_settings: Callable[..., Settings],
    advisor: Any,
    fake_discord: FakeDiscord,
) -> None:
    settings = discord_settings()
    padded = PaddedAdvisor(advisor, length=15_000, citations=60)
    await start_bot(settings, padded, chat=build_chat_service(settings, padded))
    message = guild_message(fake_discord, "콜센터에서 일하는 것의 장단점은?")
    start = len(fake_discord.calls)
    await ask(fake_discord, message)
    await fake_discord.wait_for(lambda c: bool(custom_ids(c.json or {})), after=start)
    posts = [c.json for c in fake_discord.message_calls(start)]

    assert len(posts) >= 3
    assert "message_reference" in posts[0]
    assert all("message_reference" not in p for p in posts[1:])
    assert [bool(custom_ids(p)) for p in posts] == [False] * (len(posts) - 1) + [True]
    descriptions = []
    for post in posts:
        assert len(post.get("content") or "") <= 2000
        assert len(post["embeds"]) <= 10
        assert sum(embed_size(e) for e in post["embeds"]) <= EMBED_TOTAL_LIMIT
        assert post["embeds"][0]["author"]["name"] == "콜센터에서 일하는 것의 장단점은?"
        for embed in post["embeds"]:
            assert len(embed.get("description", "")) <= DESCRIPTION_LIMIT
            assert len(embed.get("fields", [])) <= 25
            assert all(len(f["value"]) <= FIELD_VALUE_LIMIT for f in embed.get("fields", []))
            if embed.get("description"):
                descriptions.append(unescape(embed["description"]))
    sources = "\n".join(f["value"] for p in posts for e in p["embeds"] for f in e.get("fields", []))
    assert all(f"[{n}]" in sources for n in range(1, 61))
    # Everything arrived, in order (the cuts only drop whitespace).
    [answer] = padded.answers
    assert "".join("".join(descriptions).split()) == "".join(answer.text.split())
    assert posts[-1]["embeds"][-1]["footer"]["text"].startswith("근거 조각: ")


async def test_refused_embed_falls_back_to_plain_text(
    career_bot: CareerBot, fake_discord: FakeDiscord
) -> None:
    fake_discord.fail_next(
        "POST",
        rf"/channels/{CHANNEL_ID}/messages",
        400,
        {"message": "Invalid Form Body", "code": 50035, "errors": {"embeds": {}}},
    )
    message = guild_message(fake_discord, "콜센터에서 일하는 것의 장단점은?")
    start = len(fake_discord.calls)
    await fake_discord.dispatch("MESSAGE_CREATE", message)
    plain = await fake_discord.wait_for(
        lambda c: c.carries_message and bool((c.json or {}).get("content")), after=start
    )
    assert "장점" in plain.json["content"]
    assert "출처" in plain.json["content"]
    assert plain.json["message_reference"]["message_id"] == int(message["id"])


async def test_the_token_never_reaches_the_logs(
    start_bot: Callable[..., Any],
    discord_settings: Callable[..., Settings],
    advisor: Any,
    fake_discord: FakeDiscord,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG):
        await start_bot(discord_settings(), advisor)
        await ask(fake_discord, guild_message(fake_discord, "콜센터 직책 목록"))
    assert caplog.records
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        assert TOKEN not in json.dumps(record.args, default=str)


async def test_reply_latency(career_bot: CareerBot, fake_discord: FakeDiscord) -> None:
    """Median time from MESSAGE_CREATE to the reply POST, over several questions."""
    questions = [
        "팀 리더는 어떤 일을 하나요?",
        "콜센터에서 일하는 것의 장단점은?",
        "콜센터 직책 목록",
        "콜센터의 가장 높은 직책은 무엇인가요?",
        "콜센터 상담원에게 필요한 기술은 무엇인가요?",
        "What are the pros and cons of call center work?",
        "콜센터 관리자의 역할은?",
        "콜센터 상담원이 되기 위한 팁",
    ]
    before = len(LATENCIES_MS)
    for question in questions:
        await ask(fake_discord, guild_message(fake_discord, question))
    mine = LATENCIES_MS[before:]
    assert statistics.median(mine) < 2000


async def test_state_store_down_fails_open(
    start_bot: Callable[..., Any],
    discord_settings: Callable[..., Settings],
    advisor: Any,
    down_state: DownStore,
    fake_discord: FakeDiscord,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await start_bot(discord_settings(), advisor)
    with caplog.at_level(logging.WARNING):
        first = await ask(fake_discord, guild_message(fake_discord, "콜센터 직책 목록"))
        second = await ask(fake_discord, guild_message(fake_discord, "팀 리더는 어떤 일을 하나요?"))
    assert first.json["embeds"]
    assert second.json["embeds"]
    assert {"claim", "hit_rate"} <= set(down_state.calls)
    # One warning in the whole process (the advisor keeps the outage), not one per message
    # or one per surface.
    warnings = [r for r in caplog.records if "state store unreachable" in r.getMessage()]
    assert len(warnings) == 1
