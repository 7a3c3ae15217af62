"""The adapter's pure parts: rendering within Discord's limits, text safety, start-up."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import discord
import pytest
import yarl
from fake_discord import TOKEN, FakeDiscord

from bot.advisor.models import Answer, Question
from bot.chat.discord_app import (
    DiscordSetupError,
    api_base_url,
    make_intents,
    point_at,
    run_discord,
)
from bot.chat.discord_embeds import (
    AUTHOR_LIMIT,
    CONTENT_LIMIT,
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    FIELD_VALUE_LIMIT,
    escape,
    read_answer_message,
    render_answer,
    render_plain_answer,
    render_text,
    unescape,
)
from bot.chat.service import build_chat_service
from bot.chat.text import split_text
from core.settings import Settings

ZWJ = "\u200d"


def as_sent(embeds: list[discord.Embed]) -> Any:
    """A message as `read_answer_message` reads it: its embeds, sent by no interaction and
    replying to nothing."""
    return SimpleNamespace(embeds=embeds, interaction_metadata=None, reference=None)


async def real_answer(advisor: Any, text: str) -> Answer:
    answer: Answer = await advisor.ask(Question(text=text, conversation_id="render"))
    assert answer.kind == "answer"
    return answer


def check_limits(replies: list[Any]) -> None:
    for reply in replies:
        assert len(reply.content) <= CONTENT_LIMIT
        assert len(reply.embeds) <= 10
        assert sum(len(e) for e in reply.embeds) <= EMBED_TOTAL_LIMIT
        for embed in reply.embeds:
            assert len(embed.description or "") <= DESCRIPTION_LIMIT
            assert len(embed.fields) <= 25
            assert all(len(f.value or "") <= FIELD_VALUE_LIMIT for f in embed.fields)
            assert len(embed.author.name or "") <= AUTHOR_LIMIT


async def test_a_real_answer_renders_as_one_card_and_reads_back(advisor: Any) -> None:
    answer = await real_answer(advisor, "콜센터에서 일하는 것의 장단점은?")
    [reply] = render_answer(answer, "콜센터에서 일하는 것의 장단점은?")
    assert reply.votes
    [embed] = reply.embeds
    assert embed.description == escape(answer.text)
    assert embed.fields[0].name == "출처"
    record = read_answer_message(as_sent(reply.embeds))
    assert record.question == "콜센터에서 일하는 것의 장단점은?"
    assert record.answer == answer.text
    assert record.chunk_ids == answer.chunk_ids


@pytest.mark.parametrize(("repeat", "citations"), [(1, 1), (12, 30), (40, 200)])
async def test_long_real_answers_split_within_limits(
    advisor: Any, repeat: int, citations: int
) -> None:
    base = await real_answer(advisor, "팀 리더는 어떤 일을 하나요?")
    cited = [
        base.citations[i % len(base.citations)].model_copy(
            update={
                "marker": i + 1,
                "section": f"섹션 {i + 1} " + "가" * 40,
                "chunk_id": f"{i:024x}",
            }
        )
        for i in range(citations)
    ]
    answer = base.model_copy(update={"text": "\n\n".join([base.text] * repeat), "citations": cited})
    question = "팀 리더는 어떤 일을 하나요? " * 30  # longer than an author line
    replies = render_answer(answer, question)
    check_limits(replies)
    assert [r.votes for r in replies] == [False] * (len(replies) - 1) + [True]
    last = read_answer_message(as_sent(replies[-1].embeds))
    assert last.question.endswith("…")
    if citations <= 30:
        assert last.chunk_ids == answer.chunk_ids
    else:  # the footer holds as many ids as fit in its 2,048 characters
        assert last.chunk_ids == answer.chunk_ids[: len(last.chunk_ids)]
        assert len(last.chunk_ids) >= 80
    shown = "".join(unescape(e.description or "") for r in replies for e in r.embeds)
    assert "".join(shown.split()) == "".join(answer.text.split())
    sources = "\n".join(f.value or "" for r in replies for e in r.embeds for f in e.fields)
    assert all(f"[{n}]" in sources for n in range(1, citations + 1))


def test_split_text_prefers_paragraph_and_line_ends() -> None:
    text = ("첫 문단입니다. " * 30).strip() + "\n\n" + ("둘째 줄. " * 30).strip()
    pieces = split_text(text, 300)
    assert all(len(p) <= 300 for p in pieces)
    assert pieces[0].endswith("입니다.")
    assert "".join("".join(pieces).split()) == "".join(text.split())
    assert split_text("x" * 5000, 2000) == ["x" * 2000, "x" * 2000, "x" * 1000]


def test_escape_defuses_mentions_and_markdown_and_reads_back() -> None:
    raw = "@everyone @here <@123456789012345678> <@&123456789012345678> **굵게** _기울임_ `코드` ||스포일러||\n# 제목\n> 인용"
    shown = escape(raw)
    assert "@everyone" not in shown
    assert "@here" not in shown
    assert f"@{ZWJ}everyone" in shown
    assert "<@1" not in shown
    assert "<@&" not in shown
    assert "\\*\\*" in shown
    assert unescape(shown) == raw.replace("<@", f"<@{ZWJ}").replace(f"<@{ZWJ}", "<@")


def test_plain_text_fallback_fits_and_keeps_sources() -> None:
    answer = Answer(
        text="상담원은 고객의 문의에 답합니다. [1] " * 200,
        citations=[
            {
                "marker": 1,
                "source": "a.txt",
                "title": "콜센터에서 일하기",
                "section": "상담원",
                "text": "…",
                "score": 1.0,
                "chunk_id": "c" * 24,
            }
        ],
    )
    replies = render_plain_answer(answer)
    assert len(replies) >= 3
    assert all(0 < len(r.content) <= CONTENT_LIMIT for r in replies)
    assert replies[-1].content.endswith("[1] 콜센터에서 일하기 — 상담원")
    assert render_text("@here 안내", markdown=True)[0].content == f"@{ZWJ}here 안내"


def test_intents_are_the_four_needed() -> None:
    intents = make_intents()
    assert intents.guilds
    assert intents.guild_messages
    assert intents.dm_messages
    assert intents.message_content
    assert not intents.members
    assert not intents.presences
    assert intents.value == 37377


def test_endpoints_are_applied_and_restored(settings_factory: Callable[..., Settings]) -> None:
    assert api_base_url("http://proxy:8080") == "http://proxy:8080/api/v10"
    assert api_base_url("http://proxy:8080/api/v9/") == "http://proxy:8080/api/v9"
    before = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    restore = point_at(
        settings_factory(
            discord_api_base_url="http://127.0.0.1:9/", discord_gateway_url="ws://127.0.0.1:9/gw"
        )
    )
    try:
        assert discord.http.Route.BASE == "http://127.0.0.1:9/api/v10"
        assert discord.http.Route("GET", "/users/@me").url == "http://127.0.0.1:9/api/v10/users/@me"
        assert yarl.URL("ws://127.0.0.1:9/gw") == discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    finally:
        restore()
    assert before == (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    # Nothing configured: nothing changes.
    point_at(settings_factory())()
    assert before[0] == discord.http.Route.BASE


async def test_run_discord_without_a_token_names_the_setting(
    settings_factory: Callable[..., Settings],
) -> None:
    with pytest.raises(DiscordSetupError, match="DISCORD_TOKEN is not set"):
        await run_discord(settings_factory())


async def test_run_discord_with_a_rejected_token(
    settings_factory: Callable[..., Settings],
    advisor: Any,
    fake_discord: FakeDiscord,
    caplog: pytest.LogCaptureFixture,
) -> None:
    wrong = "MTA5ODc2NTQzMjEwOTg3NjU0Mw.GwRoNg.nOtThEtOkEnThEfAkEeXpEcTsAtAlL0000"
    settings = settings_factory(
        discord_token=wrong,
        discord_api_base_url=fake_discord.api_base_url,
        discord_gateway_url=fake_discord.gateway_url,
    )
    with pytest.raises(DiscordSetupError, match="rejected DISCORD_TOKEN") as caught:
        await run_discord(settings, chat=build_chat_service(settings, advisor))
    assert wrong not in str(caught.value)
    # One login, answered 401, and the bot stops: no retry, no gateway connection.
    assert [(c.method, c.path) for c in fake_discord.calls] == [("GET", "/users/@me")]
    assert fake_discord.connections == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert discord.http.Route.BASE == "https://discord.com/api/v10"


async def test_run_discord_runs_until_cancelled(
    settings_factory: Callable[..., Settings], advisor: Any, fake_discord: FakeDiscord
) -> None:
    settings = settings_factory(
        discord_token=TOKEN,
        discord_api_base_url=fake_discord.api_base_url,
        discord_gateway_url=fake_discord.gateway_url,
    )
    task = asyncio.create_task(run_discord(settings, chat=build_chat_service(settings, advisor)))
    await fake_discord.wait_connection(lambda c: c.opcode == "identify", within=60)
    assert [c.path for c in fake_discord.calls][:3] == [
        "/users/@me",
        "/oauth2/applications/@me",
        "/applications/1098765432109876543/commands",
    ]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert discord.http.Route.BASE == "https://discord.com/api/v10"
