"""Property-based tests of the Discord adapter's text handling, and hostile text end to end.

Whatever the text (any Unicode, huge, mentions and markdown), the adapter never raises, never
lets @everyone, @here, <@id> or <@&id> from the text come alive, and every message it builds
stays within Discord's limits.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import discord
import pytest
from discord_harness import ask, asking, guild_message, is_followup, settle
from fake_discord import EPHEMERAL, FakeDiscord
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from bot.advisor.models import Answer
from bot.chat.discord_app import CareerBot
from bot.chat.discord_embeds import (
    AUTHOR_LIMIT,
    CARD_KINDS,
    CONTENT_LIMIT,
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    EMBEDS_PER_MESSAGE,
    FIELD_NAME_LIMIT,
    FIELD_VALUE_LIMIT,
    FIELDS_PER_EMBED,
    FOOTER_LIMIT,
    Reply,
    defuse,
    escape,
    render_answer,
    render_plain_answer,
    render_text,
    split_escaped,
    undefuse,
    unescape,
)
from bot.chat.outcomes import Help
from bot.chat.service import parse_command
from bot.chat.text import split_text, truncate
from core.settings import Settings
from tests.bot.test_properties import answers, any_text, errors, huge

#: A mention that would ping (were allowed_mentions not already "nobody"): @everyone, @here,
#: a user <@id> / <@!id> or a role <@&id>.
LIVE = re.compile(r"@(everyone|here)|<@[!&]?\d+>", re.IGNORECASE)
#: Escaped text: every markdown character behind a backslash, no quote/heading/list line.
LITERAL = re.compile(r"(?:\\.|[^*_~|`\\])*", re.DOTALL)
LINE_MARKUP = re.compile(r"^(?:>(?:>>)?\s|#{1,3}\s|\s*-[#\s])", re.MULTILINE)
URL = re.compile(r"(?:https?|steam)://|<[^: >]+:/")
ZWJ = "\u200d"

PURE = settings(max_examples=100, deadline=None)
LIMITS = st.one_of(
    st.sampled_from([CONTENT_LIMIT, DESCRIPTION_LIMIT, FIELD_VALUE_LIMIT, AUTHOR_LIMIT]),
    st.integers(min_value=16, max_value=DESCRIPTION_LIMIT),
)


def reads_back_exactly(text: str) -> bool:
    """Text that `defuse` and `unescape` can give back exactly (no ZWJ after an @ of its own,
    no URL, which escaping leaves as it is)."""
    return f"@{ZWJ}" not in text and not URL.search(text)


def check_reply(reply: Reply) -> None:
    """One message within Discord's limits, with nothing that could ping."""
    assert reply.content or reply.embeds
    assert len(reply.content) <= CONTENT_LIMIT
    assert not LIVE.search(reply.content)
    assert len(reply.embeds) <= EMBEDS_PER_MESSAGE
    assert sum(len(embed) for embed in reply.embeds) <= EMBED_TOTAL_LIMIT
    for embed in reply.embeds:
        assert len(embed.description or "") <= DESCRIPTION_LIMIT
        assert len(embed.fields) <= FIELDS_PER_EMBED
        assert len(embed.author.name or "") <= AUTHOR_LIMIT
        assert len(embed.footer.text or "") <= FOOTER_LIMIT
        for f in embed.fields:
            assert 0 < len(f.name or "") <= FIELD_NAME_LIMIT
            assert 0 < len(f.value or "") <= FIELD_VALUE_LIMIT
        shown = [embed.description, embed.author.name, embed.footer.text]
        shown += [t for f in embed.fields for t in (f.name, f.value)]
        assert not any(LIVE.search(t) for t in shown if t), shown
        embed.to_dict()


# -- pure functions -----------------------------------------------------------------------


@PURE
@given(text=any_text)
@example(text="@everyone @HERE <@123> <@!123> <@&456> @@everyone <@<@123>>")
def test_defused_text_pings_nobody_and_reads_back(text: str) -> None:
    defused = defuse(text)
    assert not LIVE.search(defused)
    if f"@{ZWJ}" not in text:
        assert undefuse(defused) == text


@PURE
@given(text=any_text)
@example(text="**굵게** __밑줄__ ~~취소~~ ||스포일러|| `코드`\n> 인용\n# 제목\n- 목록 \\* \\")
@example(text="[link](http://evil.example) @everyone")
def test_escaped_text_renders_literally_and_reads_back(text: str) -> None:
    escaped = escape(text)
    assert not LIVE.search(escaped)
    assume(reads_back_exactly(text))
    assert LITERAL.fullmatch(escaped), escaped
    assert not LINE_MARKUP.search(escaped)
    assert unescape(escaped) == text


@PURE
@given(text=any_text, limit=LIMITS)
def test_clipped_text_fits_and_starts_like_the_text(text: str, limit: int) -> None:
    clipped = truncate(text, limit)
    assert len(clipped) <= limit
    if len(text) <= limit:
        assert clipped == text
    else:
        assert clipped.endswith("…")
        assert text.startswith(clipped[:-1])


@PURE
@given(text=any_text, limit=LIMITS)
@example(text="a" * 5000, limit=16)
@example(text="다. " * 3000, limit=CONTENT_LIMIT)
def test_split_pieces_fit_and_keep_every_character(text: str, limit: int) -> None:
    pieces = split_text(text, limit)
    assert all(0 < len(piece) <= limit for piece in pieces)
    assert re.sub(r"\s", "", "".join(pieces)) == re.sub(r"\s", "", text)


@PURE
@given(text=any_text, limit=LIMITS)
@example(text="*" * 5000, limit=16)  # split_escaped looped forever on these before
@example(text="_" * 2500, limit=CONTENT_LIMIT)
@example(text="@everyone " * 800, limit=CONTENT_LIMIT)
def test_escaped_pieces_fit_ping_nobody_and_keep_every_character(text: str, limit: int) -> None:
    pieces = split_escaped(text, limit)
    assert all(0 < len(piece) <= limit for piece in pieces)
    assert not any(LIVE.search(piece) for piece in pieces)
    if reads_back_exactly(text):
        shown = "".join(unescape(piece) for piece in pieces)
        assert re.sub(r"\s", "", shown) == re.sub(r"\s", "", text)


@settings(max_examples=40, deadline=None)
@given(answer=answers(), question=any_text)
@example(answer=Answer(text="@everyone " * 6000, kind="answer"), question="<@&1> @here " * 100)
def test_a_rendered_answer_fits_discord_and_pings_nobody(answer: Answer, question: str) -> None:
    replies = render_answer(answer, question)
    assert replies
    for reply in replies:
        check_reply(reply)
        assert not reply.content
        asked = truncate(defuse(" ".join(question.split())), AUTHOR_LIMIT)
        assert (reply.embeds[0].author.name or "") == asked
    assert [r.votes for r in replies] == [False] * (len(replies) - 1) + [answer.kind in CARD_KINDS]
    if reads_back_exactly(answer.text):  # all of the answer is shown, in order
        shown = "".join(unescape(e.description) for r in replies for e in r.embeds if e.description)
        assert re.sub(r"[\s\u200b]", "", shown) == re.sub(r"[\s\u200b]", "", answer.text)


@PURE
@given(text=any_text, markdown=st.booleans())
def test_rendered_text_fits_in_messages_that_ping_nobody(text: str, markdown: bool) -> None:
    for reply in render_text(text, markdown=markdown):
        check_reply(reply)
        assert not reply.embeds


@settings(max_examples=30, deadline=None)
@given(answer=answers(text=any_text | huge(60_000, 120_000)))
def test_a_plain_answer_fits_in_messages_that_ping_nobody(answer: Answer) -> None:
    replies = render_plain_answer(answer)
    for reply in replies:
        check_reply(reply)
    if answer.text.strip() and reads_back_exactly(answer.text):
        shown = re.sub(r"\s", "", "".join(unescape(r.content) for r in replies))
        assert shown.startswith(re.sub(r"\s", "", answer.text))


# -- end to end ---------------------------------------------------------------------------

E2E = settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
async def bot(
    start_bot: Callable[..., Any], discord_settings: Callable[..., Settings], advisor: Any
) -> CareerBot:
    """The bot with a real advisor, no rate limit in the way of a test's examples."""
    bot: CareerBot = await start_bot(discord_settings(rate_limit_per_minute=100_000), advisor)
    return bot


def check_body(body: dict[str, Any]) -> None:
    """A message body as posted: mentions switched off, and as a message (content, every
    embed's author, description, fields and footer) pinging nobody, within Discord's limits."""
    assert body["allowed_mentions"] == {"parse": []}
    embeds = [discord.Embed.from_dict(e) for e in body.get("embeds", [])]
    check_reply(Reply(body.get("content") or "", embeds))


@E2E
@given(text=any_text)
@example(text="@everyone <@&1120345678901234567> <@352468209163976705> @here **팀 리더** ||x||")
@example(text="What comes after " + "_" * 1990 + "?")  # the bot hung rendering its answer
async def test_a_hostile_mention_gets_exactly_one_reply_that_pings_nobody(
    bot: CareerBot, fake_discord: FakeDiscord, caplog: pytest.LogCaptureFixture, text: str
) -> None:
    seen, start = len(caplog.records), len(fake_discord.calls)
    message = guild_message(fake_discord, text)
    call = await ask(fake_discord, message, measure=False)
    await settle(fake_discord, bot)  # any second reply has been sent by now

    posts = [c for c in fake_discord.message_calls(start) if c.path.startswith("/channels/")]
    assert posts == [call]
    assert call.message_body["message_reference"]["message_id"] == int(message["id"])
    check_body(call.message_body)
    assert not errors(caplog, seen)


@E2E
@given(text=any_text.filter(lambda t: t.strip()).map(lambda t: t[:6000]))
@example(text="@here <@&1120345678901234567> 상담원 급여 ~~취소~~")
@example(text="?")  # a help word: the help, only for the asker, and no follow-up
@example(text=" HELP ")
async def test_a_hostile_career_ask_gets_exactly_one_reply_that_pings_nobody(
    bot: CareerBot, fake_discord: FakeDiscord, caplog: pytest.LogCaptureFixture, text: str
) -> None:
    seen, start = len(caplog.records), len(fake_discord.calls)
    data = asking(fake_discord, text)
    await fake_discord.dispatch("INTERACTION_CREATE", data)
    if isinstance(parse_command(text), Help):
        await settle(fake_discord, bot)
        callbacks = [c for c in fake_discord.calls[start:] if c.path.endswith("/callback")]
        assert [c.json["type"] for c in callbacks] == [4]  # answered at once
        assert callbacks[0].json["data"]["flags"] & EPHEMERAL
        assert not [c for c in fake_discord.calls[start:] if is_followup(data)(c)]
        check_body(callbacks[0].json["data"])
        assert not errors(caplog, seen)
        return
    followup = await fake_discord.wait_for(is_followup(data), after=start)
    await settle(fake_discord, bot)  # any second follow-up has been sent by now

    callbacks = [c for c in fake_discord.calls[start:] if c.path.endswith("/callback")]
    assert [c.json["type"] for c in callbacks] == [5]  # deferred: "thinking…"
    assert fake_discord.message_calls(start) == [followup]
    check_body(followup.message_body)
    assert not errors(caplog, seen)
